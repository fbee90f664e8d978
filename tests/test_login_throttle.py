"""Admin login is throttled by username and address (django-axes)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "staff-password-123"


def log_in(client, password: str, *, address: str = "203.0.113.7"):
    return client.post(LOGIN, {"username": "staff", "password": password}, REMOTE_ADDR=address)


def logged_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def fail_until_locked(client) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "wrong-password").status_code == 200  # the form again
    # The failure that reaches the limit is answered with the lockout already.
    assert log_in(client, "wrong-password").status_code == 429


def test_the_defaults_are_five_failures_and_fifteen_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60


def test_after_the_failure_limit_the_right_password_is_refused(client, staff_user):
    fail_until_locked(client)

    response = log_in(client, PASSWORD)

    assert response.status_code == 429
    assert "locked" in response.content.decode().lower()
    assert not logged_in(client)


def test_fewer_failures_than_the_limit_do_not_lock(client, staff_user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "wrong-password")

    assert log_in(client, PASSWORD).status_code == 302
    assert logged_in(client)


def test_the_lock_is_per_username_and_address(client, staff_user):
    fail_until_locked(client)

    assert log_in(client, PASSWORD, address="198.51.100.20").status_code == 302


def test_a_superuser_unlocks_with_axes_reset_username(client, staff_user):
    fail_until_locked(client)
    assert log_in(client, PASSWORD).status_code == 429

    call_command("axes_reset_username", "staff")

    assert log_in(client, PASSWORD).status_code == 302
    assert logged_in(client)


def test_a_superuser_unlocks_in_the_admin(client, staff_user, django_user_model):
    fail_until_locked(client)
    admin = django_user_model.objects.create_superuser("root", "", "root-password-123")
    other = type(client)()
    other.force_login(admin)
    attempts = other.get("/admin/axes/accessattempt/")
    assert attempts.status_code == 200 and "staff" in attempts.content.decode()
    from axes.models import AccessAttempt

    [attempt] = AccessAttempt.objects.filter(username="staff")
    other.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})

    assert log_in(client, PASSWORD).status_code == 302
