from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .masking import message_text, person_number, request_sees_full
from .models import Message, OptOut, ProxyNumber
from .phone import redact
from .pool_admin import proxy_number_create


class PersonNumberField(serializers.CharField):
    """A person's own number: in full only for users allowed to see full numbers
    (`providers.view_full_numbers`), else masked (`+14*******23`). Pool numbers are
    always shown in full and are not this field."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault(
            "help_text",
            "E.164; masked (country code, last two digits) without the permission "
            "to view full numbers.",
        )
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: str) -> str:
        return person_number(value, full=request_sees_full(self.context))


class ProxyNumberSerializer(serializers.ModelSerializer):
    # Parsed and checked by the service (E.164, duplicates, provider and capabilities).
    number = serializers.CharField(max_length=32)
    provider = serializers.CharField(max_length=32)

    class Meta:
        model = ProxyNumber
        fields = [
            "id",
            "number",
            "provider",
            "service",
            "sms",
            "voice",
            "country",
            "active",
            "created_at",
        ]
        read_only_fields = ["id", "country", "active", "created_at"]

    def create(self, validated_data: dict) -> ProxyNumber:
        return proxy_number_create(**validated_data)


class OptOutSerializer(serializers.ModelSerializer):
    """An opt-out, read-only: only the person can opt back in, by texting the number."""

    proxy_number = serializers.CharField(source="proxy.number", read_only=True)
    phone = PersonNumberField()
    active = serializers.BooleanField(read_only=True, help_text="Not opted in again since.")

    class Meta:
        model = OptOut
        fields = ["id", "proxy_number", "phone", "keyword", "opted_out_at", "opted_in_at", "active"]
        read_only_fields = fields


class MessageTextField(serializers.CharField):
    """A message text: in full only for users allowed to see full numbers and texts,
    else "(text hidden)"; empty when there was none or retention erased it."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault(
            "help_text",
            "Hidden without the permission to view full numbers and texts; empty once erased.",
        )
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: str) -> str:
        return message_text(value, full=request_sees_full(self.context))


class MessageErrorSerializer(serializers.Serializer):
    """What went wrong last with a message (the shape of `MessageSerializer.error`)."""

    code = serializers.CharField(
        read_only=True, allow_null=True, help_text="The vendor's error code, where recorded."
    )
    description = serializers.CharField(
        read_only=True,
        help_text="In our words, then the vendor's; numbers in it masked without the "
        "permission to view full numbers.",
    )


PARTY_NUMBER_HELP = (
    "E.164. The pool number in full; a person's masked without the permission to view "
    "full numbers, and `(erased)` once retention erased it."
)


class MessageSerializer(serializers.ModelSerializer):
    """One entry of the message log, read-only. Pool numbers in full; people's numbers
    masked and texts hidden without the permission to view them."""

    proxy_number = serializers.CharField(
        source="proxy.number", read_only=True, allow_null=True, help_text="The pool number, E.164."
    )
    sender = PersonNumberField(help_text=PARTY_NUMBER_HELP)
    recipient = PersonNumberField(help_text=PARTY_NUMBER_HELP)
    body = MessageTextField()
    error = serializers.SerializerMethodField(help_text="What went wrong last; null if nothing.")
    erased_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When retention erased its text and the person's number (then `(erased)`).",
    )

    class Meta:
        model = Message
        fields = [
            "id",
            "session",
            "direction",
            "kind",
            "provider",
            "proxy_number",
            "vendor_id",
            "sender",
            "recipient",
            "body",
            "status",
            "vendor_status",
            "outcome",
            "error",
            "attempts",
            "created_at",
            "updated_at",
            "sent_at",
            "delivered_at",
            "erased_at",
        ]
        read_only_fields = fields

    @extend_schema_field(MessageErrorSerializer(allow_null=True))
    def get_error(self, message: Message) -> dict | None:
        # The vendor's code and words from a receipt or refusal, else our last error.
        error = message.error_description or message.last_error
        if not (error or message.error_code):
            return None
        return {
            "code": message.error_code or None,
            "description": error if request_sees_full(self.context) else redact(error),
        }

    def to_representation(self, message: Message) -> dict:
        data = super().to_representation(message)
        # The pool number is not personal: shown in full, as the admin shows it.
        for side in ("sender", "recipient"):
            if message.proxy is not None and getattr(message, side) == message.proxy.number:
                data[side] = message.proxy.number
        return data
