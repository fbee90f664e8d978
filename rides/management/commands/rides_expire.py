from __future__ import annotations

from django.core.management.base import BaseCommand

from rides.services import rides_expire


class Command(BaseCommand):
    help = (
        "Mark rides whose masking window has passed as expired. Routing never needs it "
        "(it checks the time); it keeps the open-ride indexes small. Run it periodically."
    )

    def handle(self, *args, **options) -> None:
        expired = rides_expire()
        self.stdout.write(f"{expired} ride(s) expired.")
