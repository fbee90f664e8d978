from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from .exceptions import InvalidPhoneNumber
from .models import ProxyNumber
from .phone import country_of, to_e164


class ProxyNumberSerializer(serializers.ModelSerializer):
    number = serializers.CharField(max_length=32)

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

    def validate_number(self, value: str) -> str:
        try:
            number = to_e164(value)
        except InvalidPhoneNumber as err:
            raise serializers.ValidationError(f"{value!r} is not a valid phone number.") from err
        if ProxyNumber.objects.filter(number=number).exists():
            raise serializers.ValidationError(f"{number} is already in the pool.")
        return number

    def validate_provider(self, value: str) -> str:
        if value not in settings.MASKED_NUMBERS_PROVIDERS:
            configured = ", ".join(settings.MASKED_NUMBERS_PROVIDERS) or "none"
            raise serializers.ValidationError(
                f"provider {value!r} is not configured (configured: {configured})."
            )
        return value

    def create(self, validated_data: dict) -> ProxyNumber:
        validated_data["country"] = country_of(validated_data["number"])
        return super().create(validated_data)
