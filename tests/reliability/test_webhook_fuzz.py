"""Property-based fuzzing of every webhook: bad input is a 4xx that writes nothing.

Each MessageBird request is signed over exactly the bytes sent, so the fuzzing reaches
the parsers instead of stopping at the signature check; Flowroute requests carry the
right URL token. A 2xx must have logged the message; a 4xx must have written nothing;
no input may produce a 5xx (the test client raises on one); every call-flow answer
must be well-formed XML.
"""

from __future__ import annotations

import json
import os
from urllib.parse import urlencode
from xml.etree import ElementTree

import jwt
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from providers.backends.messagebird import call_flow_xml
from providers.backends.twilio import twiml
from providers.models import Direction, Message
from providers.types import CallAction
from tests.signing import (
    FLOWROUTE_WEBHOOK_TOKEN,
    MESSAGEBIRD_SIGNING_KEY,
    bird_headers,
    messagebird_signature,
    twilio_headers,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("count_answers")]

# `make reliability` raises the number of examples; the normal suite keeps it small.
FUZZ = settings(
    max_examples=int(os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

PROXY = "+12065550100"
FR_PROXY = "+12065550101"
CONSOLE_PROXY = "+12065550102"
TW_PROXY = "+12065550103"
BIRD_PROXY = "+12065550104"
KNOWN = "+12065552000"

METACHARACTERS = [
    "<Say>x</Say>",
    "]]>",
    '"><Transfer destination="1"/>',
    "&amp;&#0;&lt;",
    "'; DROP TABLE providers_message; --",
    "' OR '1'='1",
    "%00",
    "\x00",
    "\ufffe",
    "\x0b\x1b",
    "\\u0000",
    "\u202e",
    "😀",
    "a" * 2000,
]

# Numbers as vendors, people and attackers write them.
odd_numbers = st.one_of(
    st.sampled_from(
        [
            "12065552000",
            "+12065552000",
            "0012065552000",
            "1 (206) 555-2000",
            "1-206-555-2000",
            "+1 206 555 2000",
            "١٢٠٦٥٥٥٢٠٠٠",  # Arabic-Indic digits
            "12065550100",
            "2065550100",
            "+",
            "00",
            "0",
            "+0000000000000",
            "9" * 40,
            "+1206555200O",
            "12065552000\x00",
            "12065552000\n",
            "<12065552000>",
        ]
    ),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.text(alphabet="0123456789+-() \x00", max_size=40),
    st.text(max_size=40),
    st.sampled_from(METACHARACTERS),
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=200),
    st.sampled_from(METACHARACTERS),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
texts = st.one_of(st.text(max_size=300), st.sampled_from(METACHARACTERS))
vendor_ids = st.one_of(st.text(max_size=200), st.integers(), st.sampled_from(METACHARACTERS))


def _maybe(strategy):
    return st.one_of(st.just(None), strategy)


@st.composite
def messagebird_fields(draw) -> dict:
    """MessageBird Flow Builder fields, each possibly missing, of a wrong type or odd."""
    fields = {
        "originator": draw(_maybe(odd_numbers | json_values)),
        "recipient": draw(_maybe(st.sampled_from(["12065550100", PROXY]) | odd_numbers)),
        draw(st.sampled_from(["payload", "body"])): draw(_maybe(texts | json_values)),
        "id": draw(_maybe(vendor_ids | json_values)),
    }
    extra = draw(st.dictionaries(st.text(max_size=10), json_scalars, max_size=2))
    return {**extra, **{k: v for k, v in fields.items() if v is not None}}


def _form(fields: dict) -> bytes:
    return urlencode(
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
    ).encode()


@st.composite
def messagebird_bodies(draw) -> tuple[str, bytes]:
    """(content type, body): form, JSON, raw bytes, truncated or invalid UTF-8."""
    fields = draw(messagebird_fields())
    kind = draw(st.sampled_from(["form", "json", "raw", "truncated", "bad_utf8", "escapes"]))
    if kind == "form":
        return "application/x-www-form-urlencoded", _form(fields)
    if kind == "json":
        return "application/json", json.dumps(fields).encode()
    if kind == "escapes":
        # Escapes that decode to a NUL or a lone surrogate: legal JSON, illegal text.
        escape = draw(st.sampled_from(["\\u0000", "\\ud800", "\\udfff", "\\u0000\\ud83d"]))
        body = (
            '{"originator": "12065552000", "recipient": "12065550100", '
            f'"payload": "hi {escape}", "id": "e{escape}"}}'
        ).encode()
        return "application/json", body
    if kind == "raw":
        content_type = draw(
            st.sampled_from(
                [
                    "application/json",
                    "application/x-www-form-urlencoded",
                    "multipart/form-data",
                    "multipart/form-data; boundary=xyz",
                    "text/plain",
                    "application/xml",
                    "",
                ]
            )
        )
        return content_type, draw(st.binary(max_size=500))
    content_type = draw(st.sampled_from(["application/json", "application/x-www-form-urlencoded"]))
    body = json.dumps(fields).encode() if content_type == "application/json" else _form(fields)
    if kind == "truncated":
        return content_type, body[: draw(st.integers(0, max(0, len(body) - 1)))]
    position = draw(st.integers(0, len(body)))
    junk = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]))
    return content_type, body[:position] + junk + body[position:]


def _counts() -> tuple[int, int]:
    return Message.objects.count(), Message.objects.exclude(nonce="").count()


def _fresh_counts() -> tuple[int, int]:
    """Start an example from an empty log, so an accepted webhook is never a duplicate."""
    Message.objects.all().delete()
    return _counts()


def _post_signed(client, path: str, content_type: str, body: bytes, *, signed: bool = True):
    headers = {}
    if signed:
        headers["MessageBird-Signature-JWT"] = messagebird_signature(
            url=f"http://testserver{path}", body=body
        )
    return client.generic("POST", path, body, content_type=content_type, headers=headers)


# Accepted, malformed, refused, too large: every answer a webhook gives carries a reason.
ANSWERS = {200, 400, 403, 413}


def _assert_outcome(response, before: tuple[int, int]) -> None:
    assert response.status_code in ANSWERS
    if response.status_code >= 400:
        assert _counts() == before, "a rejected webhook wrote to the database"
    else:
        assert response.status_code == 200
        assert Message.objects.count() > before[0]


@FUZZ
@given(body=messagebird_bodies(), signed=st.booleans())
@example(
    body=(
        "application/json",
        b'{"originator":"12065552000","recipient":"12065550100","payload":"a\\u0000b","id":"1"}',
    ),
    signed=True,
)  # noqa: E501
@example(
    body=(
        "application/json",
        b'{"originator":"12065552000","recipient":"12065550100","payload":"\\ud800","id":"2"}',
    ),
    signed=True,
)  # noqa: E501
@example(body=("multipart/form-data", b"--x\r\n"), signed=True)
@example(body=("application/json", b"[" * 100_000 + b"]" * 100_000), signed=True)
@example(body=("application/json", b'{"a": ' * 100_000 + b"1" + b"}" * 100_000), signed=True)
@example(
    body=(
        "application/x-www-form-urlencoded",
        b"payload=%00&originator=12065552000&recipient=12065550100&id=3",
    ),
    signed=True,
)  # noqa: E501
def test_messagebird_sms_webhook_never_fails_and_rejections_write_nothing(
    client, pairs, mb_proxy, body, signed
):
    content_type, raw = body
    before = _fresh_counts()
    response = _post_signed(client, "/webhooks/messagebird/sms/", content_type, raw, signed=signed)
    _assert_outcome(response, before)
    if not signed:
        assert response.status_code == 403


@st.composite
def flowroute_bodies(draw) -> bytes:
    attributes = {
        "from": draw(_maybe(odd_numbers | json_values)),
        "to": draw(_maybe(st.just("12065550101") | odd_numbers)),
        "body": draw(_maybe(texts | json_values)),
    }
    attributes = {k: v for k, v in attributes.items() if v is not None}
    shape = draw(st.sampled_from(["v2", "v21", "v21_broken", "raw", "truncated", "escapes"]))
    vendor_id = draw(_maybe(vendor_ids | json_values))
    if shape == "v2":
        data = {**attributes, **({"id": vendor_id} if vendor_id is not None else {})}
    elif shape in {"v21", "truncated"}:
        data = {"data": {"id": vendor_id, "type": "message", "attributes": attributes}}
    elif shape == "v21_broken":
        data = {"data": draw(json_values)}
    elif shape == "escapes":
        escape = draw(st.sampled_from(["\\u0000", "\\ud800", "\\udbff\\u0000"]))
        return (
            '{"from": "12065552000", "to": "12065550101", '
            f'"body": "x{escape}", "id": "f{escape}"}}'
        ).encode()
    else:
        return draw(st.binary(max_size=400))
    body = json.dumps(data).encode()
    if shape == "truncated":
        body = body[: draw(st.integers(0, max(0, len(body) - 1)))]
    return body


@FUZZ
@given(body=flowroute_bodies(), token_ok=st.booleans())
@example(body=b'{"from": "12065552000", "to": "12065550101", "body": "\\u0000"}', token_ok=True)
@example(body=b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", token_ok=True)
@example(body=b'{"data": {"id": 1, "attributes": {"from": 1, "to": [], "body": 2}}}', token_ok=True)
def test_flowroute_sms_webhook_never_fails_and_rejections_write_nothing(
    client, pairs, fr_proxy, body, token_ok
):
    token = FLOWROUTE_WEBHOOK_TOKEN if token_ok else "wrong-token"
    before = _fresh_counts()
    response = client.generic(
        "POST", f"/webhooks/flowroute/sms/{token}/", body, content_type="application/json"
    )
    _assert_outcome(response, before)
    if not token_ok:
        assert response.status_code == 403


claim_values = st.one_of(json_values, st.text(max_size=80), st.sampled_from(["\u00e9" * 64]))


@FUZZ
@given(url_hash=_maybe(claim_values), payload_hash=_maybe(claim_values), exp=_maybe(st.integers()))
@example(url_hash=None, payload_hash=None, exp=None)
@example(url_hash=5, payload_hash=None, exp=None)
@example(url_hash=None, payload_hash=[1], exp=None)
@example(url_hash=None, payload_hash=None, exp=10**12)
def test_correctly_signed_tokens_with_odd_claims_are_refused_not_failed(
    client, pairs, mb_proxy, url_hash, payload_hash, exp
):
    """Signed with the right key, each of url_hash, payload_hash and exp either right
    (None) or drawn: a 200 when all three are right, otherwise 403 (or 200 for a drawn
    exp that is in fact acceptable), never a failure."""
    path = "/webhooks/messagebird/sms/"
    body = _form({"originator": "12065552000", "recipient": "12065550100", "payload": "hi"})
    claims = jwt.decode(
        messagebird_signature(url=f"http://testserver{path}", body=body),
        options={"verify_signature": False},
    )
    drawn = {"url_hash": url_hash, "payload_hash": payload_hash, "exp": exp}
    claims.update({k: v for k, v in drawn.items() if v is not None})
    signature = jwt.encode(claims, MESSAGEBIRD_SIGNING_KEY, algorithm="HS256")
    before = _fresh_counts()
    response = client.generic(
        "POST",
        path,
        body,
        content_type="application/x-www-form-urlencoded",
        headers={"MessageBird-Signature-JWT": signature},
    )
    assert response.status_code in {200, 403}
    if response.status_code == 403:
        assert _counts() == before
    if url_hash is None and payload_hash is None and exp is None:
        assert response.status_code == 200


@st.composite
def call_queries(draw) -> dict:
    query = {
        "source": draw(_maybe(odd_numbers)),
        "destination": draw(_maybe(st.just("12065550100") | odd_numbers)),
        "callID": draw(_maybe(st.text(max_size=200) | st.sampled_from(METACHARACTERS))),
    }
    extra = draw(st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=2))
    return {**extra, **{k: str(v) for k, v in query.items() if v is not None}}


@FUZZ
@given(query=call_queries(), signed=st.booleans())
@example(
    query={"source": "12065552000", "destination": "12065550100", "callID": "c\x00"}, signed=True
)  # noqa: E501
def test_messagebird_voice_webhook_answers_well_formed_xml(client, pairs, mb_proxy, query, signed):
    path = "/webhooks/messagebird/voice/?" + urlencode(query)
    headers = {}
    if signed:
        headers["MessageBird-Signature-JWT"] = messagebird_signature(url=f"http://testserver{path}")
    before = _fresh_counts()
    response = client.get(path, headers=headers)
    assert response.status_code in ANSWERS
    if response.status_code >= 400:
        assert _counts() == before
        return
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)  # noqa: S314 - our own answer
    assert root.tag in {"Transfer", "Say"}
    if root.tag == "Transfer":
        assert root.attrib["mask"] == "true"


@FUZZ
@given(text=st.text(max_size=300) | st.sampled_from(METACHARACTERS))
@example(text="\x00\x01\x0b\x1f\ud800\ufffe\uffff")
def test_call_flow_xml_is_well_formed_whatever_it_says(text):
    root = ElementTree.fromstring(call_flow_xml(CallAction.say(text)).encode())  # noqa: S314
    assert root.tag == "Say"
    assert set(root.text or "") <= set(text) | {"\n"}


@FUZZ
@given(
    payload=st.one_of(
        st.dictionaries(st.sampled_from(["from", "to", "text", "id"]), json_values, max_size=4),
        json_values,
    )
)
def test_console_sms_webhook_never_fails(client, pairs, console_proxy, payload):
    before = _fresh_counts()
    response = client.post("/webhooks/console/sms/", payload, content_type="application/json")
    _assert_outcome(response, before)


@st.composite
def twilio_forms(draw, *, sid_field: str) -> dict[str, str]:
    """Twilio's form fields, each possibly missing or odd (form values are text)."""
    fields = {
        sid_field: draw(_maybe(st.text(max_size=60) | st.sampled_from(METACHARACTERS))),
        "From": draw(_maybe(odd_numbers.map(str))),
        "To": draw(_maybe(st.sampled_from([TW_PROXY, "12065550103"]) | odd_numbers.map(str))),
        "Body": draw(_maybe(texts)),
    }
    extra = draw(st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=2))
    return {**extra, **{k: v for k, v in fields.items() if v is not None}}


def _post_twilio(client, path: str, fields: dict[str, str], *, signed: bool):
    # Signed over the fields as Django will read them back from the form.
    from django.http import QueryDict

    body = urlencode(fields).encode()
    params = QueryDict(body).dict()
    headers = twilio_headers(url=f"http://testserver{path}", params=params) if signed else {}
    return client.generic(
        "POST", path, body, content_type="application/x-www-form-urlencoded", **headers
    )


@FUZZ
@given(fields=twilio_forms(sid_field="MessageSid"), signed=st.booleans())
@example(fields={"MessageSid": "SM\x00", "From": "+12065552000", "To": TW_PROXY}, signed=True)
def test_twilio_sms_webhook_never_fails_and_rejections_write_nothing(
    client, pairs, tw_proxy, fields, signed
):
    before = _fresh_counts()
    response = _post_twilio(client, "/webhooks/twilio/sms/", fields, signed=signed)
    _assert_outcome(response, before)
    if not signed:
        assert response.status_code == 403


@FUZZ
@given(fields=twilio_forms(sid_field="CallSid"), signed=st.booleans())
def test_twilio_voice_webhook_answers_well_formed_twiml(client, pairs, tw_proxy, fields, signed):
    before = _fresh_counts()
    response = _post_twilio(client, "/webhooks/twilio/voice/", fields, signed=signed)
    assert response.status_code in ANSWERS
    if response.status_code >= 400:
        assert _counts() == before
        return
    root = ElementTree.fromstring(response.content)  # noqa: S314 - our own answer
    assert root.tag == "Response"
    dial = root.find("Dial")
    if dial is not None:
        assert dial.get("callerId") == TW_PROXY


@FUZZ
@given(text=st.text(max_size=300) | st.sampled_from(METACHARACTERS))
@example(text="\x00\x01\x0b\x1f\ud800\ufffe\uffff")
def test_twiml_is_well_formed_whatever_it_says(text):
    root = ElementTree.fromstring(twiml(CallAction.say(text), caller_id=TW_PROXY))  # noqa: S314
    assert [child.tag for child in root] == ["Say", "Hangup"]


@st.composite
def bird_events(draw) -> bytes:
    data = {
        "sms_id": draw(_maybe(vendor_ids | json_values)),
        "from": draw(_maybe(odd_numbers | json_values)),
        "to": draw(_maybe(st.sampled_from([BIRD_PROXY]) | odd_numbers)),
        "text": draw(_maybe(texts | json_values)),
    }
    data = {k: v for k, v in data.items() if v is not None}
    shape = draw(st.sampled_from(["received", "other", "broken", "raw", "truncated"]))
    if shape == "raw":
        return draw(st.binary(max_size=400))
    event_type = "sms.received" if shape != "other" else draw(st.text(max_size=20))
    event = {"type": event_type, "timestamp": "2026-11-22T20:58:11Z", "data": data}
    if shape == "broken":
        event = draw(json_values)
    body = json.dumps(event).encode()
    if shape == "truncated":
        body = body[: draw(st.integers(0, max(0, len(body) - 1)))]
    return body


@FUZZ
@given(body=bird_events(), signed=st.booleans())
@example(body=b'{"type": "sms.received", "data": {"sms_id": "s\\u0000"}}', signed=True)
def test_bird_event_webhook_never_fails_and_rejections_write_nothing(
    client, pairs, bird_proxy, body, signed
):
    before = _fresh_counts()
    headers = bird_headers(body=body) if signed else {}
    response = client.generic(
        "POST", "/webhooks/bird/", body, content_type="application/json", **headers
    )
    assert response.status_code in ANSWERS
    if response.status_code >= 400:
        assert _counts() == before, "a rejected webhook wrote to the database"
    if not signed:
        assert response.status_code == 403


def test_inbound_bodies_are_logged_with_their_text_intact(client, pairs, mb_proxy):
    text = "<Say>hi</Say> & ' OR 1=1; -- \u202e 😀"
    body = _form(
        {"originator": "12065552000", "recipient": "12065550100", "payload": text, "id": "i1"}
    )
    response = _post_signed(
        client, "/webhooks/messagebird/sms/", "application/x-www-form-urlencoded", body
    )
    assert response.status_code == 200
    inbound = Message.objects.get(direction=Direction.INBOUND, vendor_id="i1")
    assert inbound.body == text
    relayed = Message.objects.get(direction=Direction.OUTBOUND, in_reply_to=inbound)
    assert relayed.body == text and relayed.recipient == pairs["+12065552000"]


@pytest.mark.parametrize(
    "path",
    ["/webhooks/messagebird/sms/", "/webhooks/flowroute/sms/" + FLOWROUTE_WEBHOOK_TOKEN + "/"],
)
def test_a_body_over_the_limit_is_refused_before_it_is_parsed(
    client, settings, pairs, mb_proxy, path
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    body = b'{"payload": "' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + b'"}'
    before = _fresh_counts()
    response = _post_signed(client, path, "application/json", body)
    assert response.status_code == 413
    assert _counts() == before
