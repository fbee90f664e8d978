from __future__ import annotations

from rest_framework import serializers

from providers.serializers import PersonNumberField

from .models import Conversation, Participant


class PartySerializer(serializers.ModelSerializer):
    phone = PersonNumberField()

    class Meta:
        model = Participant
        fields = ["role", "phone", "joined_at"]


class ConversationSerializer(serializers.ModelSerializer):
    number = serializers.CharField(source="proxy.number", read_only=True)
    parties = PartySerializer(source="participants", many=True, read_only=True)
    session = serializers.CharField(read_only=True, help_text="Its name in the message log.")

    class Meta:
        model = Conversation
        fields = [
            "id",
            "code",
            "number",
            "state",
            "end_reason",
            "parties",
            "session",
            "created_at",
            "joined_at",
            "last_activity_at",
            "expires_at",
            "ended_at",
        ]
        read_only_fields = fields
