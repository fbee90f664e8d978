from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection

from providers.models import ProxyNumber

ROOT = Path(__file__).resolve().parent.parent
PROJECT_ENV_PREFIXES = (
    "DJANGO_",
    "DATABASE_",
    "MESSAGEBIRD_",
    "FLOWROUTE_",
    "TWILIO_",
    "BIRD_",
    "MASKED_NUMBERS_",
)


@pytest.mark.django_db
def test_healthz_answers_when_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_api_schema_and_docs_are_served_without_a_cdn(admin_client):
    schema = admin_client.get("/api/schema/")
    assert schema.status_code == 200
    docs = admin_client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "unpkg" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_api_schema_and_docs_are_for_staff_only(client, django_user_model, path):
    assert client.get(path).status_code in {401, 403}
    rider = django_user_model.objects.create_user("rider", password="rider-password-123")
    client.force_login(rider)
    assert client.get(path).status_code == 403
    staff = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    client.force_login(staff)
    assert client.get(path).status_code == 200


@pytest.mark.django_db
def test_seed_demo_is_idempotent():
    call_command("seed_demo")
    first = ProxyNumber.objects.count()
    call_command("seed_demo")
    assert ProxyNumber.objects.count() == first > 0


def settings_in_env(**env: str) -> dict:
    """The project settings as a fresh process reads them from this environment."""
    program = (
        "import json; from maskednumbers import settings as s; print(json.dumps({"
        "'debug': s.DEBUG, 'providers': s.MASKED_NUMBERS_PROVIDERS, 'tasks': s.TASKS,"
        "'database': s.DATABASES['default']['ENGINE'], 'hosts': s.ALLOWED_HOSTS,"
        "'database_options': s.DATABASES['default'].get('OPTIONS', {}),"
        "'public_url': s.MASKED_NUMBERS_PUBLIC_URL}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(PROJECT_ENV_PREFIXES)}
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed program
        [sys.executable, "-c", program],
        env={**clean, **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if result.returncode:
        return {"error": result.stderr.strip().splitlines()[-1]}
    return json.loads(result.stdout)


def test_a_laptop_without_configuration_gets_sqlite_debug_and_the_console_provider():
    conf = settings_in_env()

    assert conf["debug"] is True
    assert conf["database"] == "django.db.backends.sqlite3"
    assert list(conf["providers"]) == ["console"]
    assert conf["tasks"]["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"


def test_vendors_are_configured_only_when_their_credentials_are_set():
    conf = settings_in_env(
        MESSAGEBIRD_ACCESS_KEY="live_key",
        MESSAGEBIRD_SIGNING_KEY="signing",
        FLOWROUTE_ACCESS_KEY="only-half-of-the-credentials",
    )

    assert sorted(conf["providers"]) == ["console", "messagebird"]
    options = conf["providers"]["messagebird"]["OPTIONS"]
    assert options["api_url"] == "https://rest.messagebird.com"
    assert (options["access_key"], options["signing_key"]) == ("live_key", "signing")


def test_twilio_and_bird_are_configured_from_their_variables():
    conf = settings_in_env(
        TWILIO_ACCOUNT_SID="AC123",
        TWILIO_AUTH_TOKEN="token",
        BIRD_API_KEY="bk_eu1_key",
        BIRD_WEBHOOK_SECRET="whsec_c2VjcmV0",
        BIRD_SMS_CATEGORY="service",
        MASKED_NUMBERS_PUBLIC_URL="https://sms.example.com",
    )

    assert sorted(conf["providers"]) == ["bird", "console", "twilio"]
    twilio = conf["providers"]["twilio"]["OPTIONS"]
    assert (twilio["api_url"], twilio["public_url"]) == (
        "https://api.twilio.com",
        "https://sms.example.com",
    )
    bird = conf["providers"]["bird"]["OPTIONS"]
    assert (bird["api_url"], bird["sms_category"]) == ("", "service")


def test_twilio_needs_both_its_account_sid_and_auth_token():
    conf = settings_in_env(TWILIO_ACCOUNT_SID="AC123")

    assert list(conf["providers"]) == ["console"]


def test_production_environment_is_read_from_the_variables():
    conf = settings_in_env(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="s3cret-for-this-test",
        DJANGO_ALLOWED_HOSTS="sms.example.com, api.example.com",
        DATABASE_URL="postgres://app@db.example.com:5432/masked",
        MASKED_NUMBERS_PUBLIC_URL="https://sms.example.com/",
        FLOWROUTE_ACCESS_KEY="a",
        FLOWROUTE_SECRET_KEY="b",
        FLOWROUTE_WEBHOOK_TOKEN="t",
        FLOWROUTE_API_URL="https://api.flowroute.test/v2.1",
        DJANGO_TASKS_BACKEND="immediate",
    )

    assert conf["debug"] is False
    assert list(conf["providers"]) == ["flowroute"]
    assert conf["providers"]["flowroute"]["OPTIONS"]["api_url"] == "https://api.flowroute.test/v2.1"
    assert conf["database"] == "django.db.backends.postgresql"
    assert conf["hosts"] == ["sms.example.com", "api.example.com"]
    assert conf["public_url"] == "https://sms.example.com"
    assert conf["tasks"]["default"]["BACKEND"].endswith("ImmediateBackend")


def test_postgresql_prepares_repeated_statements_unless_a_pooler_forbids_it():
    url = "postgres://app@db.example.com:5432/masked"

    assert settings_in_env(DATABASE_URL=url)["database_options"] == {
        "server_side_binding": True,
        "prepare_threshold": 5,
    }
    # A pooler in transaction mode hands each transaction to another server session.
    assert (
        settings_in_env(DATABASE_URL=url, DATABASE_PREPARED_STATEMENTS="0")["database_options"]
        == {}
    )


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
def test_the_ride_lookup_of_every_text_is_prepared_on_the_server():
    from rides.selectors import ride_for_inbound
    from tests import factories

    ride = factories.ride(proxy=factories.proxy_number())
    for _ in range(6):
        route = ride_for_inbound(proxy=ride.proxy, sender=ride.driver.phone)
        assert route.ride_id == ride.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("rides_ride" in statement and "UNION ALL" in statement for statement in prepared)


def test_production_without_a_secret_key_refuses_to_start():
    assert "DJANGO_SECRET_KEY must be set" in settings_in_env(DJANGO_DEBUG="0")["error"]


def test_an_unknown_task_backend_refuses_to_start():
    assert "DJANGO_TASKS_BACKEND" in settings_in_env(DJANGO_TASKS_BACKEND="celery")["error"]


def test_healthz_is_503_when_the_database_does_not_answer(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
