from __future__ import annotations

from django.core.management.base import BaseCommand

from conversations.services import conversation_expire_due


class Command(BaseCommand):
    help = (
        "Close conversations whose code lapsed or that went idle. Optional: each one is "
        "closed anyway when someone touches it; this keeps the admin's counts current."
    )

    def handle(self, *args, **options) -> None:
        count = conversation_expire_due()
        self.stdout.write(f"conversations: {count} closed")
