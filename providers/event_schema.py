"""The events for the platform in the OpenAPI document, as webhooks
(`SPECTACULAR_SETTINGS["WEBHOOKS"]`); README "Events to the platform" tells the same."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiWebhook, extend_schema, inline_serializer
from rest_framework import serializers

NUMBER = "A person's number, masked (`+14*******23`) unless MASKED_NUMBERS_EVENTS_FULL_NUMBERS."
DESCRIPTION = (
    "POSTed to MASKED_NUMBERS_EVENTS_URL as JSON, signed by the Standard Webhooks scheme "
    "with MASKED_NUMBERS_EVENTS_SECRET: headers `webhook-id` (the event's `evt_…` id, the "
    "same on every attempt: drop duplicates), `webhook-timestamp` (Unix seconds of the "
    "attempt) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`). "
    "A 2xx answer means received; 408, 429, 5xx or no answer are retried with backoff; "
    "any other answer fails the event."
)


def _number() -> serializers.CharField:
    return serializers.CharField(help_text=NUMBER)


def _message_fields() -> dict[str, serializers.Field]:
    return {
        "session": serializers.CharField(help_text="`ride:42`, `conversation:7` (may be empty)"),
        "message_id": serializers.IntegerField(help_text="The message's id in the log"),
        "proxy_number": serializers.CharField(help_text="The pool number, E.164"),
        "direction": serializers.ChoiceField(choices=["in", "out"]),
        "kind": serializers.ChoiceField(choices=["sms", "call"]),
        "status": serializers.CharField(),
        "provider": serializers.CharField(),
        "from": serializers.CharField(help_text="The pool number in full, or a person's number"),
        "to": serializers.CharField(help_text="The pool number in full, or a person's number"),
    }


def _ended_fields(id_field: str) -> dict[str, serializers.Field]:
    return {
        "session": serializers.CharField(),
        id_field: serializers.IntegerField(),
        "proxy_number": serializers.CharField(),
        "reason": serializers.CharField(),
        "ended_at": serializers.DateTimeField(),
    }


DATA: dict[str, tuple[str, dict[str, serializers.Field]]] = {
    "message.relayed": (
        "A party's text was queued to the other party (the outbound message).",
        {**_message_fields(), "in_reply_to": serializers.IntegerField()},
    ),
    "message.delivered": (
        "A delivery receipt says the text reached the phone.",
        _message_fields(),
    ),
    "message.failed": (
        "An outbound text failed for good (refused, or out of attempts).",
        {**_message_fields(), "error": serializers.CharField()},
    ),
    "call.transferred": (
        "A call was transferred to the other party with the caller ID masked (the inbound call).",
        {**_message_fields(), "transferred_to": _number()},
    ),
    "optout.created": (
        "A person opted out of texts from a pool number (a keyword, or the vendor's refusal).",
        {
            "proxy_number": serializers.CharField(),
            "phone": _number(),
            "keyword": serializers.CharField(),
            "opted_out_at": serializers.DateTimeField(),
        },
    ),
    "ride.ended": (
        "A ride's masking ended: `closed` early (staff, API) or `expired` after its window.",
        {**_ended_fields("ride_id"), "customer": _number(), "driver": _number()},
    ),
    "conversation.ended": (
        "A conversation ended (`party`, `staff`, `code_expired`, `idle`).",
        {
            **_ended_fields("conversation_id"),
            "parties": inline_serializer(
                "ConversationEndedParty",
                fields={"role": serializers.CharField(), "phone": _number()},
                many=True,
            ),
        },
    ),
    "pool.exhausted": (
        "A ride could not be booked: no number of the pool could carry it.",
        {
            "service": serializers.CharField(),
            "reason": serializers.ChoiceField(choices=["no_numbers", "in_use"]),
            "customer": _number(),
            "driver": _number(),
        },
    ),
}


def _component(event_type: str) -> str:
    return "".join(part.capitalize() for part in event_type.split(".")) + "Event"


def _webhook(event_type: str) -> OpenApiWebhook:
    summary, data = DATA[event_type]
    body = inline_serializer(
        _component(event_type),
        fields={
            "id": serializers.CharField(help_text="`evt_…`, as the webhook-id header"),
            "type": serializers.ChoiceField(choices=[event_type]),
            "timestamp": serializers.DateTimeField(help_text="When it happened (UTC)"),
            "data": inline_serializer(_component(event_type) + "Data", fields=data),
        },
    )
    return OpenApiWebhook(
        name=event_type,
        decorator=extend_schema(
            summary=summary,
            description=DESCRIPTION,
            request=body,
            responses={200: None},
        ),
    )


WEBHOOKS = [_webhook(event_type) for event_type in DATA]
