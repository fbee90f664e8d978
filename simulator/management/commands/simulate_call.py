from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from providers.phone import mask
from providers.types import CallActionKind

from ...services import SimulatorRefused, simulated_call_place


class Command(BaseCommand):
    help = "Call a console number of the pool from a phone and print what the caller gets."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--sender", required=True, help="the phone that calls")
        parser.add_argument("--to", required=True, help="a console number of the pool")

    def handle(self, *args, **options) -> None:
        try:
            call = simulated_call_place(caller=options["sender"], recipient=options["to"])
        except SimulatorRefused as err:
            raise CommandError(str(err)) from err
        action = call.action
        head = f"Call to {call.proxy.number} ({call.proxy.service}):"
        if action.kind == CallActionKind.TRANSFER:
            self.stdout.write(
                f"{head} transferred to {mask(action.destination)}, "
                f"who sees the call from {call.proxy.number}"
            )
        else:
            self.stdout.write(f"{head} the caller hears {action.text!r}")
