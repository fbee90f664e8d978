"""The stub vendor answers what MessageBird's SDK expects; loopback only."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest

from bench.procs import free_port
from bench.stub_vendor import StubServer, StubState, make_handler
from providers.backends.messagebird import MessageBirdProvider


@pytest.fixture
def stub():
    state = StubState(delay=0.0)
    server = StubServer(("127.0.0.1", free_port()), make_handler(state))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_messagebird_backend_sends_through_the_stub(stub):
    url, state = stub
    provider = MessageBirdProvider(alias="messagebird", access_key="k", api_url=url, timeout=5)
    sent = provider.send_sms(sender="+12065551000", recipient="+13122000001", body="hello")
    assert sent.vendor_id.startswith("bench")
    assert state.accepted == 1


def test_stats_count_accepted_messages(stub):
    url, _ = stub
    provider = MessageBirdProvider(alias="messagebird", access_key="k", api_url=url, timeout=5)
    for _ in range(3):
        provider.send_sms(sender="+12065551000", recipient="+13122000001", body="x")
    with urllib.request.urlopen(f"{url}/stats", timeout=5) as response:  # noqa: S310
        assert json.loads(response.read())["accepted"] == 3


def test_twilio_backend_sends_through_the_stub(stub):
    from providers.backends.twilio import TwilioProvider

    url, state = stub
    provider = TwilioProvider(alias="twilio", account_sid="ACb", auth_token="t", api_url=url)
    sent = provider.send_sms(sender="+12065551000", recipient="+13122000001", body="hello")
    assert sent.vendor_id.startswith("SMbench")
    assert state.accepted == 1
