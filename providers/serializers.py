from __future__ import annotations

from rest_framework import serializers

from .models import ProxyNumber
from .pool_admin import proxy_number_create


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
