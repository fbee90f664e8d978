from __future__ import annotations

import json

import pytest

from providers.models import Direction, Message, Status
from tests.providers.vendors import fixture_bytes, fixture_json, set_provider_options
from tests.signing import flowroute_callback_path

pytestmark = pytest.mark.django_db

V21_BODY = fixture_bytes("flowroute/sms_inbound_v21.json")
V2_BODY = fixture_bytes("flowroute/sms_inbound_v2.json")


def post_sms(client, body: bytes = V21_BODY, *, path: str | None = None, **extra):
    return client.generic(
        "POST",
        path or flowroute_callback_path(),
        body,
        content_type="application/vnd.api+json",
        **extra,
    )


def inbound() -> list[Message]:
    return list(Message.objects.filter(direction=Direction.INBOUND))


def test_recorded_v21_json_api_callback_is_logged_in_e164_and_answered(client, fr_proxy):
    response = post_sms(client)

    assert response.status_code == 200
    [message] = inbound()
    assert (message.sender, message.recipient) == ("+12065550177", "+12065550150")
    assert message.body == "Where should I wait?"
    assert message.vendor_id == "mdr2-39cadeace66e11e7aff806cd7f24ba2d"
    assert message.proxy == fr_proxy
    [reply] = Message.objects.filter(direction=Direction.OUTBOUND)
    assert (reply.sender, reply.recipient, reply.provider) == (
        "+12065550150",
        "+12065550177",
        "flowroute",
    )


def test_recorded_flat_v2_callback_is_accepted(client, fr_proxy):
    response = post_sms(client, V2_BODY)

    assert response.status_code == 200
    [message] = inbound()
    assert message.body == "On my way"
    assert message.vendor_id == "mdr1-6c9f2f2ae5c611e7b59b22000b0b4a4c"


def test_callback_sent_as_plain_json_is_accepted(client, fr_proxy):
    response = client.post(flowroute_callback_path(), V2_BODY, content_type="application/json")

    assert response.status_code == 200
    assert len(inbound()) == 1


def test_repeated_flowroute_message_id_is_acknowledged_once(client, fr_proxy):
    assert post_sms(client).status_code == 200
    assert post_sms(client).status_code == 200

    assert len(inbound()) == 1
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1


def test_callback_to_a_number_not_in_the_pool_is_acknowledged_and_logged(client, db):
    response = post_sms(client)

    assert response.status_code == 200
    assert [(m.status, m.outcome) for m in inbound()] == [(Status.UNROUTED, "not_in_pool")]


def test_callback_with_a_wrong_token_is_refused(client, fr_proxy):
    response = post_sms(client, path=flowroute_callback_path(token="guessed-token"))

    assert response.status_code == 403
    assert "wrong webhook token" in response.content.decode()
    assert Message.objects.count() == 0


def test_callback_without_a_token_is_refused(client, fr_proxy):
    response = post_sms(client, path="/webhooks/flowroute/sms/")

    assert response.status_code == 403
    assert Message.objects.count() == 0


def test_without_a_configured_token_every_callback_is_refused(client, fr_proxy, settings):
    set_provider_options(settings, "flowroute", webhook_token="")

    response = post_sms(client, path=flowroute_callback_path(token="anything"))

    assert response.status_code == 403
    assert "not configured" in response.content.decode()


def _v21_with(**attributes) -> bytes:
    data = fixture_json("flowroute/sms_inbound_v21.json")
    data["data"]["attributes"].update(attributes)
    return json.dumps(data).encode()


def test_json_nested_deeper_than_python_can_parse_is_a_400(client, fr_proxy):
    body = b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    response = post_sms(client, body)

    assert response.status_code == 400
    assert "nested too deeply" in response.content.decode()
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{oops", "not valid JSON"),
        (b'"text"', "must be a JSON object"),
        (b'{"data": []}', "data must be an object"),
        (b'{"data": {"id": "x"}}', "data.attributes must be an object"),
        (_v21_with(body=None), "body is missing"),
        (_v21_with(body=["a"]), "body must be a string"),
        (_v21_with(**{"from": "12"}), "from is not a phone number"),
        (_v21_with(to=None), "to is missing"),
        (b'{"to": "12065550150", "from": "12065550177", "body": "x", "id": true}', "id must"),
    ],
)
def test_malformed_callback_is_a_400_with_the_reason(client, fr_proxy, body, reason):
    response = post_sms(client, body)

    assert response.status_code == 400
    assert reason in response.content.decode()
    assert Message.objects.count() == 0


def test_callback_larger_than_the_limit_is_refused_with_413(client, fr_proxy, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 512

    response = post_sms(client, _v21_with(body="x" * 1024))

    assert response.status_code == 413


def test_flowroute_has_no_voice_webhook(client, fr_proxy):
    assert client.get("/webhooks/flowroute/voice/?source=1&destination=2").status_code == 404
