"""Staff pages of the telephony layer, through the Django test client."""

from __future__ import annotations

import re

import pytest

from providers.models import Direction, Message, ProxyNumber, Status
from tests.factories import proxy_number
from tests.providers.logs import outbound_row
from tests.providers.vendors import messagebird_accepts

pytestmark = pytest.mark.django_db

NUMBERS = "/admin/providers/proxynumber/"
MESSAGES = "/admin/providers/message/"


def log_inbound(proxy: ProxyNumber, sender: str, vendor_id: str) -> Message:
    return Message.objects.create(
        direction=Direction.INBOUND,
        provider=proxy.provider,
        vendor_id=vendor_id,
        proxy=proxy,
        sender=sender,
        recipient=proxy.number,
        body="hello",
        status=Status.RECEIVED,
    )


def failed_outbound(proxy: ProxyNumber) -> Message:
    return outbound_row(
        proxy, status=Status.FAILED, attempts=8, last_error="MessageBird answered HTTP 503"
    )


def open_sessions_column(html: str) -> dict[str, str]:
    rows = re.findall(r"<tr>.*?</tr>", html, flags=re.S)
    cells = {}
    for row in rows:
        number = re.search(r"\+1\d{10}", row)
        count = re.search(r'<td class="field-open_sessions">(\d+)</td>', row)
        if number and count:
            cells[number.group()] = count.group(1)
    return cells


def test_number_list_shows_open_sessions_per_number(admin_client):
    busy = proxy_number(number="+14155550100")
    idle = proxy_number(number="+14155550101")
    log_inbound(busy, "+14155550198", "a")
    log_inbound(busy, "+14155550199", "b")

    response = admin_client.get(NUMBERS)

    assert response.status_code == 200
    assert open_sessions_column(response.content.decode()) == {
        busy.number: "2",
        idle.number: "0",
    }


def test_number_page_shows_its_open_sessions(admin_client):
    proxy = proxy_number(number="+14155550100")
    log_inbound(proxy, "+14155550198", "a")

    response = admin_client.get(f"{NUMBERS}{proxy.pk}/change/")

    assert response.status_code == 200
    assert re.search(
        r"Open sessions:.*?<div class=\"readonly\">1</div>", response.content.decode(), re.S
    )


def test_retiring_a_number_keeps_its_history(admin_client):
    proxy = proxy_number(number="+14155550100")
    kept = proxy_number(number="+14155550101")
    log_inbound(proxy, "+14155550198", "a")

    response = admin_client.post(
        NUMBERS, {"action": "retire", "_selected_action": [proxy.pk]}, follow=True
    )

    assert response.status_code == 200
    assert "1 number(s) retired." in response.content.decode()
    proxy.refresh_from_db()
    kept.refresh_from_db()
    assert (proxy.active, kept.active) == (False, True)
    assert proxy.retired_at is not None
    assert Message.objects.filter(proxy=proxy).count() == 1


def test_retiring_an_already_retired_number_does_not_move_its_date(admin_client):
    proxy = proxy_number(number="+14155550100")
    admin_client.post(NUMBERS, {"action": "retire", "_selected_action": [proxy.pk]})
    proxy.refresh_from_db()
    first = proxy.retired_at

    response = admin_client.post(
        NUMBERS, {"action": "retire", "_selected_action": [proxy.pk]}, follow=True
    )

    proxy.refresh_from_db()
    assert proxy.retired_at == first
    assert "0 number(s) retired." in response.content.decode()


def test_staff_resend_a_failed_message_and_it_is_delivered(
    admin_client, mocked_responses, django_capture_on_commit_callbacks
):
    proxy = proxy_number(number="+14155550100", provider="messagebird")
    message = failed_outbound(proxy)
    messagebird_accepts(mocked_responses)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            MESSAGES,
            {"action": "resend", "_selected_action": [message.pk], "post": "yes"},
            follow=True,
        )

    assert "1 message(s) queued again." in response.content.decode()
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (Status.SENT, 1, "")
    assert len(mocked_responses.calls) == 1


def test_resend_skips_messages_that_did_not_fail(admin_client, django_capture_on_commit_callbacks):
    proxy = proxy_number(number="+14155550100")
    inbound = log_inbound(proxy, "+14155550198", "a")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            MESSAGES,
            {"action": "resend", "_selected_action": [inbound.pk], "post": "yes"},
            follow=True,
        )

    assert "1 message(s) skipped" in response.content.decode()
    inbound.refresh_from_db()
    assert inbound.status == Status.RECEIVED


def test_message_list_masks_peoples_numbers_and_shows_pool_numbers_in_full(masked_client):
    proxy = proxy_number(number="+14155550100")
    failed_outbound(proxy)

    response = masked_client.get(MESSAGES, {"status__exact": "failed"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "+14155550199" not in html
    assert "+14*******99" in html
    assert '<td class="field-shown_from">+14155550100</td>' in html


def test_message_list_shows_full_numbers_to_staff_with_the_permission(admin_client):
    failed_outbound(proxy_number(number="+14155550100"))

    html = admin_client.get(MESSAGES).content.decode()

    assert '<td class="field-shown_to">+14155550199</td>' in html


def test_message_page_hides_the_text_and_number_without_the_permission(masked_client):
    message = failed_outbound(proxy_number(number="+14155550100"))

    html = masked_client.get(f"{MESSAGES}{message.pk}/change/").content.decode()

    assert "your ride is here" not in html and "(text hidden)" in html
    assert "+14155550199" not in html and "+14*******99" in html
    assert 'name="_save"' not in html


def test_message_page_shows_text_and_numbers_with_the_permission(admin_client):
    message = failed_outbound(proxy_number(number="+14155550100"))

    html = admin_client.get(f"{MESSAGES}{message.pk}/change/").content.decode()

    assert "your ride is here" in html and "+14155550199" in html
    assert 'name="_save"' not in html


def test_messages_are_filtered_by_session_and_by_pool_number(admin_client):
    ride_number, other_number = proxy_number(), proxy_number()
    ride_text = outbound_row(ride_number, session="ride:7", body="for ride 7")
    other_text = outbound_row(other_number, session="ride:8", body="for ride 8")

    by_session = admin_client.get(MESSAGES, {"session": "ride:7"}).content.decode()
    by_number = admin_client.get(MESSAGES, {"proxy__id__exact": other_number.pk}).content.decode()

    assert f"{MESSAGES}{ride_text.pk}/change/" in by_session
    assert f"{MESSAGES}{other_text.pk}/change/" not in by_session
    assert f"{MESSAGES}{other_text.pk}/change/" in by_number
    assert f"{MESSAGES}{ride_text.pk}/change/" not in by_number


def test_resend_asks_for_confirmation_before_texting_anyone(admin_client):
    message = failed_outbound(proxy_number(number="+14155550100"))

    response = admin_client.post(MESSAGES, {"action": "resend", "_selected_action": [message.pk]})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Send these messages again?" in html and 'name="post" value="yes"' in html
    message.refresh_from_db()
    assert message.status == Status.FAILED


def test_the_log_cannot_be_edited_or_deleted_by_staff(admin_client):
    message = failed_outbound(proxy_number(number="+14155550100"))

    assert admin_client.get(f"{MESSAGES}add/").status_code == 403
    assert admin_client.post(f"{MESSAGES}{message.pk}/delete/").status_code == 403


def add_number(admin_client, **fields):
    form = {"number": "(415) 555-0123", "provider": "messagebird", "service": "rides"}
    form.update({"sms": "on", "voice": "on", "active": "on", **fields})
    return admin_client.post(f"{NUMBERS}add/", {k: v for k, v in form.items() if v is not None})


def test_staff_add_a_number_typed_any_way_and_it_is_stored_in_e164(admin_client):
    response = add_number(admin_client)

    assert response.status_code == 302
    proxy = ProxyNumber.objects.get()
    assert (proxy.number, proxy.country, proxy.voice) == ("+14155550123", "US", True)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"number": "call me maybe"}, "is not a valid phone number"),
        ({"number": "+1 415 555 0100"}, "+14155550100 is already in the pool"),
        ({"provider": "plivo"}, "plivo is not one of the available choices"),
        ({"provider": "flowroute"}, "flowroute numbers cannot take calls here"),
        (
            {"provider": "flowroute", "voice": None, "number": "+447700900001"},
            "flowroute cannot serve +447700900001",
        ),
    ],
)
def test_admin_refuses_a_number_the_pool_cannot_use(admin_client, fields, reason):
    proxy_number(number="+14155550100")

    response = add_number(admin_client, **fields)

    assert response.status_code == 200
    assert reason in response.content.decode()
    assert ProxyNumber.objects.count() == 1


def test_editing_a_number_does_not_count_it_as_its_own_duplicate(admin_client):
    proxy = proxy_number(number="+14155550100", provider="messagebird")

    response = admin_client.post(
        f"{NUMBERS}{proxy.pk}/change/",
        {
            "number": "+14155550100",
            "provider": "messagebird",
            "service": "conversations",
            "sms": "on",
            "active": "on",
            "country": "US",
        },
    )

    assert response.status_code == 302
    proxy.refresh_from_db()
    assert (proxy.service, proxy.voice) == ("conversations", False)


def test_message_page_shows_delivery_and_its_history_of_receipts(admin_client):
    from providers.inbound import receipt_receive
    from providers.types import DeliveryReceipt

    message = outbound_row(proxy_number(provider="twilio"), status=Status.SENT, vendor_id="SM1")
    reports = [("undelivered", "30003", "unreachable destination handset"), ("sent", "", "")]
    for status, code, description in reports:
        receipt = DeliveryReceipt(
            provider="twilio",
            status=status,
            vendor_status=status,
            vendor_id="SM1",
            error_code=code,
            error_description=description,
        )
        receipt_receive(receipt=receipt)

    html = admin_client.get(f"{MESSAGES}{message.pk}/change/").content.decode()
    listing = admin_client.get(MESSAGES).content.decode()

    assert "Delivery history" in html
    assert html.count('<td class="field-status">') == 2  # one row per receipt
    assert "30003" in html and "unreachable destination handset" in html
    assert "30003: unreachable destination handset" in listing
