"""Pre-signed webhook requests, the replay file and wrk's result line."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from messagebird.request_validator import RequestValidator

from bench.loadgen import SIGNING_KEY, Call, Sms, parse_wrk, request_line, write_requests
from bench.ride_create import percentile
from bench.scenario import Session, call_events, sms_events

BASE = "https://127.0.0.1:8123"


def test_signed_sms_verifies_with_messagebird_validator():
    sms = Sms(originator="+13122000001", recipient="+12065551000", text="hi", vendor_id="v1")
    method, path, signature, body = request_line(sms, base_url=BASE).split("\t")
    assert (method, path) == ("POST", "/webhook")
    claims = RequestValidator(SIGNING_KEY).validate_signature(signature, BASE + path, body.encode())
    assert claims["jti"]
    fields = {k: v[0] for k, v in parse_qs(body).items()}
    # MessageBird sends numbers without the +.
    assert fields == {
        "originator": "13122000001",
        "recipient": "12065551000",
        "payload": "hi",
        "id": "v1",
    }


def test_signed_call_carries_its_query_in_the_signed_url():
    call = Call(source="+13122000001", destination="+12065551000", call_id="c1")
    method, path, signature, body = request_line(call, base_url=BASE).split("\t")
    assert method == "GET" and body == ""
    RequestValidator(SIGNING_KEY).validate_signature(signature, BASE + path, b"")
    query = parse_qs(urlsplit(path).query)
    assert query["source"] == ["13122000001"] and query["callID"] == ["c1"]


def test_every_request_has_its_own_jti():
    sms = Sms(originator="+13122000001", recipient="+12065551000", text="hi", vendor_id="v")
    jtis = {
        jwt.decode(request_line(sms, base_url=BASE).split("\t")[2], SIGNING_KEY,
                   algorithms=["HS256"], options={"verify_signature": True})["jti"]
        for _ in range(50)
    }  # fmt: skip
    assert len(jtis) == 50


def test_replay_file_has_one_tab_separated_line_per_request(tmp_path):
    events = [
        Sms(originator="+13122000001", recipient="+12065551000", text="a\tb", vendor_id="1"),
        Call(source="+13122000001", destination="+12065551000", call_id="2"),
    ]
    prefix = write_requests(events, base_url=BASE, directory=tmp_path)
    lines = (tmp_path / f"{prefix.name}.0").read_text().splitlines()
    assert [len(line.split("\t")) for line in lines] == [4, 4]  # the tab is form-encoded


def test_parse_wrk_counts_non_200_answers_and_socket_errors_once():
    line = {
        "requests": 1000, "duration_us": 10_000_000, "non200": 3, "ran_out": 0,
        "connect": 1, "read": 2, "write": 0, "status": 3, "timeout": 1,
        "p50_us": 4000, "p90_us": 9000, "p99_us": 12500, "max_us": 30000, "mean_us": 5000.0,
    }  # fmt: skip
    result = parse_wrk("Running 10s test\n" + json.dumps(line) + "\n")
    assert result.rps == 100.0
    assert (result.p50_ms, result.p99_ms) == (4.0, 12.5)
    assert result.errors == 3 + 1 + 2 + 1
    assert result.ran_out is False


def test_parse_wrk_without_a_result_line_fails_loudly():
    with pytest.raises(RuntimeError, match="no result"):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_events_go_round_the_open_rides_with_customer_and_driver_taking_turns():
    sessions = [Session("+1c1", "+1d1", "+1p1"), Session("+1c2", "+1d2", "+1p2")]
    texts = list(sms_events(sessions, 6, tag="t"))
    assert [s.originator for s in texts] == ["+1c1", "+1c2", "+1d1", "+1d2", "+1c1", "+1c2"]
    assert [s.recipient for s in texts] == ["+1p1", "+1p2"] * 3
    assert len({s.vendor_id for s in texts}) == 6
    calls = list(call_events(sessions, 3, tag="t"))
    assert [c.source for c in calls] == ["+1c1", "+1c2", "+1d1"]


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0


def test_conversation_events_start_then_join_with_the_codes_then_relay_both_ways():
    from bench.conversations import joins, relays, starts

    started = list(starts(3, first=0))
    assert [s.text for s in started] == ["START"] * 3
    assert len({s.originator for s in started}) == 3  # newcomers, one START each
    joined = list(joins([("+12065561000", "ABC234"), ("+12065561001", "XYZ789")], first=0))
    assert [j.text for j in joined] == ["JOIN ABC234", "JOIN XYZ789"]
    assert {j.originator for j in joined}.isdisjoint({s.originator for s in started})
    texts = list(relays([("+12065561000", "+1s", "+1j")], 3))
    assert [t.originator for t in texts] == ["+1s", "+1j", "+1s"]


@pytest.mark.parametrize(
    "event",
    [
        Sms(originator="+13122000001", recipient="+12065551000", text="hi & bye", vendor_id="SM1"),
        Call(source="+13122000001", destination="+12065551000", call_id="CA1"),
    ],
    ids=["sms", "call"],
)
def test_twilio_lines_verify_with_twilio_s_validator_and_name_their_header(event):
    from twilio.request_validator import RequestValidator as TwilioValidator

    from bench.loadgen import TWILIO_AUTH_TOKEN, twilio_request_line

    method, path, signature, body = twilio_request_line(event, base_url=BASE).split("\t")
    header, _, value = signature.partition(":")
    fields = {k: v[0] for k, v in parse_qs(body).items()}
    assert (method, header) == ("POST", "X-Twilio-Signature")
    assert path.startswith("/webhooks/twilio/")
    assert TwilioValidator(TWILIO_AUTH_TOKEN).validate(BASE + path, fields, value)
