from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from providers.phone import mask

from ...services import SimulatorRefused, simulated_sms_send


class Command(BaseCommand):
    help = (
        "Text a console number of the pool as if a phone had (the vendor webhook's path), "
        "and print what the service did."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--sender", required=True, help="the phone the text comes from")
        parser.add_argument("--to", required=True, help="a console number of the pool")
        parser.add_argument("text", nargs="+", help="the message")

    def handle(self, *args, **options) -> None:
        try:
            sent = simulated_sms_send(
                sender=options["sender"], recipient=options["to"], text=" ".join(options["text"])
            )
        except SimulatorRefused as err:
            raise CommandError(str(err)) from err
        inbound = sent.inbound
        session = f" [{inbound.session}]" if inbound.session else ""
        self.stdout.write(
            f"SMS from {mask(inbound.sender)} to {inbound.recipient} "
            f"({sent.proxy.service}): {inbound.outcome or 'no outcome'}{session}"
        )
        if not sent.replies:
            self.stdout.write("  nothing to send")
        for reply in sent.replies:
            self.stdout.write(
                f"  queued from {reply.sender} to {mask(reply.recipient)}: {reply.body!r}"
            )
