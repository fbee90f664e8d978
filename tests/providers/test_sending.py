"""The exact requests each vendor receives when we send, and how its answers are read."""

from __future__ import annotations

import base64
import json

import pytest
import requests
from django.utils.module_loading import import_string

from providers.exceptions import PermanentSendError, TransientSendError
from providers.registry import get_provider
from tests.providers.vendors import (
    FLOWROUTE_MESSAGES_URL,
    MESSAGEBIRD_MESSAGES_URL,
    fixture_json,
    flowroute_accepts,
    messagebird_accepts,
)

both_vendors = pytest.mark.parametrize(
    ("alias", "url"),
    [("messagebird", MESSAGEBIRD_MESSAGES_URL), ("flowroute", FLOWROUTE_MESSAGES_URL)],
)

BODY = "Your driver is here ✓ & waiting"


def send(alias: str):
    return get_provider(alias).send_sms(sender="+14155550100", recipient="+14155550199", body=BODY)


def test_messagebird_receives_the_access_key_and_digits_only_numbers(mocked_responses):
    messagebird_accepts(mocked_responses)

    sent = send("messagebird")

    [call] = mocked_responses.calls
    assert call.request.method == "POST"
    assert call.request.url == MESSAGEBIRD_MESSAGES_URL
    assert call.request.headers["Authorization"] == "AccessKey test_messagebird_access_key"
    assert call.request.headers["Content-Type"].startswith("application/json")
    assert json.loads(call.request.body) == {
        "originator": "14155550100",
        "recipients": "14155550199",
        "body": BODY,
    }
    assert call.request.req_kwargs["timeout"] == 10.0
    assert sent.vendor_id == "cd5bd37a34fb4fd9b8f5e2a3c49d1b7e"


def test_messagebird_api_url_and_timeout_come_from_settings(mocked_responses, settings):
    options = settings.MASKED_NUMBERS_PROVIDERS["messagebird"]["OPTIONS"]
    settings.MASKED_NUMBERS_PROVIDERS = {
        "messagebird": {
            "BACKEND": "providers.backends.messagebird.MessageBirdProvider",
            "OPTIONS": {**options, "api_url": "https://eu.messagebird.test/", "timeout": 2.5},
        }
    }
    mocked_responses.post("https://eu.messagebird.test/messages", json={"id": "m1"}, status=201)

    assert send("messagebird").vendor_id == "m1"
    assert mocked_responses.calls[0].request.req_kwargs["timeout"] == 2.5


def test_flowroute_receives_basic_auth_and_a_json_api_body_with_11_digit_numbers(
    mocked_responses,
):
    flowroute_accepts(mocked_responses)

    sent = send("flowroute")

    [call] = mocked_responses.calls
    assert call.request.method == "POST"
    assert call.request.url == FLOWROUTE_MESSAGES_URL
    expected = base64.b64encode(b"test_flowroute_access:test_flowroute_secret").decode()
    assert call.request.headers["Authorization"] == f"Basic {expected}"
    assert call.request.headers["Content-Type"] == "application/vnd.api+json"
    assert json.loads(call.request.body) == {
        "data": {
            "type": "message",
            "attributes": {"to": "14155550199", "from": "14155550100", "body": BODY},
        }
    }
    assert call.request.req_kwargs["timeout"] == 10.0
    assert sent.vendor_id == "mdr2-ca82be46e6ba11e79d08862d092cf43f"


def test_messagebird_refusal_is_permanent_with_the_vendor_reason(mocked_responses):
    mocked_responses.post(
        MESSAGEBIRD_MESSAGES_URL, json=fixture_json("messagebird/sms_send_error.json"), status=422
    )

    with pytest.raises(PermanentSendError, match="10: recipients is invalid"):
        send("messagebird")


def test_flowroute_refusal_is_permanent_with_the_vendor_reason(mocked_responses):
    mocked_responses.post(
        FLOWROUTE_MESSAGES_URL, json=fixture_json("flowroute/sms_send_error.json"), status=403
    )

    with pytest.raises(PermanentSendError, match="not an SMS-enabled number"):
        send("flowroute")


@both_vendors
def test_a_4xx_without_an_error_list_is_permanent(mocked_responses, alias, url):
    mocked_responses.post(url, body="<html>Not Found</html>", status=404)

    with pytest.raises(PermanentSendError, match="HTTP 404"):
        send(alias)


def test_messagebird_accepting_without_a_message_id_is_not_taken_as_sent(mocked_responses):
    mocked_responses.post(MESSAGEBIRD_MESSAGES_URL, json={}, status=201)

    with pytest.raises(PermanentSendError, match="without a message id"):
        send("messagebird")


def test_flowroute_accepting_without_a_message_id_is_not_taken_as_sent(mocked_responses):
    mocked_responses.post(FLOWROUTE_MESSAGES_URL, json={"data": {}}, status=202)

    with pytest.raises(PermanentSendError, match="without a message id"):
        send("flowroute")


@both_vendors
def test_429_is_transient_and_carries_retry_after(mocked_responses, alias, url):
    mocked_responses.post(url, status=429, headers={"Retry-After": "42"}, json={"errors": []})

    with pytest.raises(TransientSendError) as caught:
        send(alias)

    assert caught.value.retry_after == 42.0


@both_vendors
@pytest.mark.parametrize(
    "failure", [requests.ConnectionError("refused"), requests.ReadTimeout("slow")]
)
def test_network_failures_are_transient(mocked_responses, alias, url, failure):
    mocked_responses.post(url, body=failure)

    with pytest.raises(TransientSendError, match="unreachable"):
        send(alias)


def test_flowroute_refuses_a_number_outside_north_america_without_calling(mocked_responses):
    with pytest.raises(PermanentSendError, match=r"\+31\*+78"):
        get_provider("flowroute").send_sms(
            sender="+14155550100", recipient="+31612345678", body=BODY
        )

    assert len(mocked_responses.calls) == 0


# --- The environment: read once, when the backend is made --------------------------------


def made_now(alias: str, settings):
    """A backend made from the settings now, under the environment as it is now (the
    registry keeps the one it made first)."""
    config = settings.MASKED_NUMBERS_PROVIDERS[alias]
    return import_string(config["BACKEND"])(alias=alias, **config.get("OPTIONS", {}))


def send_with(provider):
    return provider.send_sms(sender="+14155550100", recipient="+14155550199", body=BODY)


@both_vendors
def test_the_proxy_the_environment_names_carries_the_request(
    mocked_responses, settings, monkeypatch, alias, url
):
    monkeypatch.setenv("HTTPS_PROXY", "http://egress.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    provider = made_now(alias, settings)
    mocked_responses.post(url, json={"id": "m1", "data": {"id": "m1"}}, status=201)

    send_with(provider)

    assert mocked_responses.calls[0].request.req_kwargs["proxies"]["https"] == (
        "http://egress.internal:3128"
    )


@both_vendors
def test_no_proxy_for_the_vendor_host_sends_it_direct(
    mocked_responses, settings, monkeypatch, alias, url
):
    monkeypatch.setenv("HTTPS_PROXY", "http://egress.internal:3128")
    monkeypatch.setenv("NO_PROXY", ".test")
    provider = made_now(alias, settings)
    mocked_responses.post(url, json={"id": "m1", "data": {"id": "m1"}}, status=201)

    send_with(provider)

    assert "https" not in mocked_responses.calls[0].request.req_kwargs["proxies"]


@both_vendors
def test_a_ca_bundle_from_the_environment_verifies_the_vendor(
    mocked_responses, settings, monkeypatch, tmp_path, alias, url
):
    bundle = tmp_path / "corporate-ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    provider = made_now(alias, settings)
    mocked_responses.post(url, json={"id": "m1", "data": {"id": "m1"}}, status=201)

    send_with(provider)

    assert mocked_responses.calls[0].request.req_kwargs["verify"] == str(bundle)


@both_vendors
def test_a_netrc_entry_for_the_vendor_host_does_not_replace_the_credentials(
    mocked_responses, settings, monkeypatch, tmp_path, alias, url
):
    netrc = tmp_path / "netrc"
    host = url.split("/")[2]
    netrc.write_text(f"machine {host} login someone-else password not-ours\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    provider = made_now(alias, settings)
    mocked_responses.post(url, json={"id": "m1", "data": {"id": "m1"}}, status=201)

    send_with(provider)

    sent = mocked_responses.calls[0].request.headers["Authorization"]
    expected = {
        "messagebird": "AccessKey test_messagebird_access_key",
        "flowroute": "Basic "
        + base64.b64encode(b"test_flowroute_access:test_flowroute_secret").decode(),
    }
    assert sent == expected[alias]
