"""The admin of events for the platform: what was told, what is still trying, what
failed, and a re-send for the failed ones."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from .admin_tools import ObjectActionsMixin, StaffAdmin, confirmed, sees_full, short_time
from .events import event_resend
from .models import Event, EventStatus
from .phone import redact


@admin.register(Event)
class EventAdmin(ObjectActionsMixin, StaffAdmin):
    list_display = [
        "when",
        "type",
        "status",
        "attempts",
        "last_error",
        "next_attempt",
        "sent",
        "event_id",
    ]
    list_filter = ["status", "type", "created_at"]
    search_fields = ["=event_id"]
    date_hierarchy = "created_at"
    actions = ["resend"]
    object_actions = ("resend",)
    fields = [
        "event_id",
        "type",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "next_attempt_at",
        "sent_at",
        "updated_at",
        "shown_payload",
    ]
    readonly_fields = fields  # type: ignore[assignment]
    empty_help = (
        "No events yet. With MASKED_NUMBERS_EVENTS_URL set, every relayed, delivered or "
        "failed text, opt-out, transferred call, ended ride or conversation and exhausted "
        "pool is listed here as it is sent to the platform."
    )

    @admin.display(description="when", ordering="created_at")
    def when(self, obj: Event) -> str:
        return short_time(obj.created_at)

    @admin.display(description="next attempt", ordering="next_attempt_at")
    def next_attempt(self, obj: Event) -> str:
        return short_time(obj.next_attempt_at)

    @admin.display(description="sent", ordering="sent_at")
    def sent(self, obj: Event) -> str:
        return short_time(obj.sent_at)

    @admin.display(description="payload")
    def shown_payload(self, obj: Event) -> str:
        text = json.dumps(obj.payload, indent=2)
        # Numbers are masked in events unless the settings allow full ones; the viewer's
        # permission decides here as everywhere else.
        return format_html("<pre>{}</pre>", text if sees_full(obj) else redact(text))

    def object_action_applies(self, obj: Event, action: str) -> bool:
        return obj.status == EventStatus.FAILED

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("providers.change_event")

    @admin.action(description="Re-send selected failed events", permissions=["resend"])
    @confirmed(
        question="Send these events to the platform again? Each failed one among them is "
        "queued with the id it had, so a platform that got it after all drops the copy; "
        "the others are skipped.",
        button="Re-send events",
    )
    def resend(self, request: HttpRequest, queryset: QuerySet[Event]) -> None:
        queued = sum(event_resend(event=e) for e in queryset.filter(status=EventStatus.FAILED))
        self.message_user(request, f"{queued} event(s) queued again.", messages.SUCCESS)
        if skipped := queryset.count() - queued:
            self.message_user(
                request,
                f"{skipped} event(s) skipped: only failed events can be re-sent.",
                messages.WARNING,
            )
