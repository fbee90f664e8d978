from __future__ import annotations

from rest_framework import serializers

from .masking import person_number, request_sees_full
from .models import OptOut, ProxyNumber
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
