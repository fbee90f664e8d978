"""Rides on Twilio and Bird numbers, end to end: signed webhooks in, the vendors' APIs
intercepted at the transport, the relays read back from what the vendors received."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlencode
from xml.etree import ElementTree

import pytest

from providers.models import Direction, Kind, Message, Status
from tests import factories
from tests.providers.vendors import (
    BIRD_MESSAGES_URL,
    TWILIO_MESSAGES_URL,
    bird_accepts,
    twilio_accepts,
)
from tests.signing import bird_headers, twilio_headers

pytestmark = pytest.mark.django_db

CUSTOMER = "+14155550123"
DRIVER = "+16505550199"
NUMBER = "+12065550100"
FORM = "application/x-www-form-urlencoded"


def make_ride(*, provider: str, voice: bool = True):
    proxy = factories.proxy_number(number=NUMBER, provider=provider, voice=voice)
    return factories.ride(
        customer=factories.customer(name="Alice", phone=CUSTOMER),
        driver=factories.driver(name="Bob", phone=DRIVER),
        proxy=proxy,
    )


def twilio_post(client, path: str, fields: dict, *, token: str | None = None):
    signing = {"token": token} if token else {}
    headers = twilio_headers(url=f"http://testserver{path}", params=fields, **signing)
    return client.generic("POST", path, urlencode(fields).encode(), content_type=FORM, **headers)


def twilio_sms(client, *, sender: str, text: str, sid: str, **signing):
    fields = {"MessageSid": sid, "From": sender, "To": NUMBER, "Body": text, "NumMedia": "0"}
    return twilio_post(client, "/webhooks/twilio/sms/", fields, **signing)


def twilio_sent(rsps) -> list[dict]:
    return [
        {k: v[0] for k, v in parse_qs(call.request.body).items()}
        for call in rsps.calls
        if call.request.url == TWILIO_MESSAGES_URL
    ]


def bird_sms(client, *, sender: str, text: str, sms_id: str, **signing):
    data = {"sms_id": sms_id, "from": sender, "to": NUMBER, "text": text}
    body = json.dumps({"type": "sms.received", "timestamp": "2026-11-22T20:58:11Z", "data": data})
    meta = bird_headers(body=body.encode(), **signing)
    return client.generic("POST", "/webhooks/bird/", body, content_type="application/json", **meta)


def bird_sent(rsps) -> list[dict]:
    return [
        {k: v for k, v in json.loads(call.request.body).items() if k in ("from", "to", "text")}
        for call in rsps.calls
        if call.request.url == BIRD_MESSAGES_URL
    ]


# --- Twilio --------------------------------------------------------------------------------


def test_a_twilio_ride_relays_texts_both_ways_from_the_ride_number(
    client, mocked_responses, django_capture_on_commit_callbacks
):
    ride = make_ride(provider="twilio")
    twilio_accepts(mocked_responses)

    with django_capture_on_commit_callbacks(execute=True):
        assert twilio_sms(client, sender=CUSTOMER, text="At the gate", sid="SM1").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert twilio_sms(client, sender=DRIVER, text="2 min away", sid="SM2").status_code == 200

    assert twilio_sent(mocked_responses) == [
        {"From": NUMBER, "To": DRIVER, "Body": "At the gate"},
        {"From": NUMBER, "To": CUSTOMER, "Body": "2 min away"},
    ]
    relays = Message.objects.filter(direction=Direction.OUTBOUND)
    assert {(m.session, m.status, m.provider) for m in relays} == {
        (ride.session, Status.SENT, "twilio")
    }


@pytest.mark.parametrize(("caller", "callee"), [(CUSTOMER, DRIVER), (DRIVER, CUSTOMER)])
def test_a_twilio_ride_call_is_put_through_showing_the_ride_number(client, caller, callee):
    make_ride(provider="twilio")

    response = twilio_post(
        client, "/webhooks/twilio/voice/", {"CallSid": "CA1", "From": caller, "To": NUMBER}
    )

    assert response.status_code == 200
    dial = ElementTree.fromstring(response.content).find("Dial")  # noqa: S314 - our own
    assert (dial.get("callerId"), dial.find("Number").text) == (NUMBER, callee)
    assert caller not in response.content.decode()
    assert Message.objects.get(kind=Kind.CALL).status == Status.TRANSFERRED


def test_a_forged_twilio_text_is_refused_and_nothing_is_relayed(
    client, mocked_responses, django_capture_on_commit_callbacks
):
    make_ride(provider="twilio")
    twilio_accepts(mocked_responses)

    with django_capture_on_commit_callbacks(execute=True):
        response = twilio_sms(client, sender=CUSTOMER, text="hi", sid="SM1", token="guessed")

    assert response.status_code == 403
    assert twilio_sent(mocked_responses) == []
    assert not Message.objects.exists()


def test_a_redelivered_twilio_text_is_relayed_once(
    client, mocked_responses, django_capture_on_commit_callbacks
):
    make_ride(provider="twilio")
    twilio_accepts(mocked_responses)

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            assert twilio_sms(client, sender=CUSTOMER, text="hi", sid="SM1").status_code == 200

    assert len(twilio_sent(mocked_responses)) == 1


# --- Bird ----------------------------------------------------------------------------------


def test_a_bird_ride_relays_texts_both_ways_from_the_ride_number(
    client, mocked_responses, django_capture_on_commit_callbacks
):
    ride = make_ride(provider="bird", voice=False)
    bird_accepts(mocked_responses)

    with django_capture_on_commit_callbacks(execute=True):
        assert (
            bird_sms(client, sender=CUSTOMER, text="At the gate", sms_id="sms_1").status_code == 200
        )
    with django_capture_on_commit_callbacks(execute=True):
        assert bird_sms(client, sender=DRIVER, text="2 min away", sms_id="sms_2").status_code == 200

    assert bird_sent(mocked_responses) == [
        {"from": NUMBER, "to": DRIVER, "text": "At the gate"},
        {"from": NUMBER, "to": CUSTOMER, "text": "2 min away"},
    ]
    relays = Message.objects.filter(direction=Direction.OUTBOUND)
    assert {(m.session, m.status, m.provider) for m in relays} == {
        (ride.session, Status.SENT, "bird")
    }


@pytest.mark.parametrize(
    "signing",
    [
        {"secret": "whsec_bm90LXRoZS1zZWNyZXQtb2YtdGhpcy1lbmRwb2ludA=="},
        {"sent_at": time.time() - 600},
    ],
    ids=["forged", "stale"],
)
def test_a_forged_or_stale_bird_text_is_refused_and_nothing_is_relayed(
    client, mocked_responses, django_capture_on_commit_callbacks, signing
):
    make_ride(provider="bird", voice=False)
    bird_accepts(mocked_responses)

    with django_capture_on_commit_callbacks(execute=True):
        response = bird_sms(client, sender=CUSTOMER, text="hi", sms_id="sms_1", **signing)

    assert response.status_code == 403
    assert bird_sent(mocked_responses) == []
    assert not Message.objects.exists()


def test_a_redelivered_bird_text_is_relayed_once(
    client, mocked_responses, django_capture_on_commit_callbacks
):
    make_ride(provider="bird", voice=False)
    bird_accepts(mocked_responses)

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = bird_sms(
                client, sender=CUSTOMER, text="hi", sms_id="sms_1", webhook_id="msg_1"
            )
            assert response.status_code == 200

    assert len(bird_sent(mocked_responses)) == 1
