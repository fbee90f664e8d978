from __future__ import annotations

from django.tasks import task


@task()
def deliver_message(message_id: int) -> str:
    """Background delivery of one queued outbound SMS (see outbox.message_deliver)."""
    from .outbox import message_deliver

    return message_deliver(message_id=message_id)


@task()
def deliver_event(pk: int) -> str:
    """Background delivery of one queued event for the platform (see events.event_deliver)."""
    from .events import event_deliver

    return event_deliver(pk=pk)
