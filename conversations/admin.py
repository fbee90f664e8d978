from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from providers.phone import mask

from .models import Conversation, JoinFailure, Participant
from .selectors import conversation_list, conversation_messages
from .services import conversation_staff_end


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the protocol only: staff look, and act through actions."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = [
        "code",
        "proxy",
        "state",
        "parties",
        "created_at",
        "joined_at",
        "last_activity_at",
        "ended_at",
    ]
    list_filter = ["state", "end_reason", "proxy", "created_at"]
    # A full number finds a person's conversations without any list showing it.
    search_fields = ["code", "proxy__number", "=participants__phone"]
    date_hierarchy = "created_at"
    actions = ["end"]
    fields = [
        "code",
        "proxy",
        "state",
        "end_reason",
        "parties",
        "created_at",
        "joined_at",
        "last_activity_at",
        "expires_at",
        "ended_at",
        "message_log",
    ]
    readonly_fields = fields  # type: ignore[assignment]  # names only, no groups

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conversation]:
        return conversation_list()

    @admin.display(description="parties")
    def parties(self, obj: Conversation) -> str:
        return ", ".join(f"{p.get_role_display()} {mask(p.phone)}" for p in obj.participants.all())

    @admin.display(description="messages")
    def message_log(self, obj: Conversation) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    m.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    m.get_direction_display(),
                    mask(m.sender),
                    mask(m.recipient),
                    m.get_status_display(),
                    m.body,
                )
                for m in conversation_messages(conversation=obj)
            ),
        )
        if not rows:
            return "No messages yet."
        return format_html(
            "<table><thead><tr><th>at</th><th>direction</th><th>from</th><th>to</th>"
            "<th>status</th><th>text</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def has_end_permission(self, request: HttpRequest) -> bool:
        # Fields stay read-only; ending is the one change staff may make.
        return request.user.has_perm("conversations.change_conversation")

    @admin.action(
        description="End selected conversations (their parties are told)",
        permissions=["end"],
    )
    def end(self, request: HttpRequest, queryset: QuerySet[Conversation]) -> None:
        ended = sum(conversation_staff_end(conversation=c) for c in queryset)
        self.message_user(request, f"{ended} conversation(s) ended.", messages.SUCCESS)
        if skipped := len(queryset) - ended:
            self.message_user(
                request, f"{skipped} conversation(s) were already over.", messages.WARNING
            )


@admin.register(Participant)
class ParticipantAdmin(ReadOnlyAdmin):
    list_display = ["conversation", "role", "masked_phone", "open", "joined_at"]
    list_filter = ["role", "open", "proxy"]
    search_fields = ["conversation__code", "=phone"]
    list_select_related = ["conversation__proxy"]
    fields = ["conversation", "role", "masked_phone", "open", "joined_at"]
    readonly_fields = fields  # type: ignore[assignment]  # names only, no groups

    @admin.display(description="phone")
    def masked_phone(self, obj: Participant) -> str:
        return mask(obj.phone)


@admin.register(JoinFailure)
class JoinFailureAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "proxy", "masked_phone", "reason"]
    list_filter = ["reason", "proxy", "created_at"]
    search_fields = ["=phone", "proxy__number"]
    list_select_related = ["proxy"]
    fields = ["created_at", "proxy", "masked_phone", "reason"]
    readonly_fields = fields  # type: ignore[assignment]  # names only, no groups

    @admin.display(description="sender")
    def masked_phone(self, obj: JoinFailure) -> str:
        return mask(obj.phone)
