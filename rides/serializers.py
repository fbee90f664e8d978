from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from providers.serializers import PersonNumberField

from .models import Customer, Driver, Ride, RideStatus, party_phone


class PartyInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    phone = serializers.CharField(max_length=32, help_text="Any format; stored in E.164.")

    def validate_phone(self, value: str) -> str:
        try:
            return party_phone(value)
        except ValidationError as err:
            raise serializers.ValidationError(err.messages) from err


class RideCreateSerializer(serializers.Serializer):
    customer = PartyInputSerializer(help_text="Matched by phone, created if new.")
    driver = PartyInputSerializer(help_text="Matched by phone, created if new.")
    start = serializers.CharField(max_length=255)
    destination = serializers.CharField(max_length=255)
    pickup_at = serializers.DateTimeField(
        help_text="ISO 8601; without an offset it is read in the server's time zone."
    )

    def validate(self, attrs: dict) -> dict:
        if attrs["customer"]["phone"] == attrs["driver"]["phone"]:
            raise serializers.ValidationError(
                {"driver": {"phone": ["The driver's phone is the customer's phone."]}}
            )
        return attrs


class CustomerSerializer(serializers.ModelSerializer):
    phone = PersonNumberField()

    class Meta:
        model = Customer
        fields = ["id", "name", "phone"]


class DriverSerializer(serializers.ModelSerializer):
    phone = PersonNumberField()

    class Meta:
        model = Driver
        fields = ["id", "name", "phone"]


class RideSerializer(serializers.ModelSerializer):
    customer = CustomerSerializer()
    driver = DriverSerializer()
    proxy_number = serializers.CharField(source="proxy.number", help_text="E.164")
    status = serializers.SerializerMethodField()

    class Meta:
        model = Ride
        fields = [
            "id",
            "customer",
            "driver",
            "start",
            "destination",
            "pickup_at",
            "proxy_number",
            "status",
            "masking_ends_at",
            "created_at",
            "ended_at",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.ChoiceField(
            choices=RideStatus.choices, help_text="The admin's words: open, expired, closed."
        )
    )
    def get_status(self, ride: Ride) -> str:
        return ride.current_status()


class PoolExhaustedSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=["pool_exhausted"])
    reason = serializers.ChoiceField(
        choices=["no_numbers", "in_use"],
        help_text="no_numbers: nothing in the pool can carry a ride; "
        "in_use: every suitable number carries an open ride of the customer or driver.",
    )
    detail = serializers.CharField(help_text="What happened and what to do, for people.")
