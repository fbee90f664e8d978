"""Whatever a caller posts, a webhook answers with a reason, never with a server error."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.signing import flowroute_callback_path, messagebird_headers

pytestmark = pytest.mark.django_db

ANSWERS = {200, 400, 403, 413}
fuzz = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

phone_like = st.from_regex(r"\A\+?[0-9 ()-]{0,18}\Z")
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    phone_like,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def fields(*names: str):
    return st.dictionaries(st.sampled_from(names), values, max_size=len(names))


flowroute_bodies = st.one_of(
    fields("from", "to", "body", "id"),
    st.builds(
        lambda attributes, vendor_id: {"data": {"id": vendor_id, "attributes": attributes}},
        st.one_of(fields("from", "to", "body"), values),
        values,
    ),
    st.builds(lambda data: {"data": data}, values),
    values,
)


@fuzz
@given(body=flowroute_bodies)
def test_flowroute_callback_never_errors_on_any_json(client, fr_proxy, body):
    response = client.post(
        flowroute_callback_path(), json.dumps(body), content_type="application/json"
    )

    assert response.status_code in ANSWERS


@fuzz
@given(
    body=st.binary(max_size=300), content_type=st.sampled_from(["application/json", "text/plain"])
)
def test_flowroute_callback_never_errors_on_any_bytes(client, fr_proxy, body, content_type):
    response = client.generic("POST", flowroute_callback_path(), body, content_type=content_type)

    assert response.status_code in ANSWERS


@fuzz
@given(
    data=fields("originator", "recipient", "payload", "body", "id"),
    as_json=st.booleans(),
)
def test_signed_messagebird_sms_never_errors_on_any_fields(client, mb_proxy, data, as_json):
    path = "/webhooks/messagebird/sms/"
    if as_json:
        body, content_type = json.dumps(data).encode(), "application/json"
    else:
        form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
        body = urlencode(form).encode()
        content_type = "application/x-www-form-urlencoded"
    headers = messagebird_headers(url=f"http://testserver{path}", body=body)

    response = client.generic("POST", path, body, content_type=content_type, **headers)

    assert response.status_code in ANSWERS


@fuzz
@given(source=st.text(max_size=20), destination=phone_like)
def test_signed_messagebird_call_never_errors_on_any_query(client, mb_proxy, source, destination):
    url = "/webhooks/messagebird/voice/?" + urlencode(
        {"source": source, "destination": destination}
    )

    response = client.get(url, **messagebird_headers(url=f"http://testserver{url}"))

    assert response.status_code in ANSWERS
