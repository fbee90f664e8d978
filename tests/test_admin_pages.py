"""Every admin page opens: each changelist, add page and change page, as the demo
superuser on the demo data, so no page can crash unseen."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from conversations.services import conversation_sms_receive
from providers.consent import opt_out_record
from providers.events import event_emit
from providers.models import Message
from providers.receipts import message_status_record
from providers.tasks import deliver_message
from tests import factories
from tests.events import EVENTS_SECRET, EVENTS_URL

pytestmark = pytest.mark.django_db


def demo_objects_where_demo_data_has_none(settings) -> None:
    """The seed has numbers, people, a ride and its texts; the rest is made here."""
    call_command("seed_demo", stdout=StringIO())
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    deliver_message.enqueue(Message.objects.first().pk)
    Group.objects.create(name="Dispatch")
    Token.objects.create(user=admin_user())
    proxy = factories.conversations_number()
    starter = factories.conversations_person()
    factories.conversation(proxy=proxy, starter=starter)
    conversation_sms_receive(
        proxy=proxy, sender=factories.conversations_person(), text="JOIN ZZZZZZ"
    )
    opt_out_record(proxy=proxy, phone=factories.conversations_person(), keyword="STOP")
    outbound = Message.objects.filter(direction="out").first()
    message_status_record(message_id=outbound.pk, status="delivered", vendor_status="delivered")
    login_attempts_of_someone_locked_out()
    settings.MASKED_NUMBERS_EVENTS_URL, settings.MASKED_NUMBERS_EVENTS_SECRET = (
        EVENTS_URL,
        EVENTS_SECRET,
    )
    event_emit("pool.exhausted", {"service": "rides", "reason": "in_use"})


def login_attempts_of_someone_locked_out() -> None:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    seen = {"user_agent": "test", "ip_address": "127.0.0.1", "username": "mallory"}
    seen |= {"http_accept": "*/*", "path_info": "/admin/login/", "attempt_time": timezone.now()}
    AccessAttempt.objects.create(**seen, get_data="", post_data="", failures_since_start=5)
    AccessFailureLog.objects.create(**seen, locked_out=True)
    AccessLog.objects.create(**seen)


def admin_user():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="demo")


def admin_url(model: type[Model], page: str, *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{page}", args=args)


@pytest.fixture
def demo_client(client, settings):
    demo_objects_where_demo_data_has_none(settings)
    client.force_login(admin_user())
    return client


def registered() -> list[tuple[type[Model], admin.ModelAdmin]]:
    return list(admin.site._registry.items())


def test_every_admin_page_opens_for_the_demo_superuser(demo_client):
    failures = []
    for model, model_admin in registered():
        request_for_checks = type("R", (), {"user": admin_user(), "GET": {}, "POST": {}})()
        pages = [("changelist", admin_url(model, "changelist"), {200})]
        can_add = model_admin.has_add_permission(request_for_checks)
        pages.append(("add", admin_url(model, "add"), {200} if can_add else {403}))
        obj = model_admin.get_queryset(request_for_checks).first()
        if obj is None:
            failures.append(f"{model._meta.label}: no object to open its change page with")
        else:
            pages.append(("change", admin_url(model, "change", obj.pk), {200}))
        for page, url, expected in pages:
            status = demo_client.get(url).status_code
            if status not in expected:
                failures.append(f"{model._meta.label} {page} {url}: {status}")
    assert failures == []


def test_the_admin_index_opens_with_telephony_first(demo_client):
    page = demo_client.get(reverse("admin:index")).content.decode()
    sections = [page.index(f'class="app-{label} ') for label in ("providers", "rides", "auth")]
    assert sections == sorted(sections)


def test_the_add_number_page_opens_and_a_blank_service_is_an_error_not_a_crash(demo_client):
    url = admin_url(factories.ProxyNumber, "add")
    assert demo_client.get(url).status_code == 200

    response = demo_client.post(url, {"number": "+14155550109", "provider": "console"})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not factories.ProxyNumber.objects.filter(number="+14155550109").exists()
