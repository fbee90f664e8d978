from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from .seed_demo import DEMO_USERNAME, password_file


class Command(BaseCommand):
    help = "Print the demo staff login created by seed_demo."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"    Login:      {self._login()}")

    def _login(self) -> str:
        user = get_user_model().objects.filter(username=DEMO_USERNAME, is_active=True).first()
        if user is None:
            return "none yet: run `python manage.py seed_demo`"
        if os.environ.get("DJANGO_SUPERUSER_PASSWORD"):
            return f"{DEMO_USERNAME} / the password in DJANGO_SUPERUSER_PASSWORD"
        path = password_file()
        password = path.read_text().strip() if path.exists() else ""
        # Only a password that still works is shown: once changed, the file is stale.
        if password and user.check_password(password):
            return f"{DEMO_USERNAME} / {password}"
        return (
            f"{DEMO_USERNAME} (password changed; to reset it: "
            f"python manage.py changepassword {DEMO_USERNAME})"
        )
