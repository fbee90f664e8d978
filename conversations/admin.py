from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from providers.admin_tools import (
    ObjectActionsMixin,
    StaffAdmin,
    changelist_link,
    confirmed,
    sees_full,
    short_time,
    shown_number,
)
from providers.masking import message_text
from providers.models import Message

from .models import Conversation, JoinFailure, Participant
from .selectors import conversation_list, conversation_messages
from .services import conversation_staff_end


class ReadOnlyAdmin(StaffAdmin):
    """Rows written by the protocol only: staff look, and act through actions."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    list_display = ["code", "pool_number", "state", "parties", "started", "last_activity", "ended"]
    # Only the numbers that carry conversations, not the whole pool.
    list_filter = ["state", "end_reason", ("proxy", admin.RelatedOnlyFieldListFilter), "created_at"]
    # A full number finds a person's conversations without any list showing it.
    search_fields = ["code", "=proxy__number", "=participants__phone"]
    phone_lookups = ("proxy__number", "participants__phone")
    date_hierarchy = "created_at"
    actions = ["end"]
    object_actions = ("end",)
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
        "messages_link",
        "message_log",
    ]
    readonly_fields = fields  # type: ignore[assignment]  # names only, no groups

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conversation]:
        return conversation_list()

    def get_empty_help(self, request: HttpRequest) -> str:
        try:
            simulator = f" (in development: from the phone simulator, {reverse('simulator')})"
        except NoReverseMatch:
            simulator = ""
        return (
            "No conversations yet. One starts when someone texts START to a conversations "
            f"number{simulator} and another person texts JOIN with the code they were given."
        )

    @admin.display(description="number", ordering="proxy__number")
    def pool_number(self, obj: Conversation) -> str:
        return obj.proxy.number

    @admin.display(description="started", ordering="created_at")
    def started(self, obj: Conversation) -> str:
        return short_time(obj.created_at)

    @admin.display(description="last activity", ordering="last_activity_at")
    def last_activity(self, obj: Conversation) -> str:
        return short_time(obj.last_activity_at)

    @admin.display(description="ended", ordering="ended_at")
    def ended(self, obj: Conversation) -> str:
        return short_time(obj.ended_at)

    @admin.display(description="parties")
    def parties(self, obj: Conversation) -> str:
        return ", ".join(
            f"{p.get_role_display()} {shown_number(obj, p.phone)}" for p in obj.participants.all()
        )

    @admin.display(description="messages")
    def messages_link(self, obj: Conversation) -> str:
        return format_html(
            '<a href="{}">All messages and calls of this conversation</a>',
            changelist_link(Message, session=obj.session),
        )

    @admin.display(description="messages")
    def message_log(self, obj: Conversation) -> str:
        full = sees_full(obj)
        pool = obj.proxy.number

        def number(value: str) -> str:
            return value if value == pool else shown_number(obj, value)

        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    m.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    m.get_direction_display(),
                    number(m.sender),
                    number(m.recipient),
                    m.get_status_display(),
                    message_text(m.body, full=full),
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

    def object_action_applies(self, obj: Conversation, action: str) -> bool:
        return obj.is_open

    def has_end_permission(self, request: HttpRequest) -> bool:
        # Fields stay read-only; ending is the one change staff may make.
        return request.user.has_perm("conversations.change_conversation")

    @admin.action(
        description="End selected conversations (their parties are told)",
        permissions=["end"],
    )
    @confirmed(
        question="End these conversations? Both parties of each open one are texted that "
        "it has ended, and the number stops relaying between them.",
        button="End conversation",
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
    phone_lookups = ("phone",)
    list_select_related = ["conversation__proxy"]
    fields = ["conversation", "role", "masked_phone", "open", "joined_at"]
    readonly_fields = fields  # type: ignore[assignment]  # names only, no groups

    @admin.display(description="phone")
    def masked_phone(self, obj: Participant) -> str:
        return shown_number(obj, obj.phone)


@admin.register(JoinFailure)
class JoinFailureAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "proxy", "masked_phone", "reason"]
    list_filter = ["reason", "proxy", "created_at"]
    search_fields = ["=phone", "proxy__number"]
    phone_lookups = ("phone", "proxy__number")
    list_select_related = ["proxy"]
    fields = ["created_at", "proxy", "masked_phone", "reason"]
    readonly_fields = fields  # type: ignore[assignment]  # names only, no groups

    @admin.display(description="sender")
    def masked_phone(self, obj: JoinFailure) -> str:
        return shown_number(obj, obj.phone)
