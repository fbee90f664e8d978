from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from .admin_tools import StaffAdmin, confirmed, sees_full, short_time, shown_number
from .masking import message_text
from .models import Direction, Message, MessageStatusChange, OptOut, ProxyNumber, Status
from .outbox import message_resend
from .phone import country_of
from .pool_admin import proxy_number_clean, proxy_number_retire
from .registry import provider_aliases
from .selectors import proxy_open_sessions


class ProxyNumberForm(forms.ModelForm):
    # A choice of the configured providers: a typo cannot name one that does not exist.
    provider = forms.ChoiceField(choices=())

    class Meta:
        model = ProxyNumber
        fields = ["number", "provider", "service", "sms", "voice", "country", "active"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        aliases = provider_aliases()
        if self.instance.provider and self.instance.provider not in aliases:
            aliases.append(self.instance.provider)  # a number of a vendor no longer set up
        self.fields["provider"].choices = [(alias, alias) for alias in aliases]  # type: ignore[attr-defined]
        self.fields["provider"].help_text = ProxyNumber._meta.get_field("provider").help_text

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        try:
            data["number"] = proxy_number_clean(
                number=data["number"],
                provider=data["provider"],
                sms=data["sms"],
                voice=data["voice"],
                exclude_pk=self.instance.pk,
            )
        except ValidationError as err:
            self.add_error(None, err)
            return data
        data["country"] = data.get("country") or country_of(data["number"])
        return data


@admin.register(ProxyNumber)
class ProxyNumberAdmin(StaffAdmin):
    form = ProxyNumberForm
    list_display = [
        "number",
        "service",
        "provider",
        "sms",
        "voice",
        "country",
        "active",
        "open_sessions",
        "created_at",
    ]
    list_filter = ["service", "provider", "active", "voice", "country"]
    search_fields = ["number"]
    phone_lookups = ("number",)
    readonly_fields = ["retired_at", "created_at", "open_sessions"]
    actions = ["retire"]
    empty_help = (
        "The pool has no numbers yet. Rent numbers from a vendor and add each one with "
        "“Add proxy number” (or POST /api/numbers/); in development, numbers of the console "
        "provider need no vendor."
    )

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        # One question per service for the whole page rather than one per row; the counts
        # ride on the row objects, since this admin instance is shared between requests.
        rows = list(changelist.result_list)
        counts = proxy_open_sessions(proxies=rows)
        for row in rows:
            row.open_session_count = counts.get(row.pk, 0)
        return changelist

    @admin.display(description="open sessions")
    def open_sessions(self, obj: ProxyNumber) -> int | str:
        if obj.pk is None:
            return "-"  # a number being added serves nothing yet
        count = getattr(obj, "open_session_count", None)
        if count is None:
            return proxy_open_sessions(proxies=[obj]).get(obj.pk, 0)
        return count

    @admin.action(description="Retire selected numbers (keep their history)")
    def retire(self, request: HttpRequest, queryset: QuerySet[ProxyNumber]) -> None:
        retired = sum(proxy_number_retire(proxy=proxy) for proxy in queryset)
        self.message_user(request, f"{retired} number(s) retired.", messages.SUCCESS)


class SessionFilter(admin.SimpleListFilter):
    """`?session=ride:42`: the log of one ride or conversation (linked from its page)."""

    title = "session"
    parameter_name = "session"

    def lookups(self, request, model_admin):
        # Only the session asked for: there are as many sessions as rides and conversations.
        session = self.value()
        return [(session, session)] if session else []

    def queryset(self, request, queryset):
        session = self.value()
        return queryset.filter(session=session) if session else queryset


def session_admin_url(message: Message) -> str | None:
    """The admin page of a message's ride or conversation: sessions are named
    `<model>:<id>` by the service app that owns the proxy number."""
    model, _, pk = message.session.partition(":")
    if message.proxy is None or not pk.isdigit():
        return None
    try:
        return reverse(f"admin:{message.proxy.service}_{model}_change", args=[pk])
    except NoReverseMatch:
        return None


def party_number(message: Message, number: str) -> str:
    """Pool numbers in full; a person's number as the viewer may see it."""
    if message.proxy is not None and number == message.proxy.number:
        return number
    return shown_number(message, number)


class StatusChangeInline(admin.TabularInline):
    """The message's delivery history: every receipt and the outbox's verdict, in the
    order they happened; those that changed nothing (late, repeated) say so."""

    model = MessageStatusChange
    verbose_name_plural = "delivery history"
    fields = readonly_fields = (
        "at",
        "status",
        "vendor_status",
        "error_code",
        "error_description",
        "applied",
        "received_at",
    )
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(StaffAdmin):
    list_display = [
        "when",
        "what",
        "pool_number",
        "shown_from",
        "shown_to",
        "status",
        "delivery",
        "outcome",
        "session_link",
    ]
    list_filter = [
        SessionFilter, "direction", "kind", "status", "system", "proxy", "provider", "created_at",
    ]  # fmt: skip
    search_fields = ["=sender", "=recipient", "=vendor_id", "=session"]
    phone_lookups = ("sender", "recipient", "proxy__number")
    list_select_related = ["proxy"]
    date_hierarchy = "created_at"
    actions = ["resend"]
    fields = [
        "created_at",
        "direction",
        "kind",
        "provider",
        "vendor_id",
        "proxy",
        "shown_from",
        "shown_to",
        "shown_body",
        "status",
        "outcome",
        "system",
        "session_link",
        "in_reply_to",
        "attempts",
        "last_error",
        "next_attempt_at",
        "sent_at",
        "delivered_at",
        "vendor_status",
        "error_code",
        "error_description",
        "updated_at",
    ]
    readonly_fields = fields  # type: ignore[assignment]
    inlines = [StatusChangeInline]
    empty_help = (
        "No messages yet: every text and call to or from a pool number is listed here. "
        "In development, send some from the phone simulator."
    )

    @admin.display(description="when", ordering="created_at")
    def when(self, obj: Message) -> str:
        return short_time(obj.created_at)

    @admin.display(description="message", ordering="direction")
    def what(self, obj: Message) -> str:
        return f"{obj.get_kind_display()} {'in' if obj.direction == Direction.INBOUND else 'out'}"

    @admin.display(description="pool number", ordering="proxy__number")
    def pool_number(self, obj: Message) -> str:
        return obj.proxy.number if obj.proxy is not None else "-"

    @admin.display(description="from")
    def shown_from(self, obj: Message) -> str:
        return party_number(obj, obj.sender)

    @admin.display(description="to")
    def shown_to(self, obj: Message) -> str:
        return party_number(obj, obj.recipient)

    @admin.display(description="text")
    def shown_body(self, obj: Message) -> str:
        return message_text(obj.body, full=sees_full(obj))

    @admin.display(description="delivery")
    def delivery(self, obj: Message) -> str:
        """When it was delivered, or why not, as the receipts said."""
        if obj.delivered_at is not None:
            return short_time(obj.delivered_at)
        return ": ".join(part for part in (obj.error_code, obj.error_description) if part) or "-"

    @admin.display(description="session", ordering="session")
    def session_link(self, obj: Message) -> str:
        if not obj.session:
            return "-"
        url = session_admin_url(obj)
        return format_html('<a href="{}">{}</a>', url, obj.session) if url else obj.session

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        # The log is a record: it is read, and failed texts are re-sent by the action.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("providers.change_message")

    @admin.action(description="Re-send selected failed messages", permissions=["resend"])
    @confirmed(
        question="Send these messages again? Each failed outbound text among them is queued "
        "and texted to its recipient once more; the others are skipped.",
        button="Re-send messages",
    )
    def resend(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        queued = sum(
            message_resend(message=m)
            for m in queryset.filter(direction=Direction.OUTBOUND, status=Status.FAILED)
        )
        skipped = queryset.count() - queued
        self.message_user(request, f"{queued} message(s) queued again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} message(s) skipped: only failed outbound SMS can be re-sent.",
                messages.WARNING,
            )


@admin.register(MessageStatusChange)
class MessageStatusChangeAdmin(StaffAdmin):
    """Every delivery report, across messages (read only: a record, like the log)."""

    list_display = ["at", "message", "status", "vendor_status", "error_code", "applied"]
    list_filter = ["status", "applied", "message__provider", "at"]
    search_fields = ["=message__vendor_id", "=error_code", "=vendor_status"]
    list_select_related = ["message"]
    fields = readonly_fields = StatusChangeInline.fields
    empty_help = "No delivery reports yet: the vendors' receipts on sent texts appear here."

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class OptOutStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("out", "Opted out"), ("in", "Opted in again")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("out", "in"):
            return queryset.filter(opted_in_at__isnull=self.value() == "out")
        return queryset


@admin.register(OptOut)
class OptOutAdmin(StaffAdmin):
    """Who asked which number to stop. Read only: only the person can opt back in."""

    list_display = ["masked_phone", "proxy", "keyword", "opted_out_at", "opted_in_at"]
    list_filter = [OptOutStateFilter, "proxy"]
    search_fields = ["=phone"]
    phone_lookups = ("phone",)
    list_select_related = ["proxy"]
    fields = readonly_fields = ("masked_phone", "proxy", "keyword", "opted_out_at", "opted_in_at")
    empty_help = "Nobody has opted out: a person who texts STOP to a number appears here."

    @admin.display(description="phone")
    def masked_phone(self, obj: OptOut) -> str:
        return shown_number(obj, obj.phone)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OptOut | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OptOut | None = None) -> bool:
        return False


from . import event_admin  # noqa: E402, F401 - registers the events admin
