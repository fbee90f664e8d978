from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from providers.models import ProxyNumber

from ...demo import DEMO_NUMBERS

DEMO_USERNAME = "demo"


def password_file() -> Path:
    """Where the generated demo password waits to be shown (git-ignored)."""
    default = Path(settings.BASE_DIR) / ".demo-password"
    return Path(os.environ.get("MASKED_NUMBERS_DEMO_PASSWORD_FILE") or default)


class Command(BaseCommand):
    help = "Create the demo data (idempotent): console numbers, people, a ride, a staff login."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        for number, service, voice in DEMO_NUMBERS:
            ProxyNumber.objects.get_or_create(
                number=number,
                defaults={
                    "provider": "console",
                    "service": service,
                    "sms": True,
                    "voice": voice,
                    "country": "US",
                },
            )
        self._superuser()
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

    def _superuser(self) -> None:
        User = get_user_model()  # noqa: N806
        user = User.objects.filter(username=DEMO_USERNAME).first()
        wanted = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        if user is not None and not wanted:
            return
        password = wanted or secrets.token_urlsafe(12)
        if user is None:
            user = User.objects.create_superuser(DEMO_USERNAME, email="", password=password)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        path = password_file()
        if wanted:
            path.unlink(missing_ok=True)
        else:
            # Printed by `make run` (demo_login) until the password is changed; readable
            # by its owner only, before the password is in it.
            path.touch()
            path.chmod(0o600)
            path.write_text(password)
