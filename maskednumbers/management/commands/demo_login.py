from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand

from .seed_demo import DEMO_USERNAME, PASSWORD_FILE


class Command(BaseCommand):
    help = "Print the demo staff login created by seed_demo."

    def handle(self, *args, **options) -> None:
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        if not password and Path(PASSWORD_FILE).exists():
            password = Path(PASSWORD_FILE).read_text().strip()
        shown = password or "(the password you set in DJANGO_SUPERUSER_PASSWORD)"
        self.stdout.write(f"    Login:      {DEMO_USERNAME} / {shown}")
