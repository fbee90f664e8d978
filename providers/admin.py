from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Direction, Message, ProxyNumber, Status
from .outbox import message_resend
from .phone import country_of, mask
from .pool_admin import proxy_number_clean, proxy_number_retire
from .selectors import proxy_open_sessions


class ProxyNumberForm(forms.ModelForm):
    class Meta:
        model = ProxyNumber
        fields = ["number", "provider", "service", "sms", "voice", "country", "active"]

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
class ProxyNumberAdmin(admin.ModelAdmin):
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
    readonly_fields = ["retired_at", "created_at", "open_sessions"]
    actions = ["retire"]

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
    def open_sessions(self, obj: ProxyNumber) -> int:
        count = getattr(obj, "open_session_count", None)
        if count is None:
            return proxy_open_sessions(proxies=[obj]).get(obj.pk, 0)
        return count

    @admin.action(description="Retire selected numbers (keep their history)")
    def retire(self, request: HttpRequest, queryset: QuerySet[ProxyNumber]) -> None:
        retired = sum(proxy_number_retire(proxy=proxy) for proxy in queryset)
        self.message_user(request, f"{retired} number(s) retired.", messages.SUCCESS)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "direction",
        "kind",
        "proxy",
        "masked_from",
        "masked_to",
        "status",
        "outcome",
        "attempts",
        "session",
    ]
    list_filter = ["direction", "kind", "status", "provider", "created_at"]
    search_fields = ["=sender", "=recipient", "=vendor_id", "=session"]
    list_select_related = ["proxy"]
    date_hierarchy = "created_at"
    actions = ["resend"]
    readonly_fields = [f.name for f in Message._meta.fields]

    @admin.display(description="from")
    def masked_from(self, obj: Message) -> str:
        return mask(obj.sender)

    @admin.display(description="to")
    def masked_to(self, obj: Message) -> str:
        return mask(obj.recipient)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    @admin.action(description="Re-send selected failed messages")
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
