"""The phone simulator: demo phones texting and calling console numbers.

Everything goes through the inbound path a vendor webhook takes (the console
provider), so what the simulator shows is what the services really did. A phone's
thread is read from the message log: what it sent (inbound, it is the sender) and
what it received (outbound, it is the recipient). The other side of every entry is
a pool number, never the other party's own number.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db.models import Q
from django.utils.module_loading import import_string

from providers.backends import console
from providers.backends.console import ConsoleProvider
from providers.exceptions import InvalidPhoneNumber
from providers.inbound import inbound_call_receive, inbound_sms_receive
from providers.models import Direction, Kind, Message, ProxyNumber
from providers.phone import to_e164
from providers.types import CallAction, CallActionKind
from rides.models import Customer, Driver

from .demo import ANONYMOUS_PHONES

MAX_TEXT_LENGTH = 1600  # ten SMS segments: more is a mistake, not a message
THREAD_LIMIT = 300
PEOPLE_LIMIT = 20  # per role: a demo, not a directory


class SimulatorRefused(ValueError):
    """The simulator will not send this (answered 400 with the reason)."""


@dataclass(frozen=True)
class Phone:
    number: str
    name: str
    role: str  # customer, driver, anonymous, other

    @property
    def label(self) -> str:
        return f"{self.name} ({self.role})" if self.role != "other" else self.name


@dataclass(frozen=True)
class SimulatedSms:
    proxy: ProxyNumber
    inbound: Message
    replies: list[Message]


@dataclass(frozen=True)
class SimulatedCall:
    proxy: ProxyNumber
    action: CallAction


@cache
def _is_console_backend(path: str) -> bool:
    return issubclass(import_string(path), ConsoleProvider)


def console_aliases() -> list[str]:
    """Provider aliases backed by the console provider (nothing leaves the machine)."""
    return [
        alias
        for alias, config in settings.MASKED_NUMBERS_PROVIDERS.items()
        if _is_console_backend(config["BACKEND"])
    ]


def simulator_enabled() -> bool:
    return bool(console_aliases())


def simulator_proxies() -> list[ProxyNumber]:
    """The pool numbers the simulator may text: active numbers of a console provider.

    Numbers of a real vendor are left out: a reply to them would go out through that
    vendor's API.
    """
    return list(ProxyNumber.objects.filter(active=True, provider__in=console_aliases()))


def simulator_phones(*, extra: list[str] | tuple[str, ...] = ()) -> list[Phone]:
    """Customers and drivers, then the anonymous demo phones, then `extra` numbers.

    A number is listed once, in its first role: someone who both rides and drives is
    one phone.
    """
    people = [
        Phone(person.phone, person.name, role)
        for model, role in ((Customer, "customer"), (Driver, "driver"))
        for person in model.objects.order_by("name", "id")[:PEOPLE_LIMIT]
    ]
    people += [Phone(number, name, "anonymous") for name, number in ANONYMOUS_PHONES]
    people += [Phone(number, number, "other") for number in extra]
    phones: dict[str, Phone] = {}
    for phone in people:
        phones.setdefault(phone.number, phone)
    return list(phones.values())


def phone_number_parse(raw: object) -> str:
    """A typed number in E.164, or InvalidPhoneNumber with the reason."""
    return to_e164(raw)


def _console_proxy(number: object, *, call: bool = False) -> ProxyNumber:
    if not simulator_enabled():
        raise SimulatorRefused("the console provider is not configured (DEBUG off?)")
    try:
        e164 = to_e164(number)
    except InvalidPhoneNumber as err:
        raise SimulatorRefused(f"to: {err}") from err
    proxy = ProxyNumber.objects.filter(number=e164, active=True).first()
    if proxy is None:
        raise SimulatorRefused(f"to: {e164} is not an active number of the pool")
    if proxy.provider not in console_aliases():
        raise SimulatorRefused(
            f"to: {e164} belongs to provider {proxy.provider!r}; the simulator only "
            "uses console numbers, so nothing reaches a real vendor"
        )
    if call and not proxy.voice:
        raise SimulatorRefused(f"to: {e164} takes no calls (SMS only)")
    if not call and not proxy.sms:
        raise SimulatorRefused(f"to: {e164} takes no SMS")
    return proxy


def _sender(raw: object, field: str) -> str:
    try:
        return to_e164(raw)
    except InvalidPhoneNumber as err:
        raise SimulatorRefused(f"{field}: {err}") from err


def simulated_sms_send(*, sender: object, recipient: object, text: object) -> SimulatedSms:
    """Text a console number from a phone, as if the vendor had posted the webhook."""
    phone = _sender(sender, "from")
    proxy = _console_proxy(recipient)
    if not isinstance(text, str) or not text.strip():
        raise SimulatorRefused("text: type a message")
    if len(text) > MAX_TEXT_LENGTH:
        raise SimulatorRefused(f"text: longer than {MAX_TEXT_LENGTH} characters")
    if phone == proxy.number:
        raise SimulatorRefused("from: a pool number cannot text itself")
    result = inbound_sms_receive(
        inbound=console.inbound_sms(
            sender=phone, recipient=proxy.number, text=text, provider=proxy.provider
        )
    )
    replies = list(result.message.replies.order_by("id"))
    return SimulatedSms(proxy=proxy, inbound=result.message, replies=replies)


def simulated_call_place(*, caller: object, recipient: object) -> SimulatedCall:
    """Call a console number from a phone; returns what the vendor would be told to do."""
    phone = _sender(caller, "from")
    proxy = _console_proxy(recipient, call=True)
    if phone == proxy.number:
        raise SimulatorRefused("from: a pool number cannot call itself")
    action = inbound_call_receive(
        inbound=console.inbound_call(caller=phone, recipient=proxy.number, provider=proxy.provider)
    )
    return SimulatedCall(proxy=proxy, action=action)


def _entry(message: Message, phone: str) -> dict:
    mine = message.direction == Direction.INBOUND
    entry = {
        "id": message.pk,
        "kind": message.kind,
        "mine": mine,
        # The other side of the exchange: always the number the phone talks to.
        "with": message.recipient if mine else message.sender,
        "service": message.proxy.service if message.proxy else "",
        "body": message.body,
        "status": message.status,
        "at": message.created_at.isoformat(),
    }
    if message.kind == Kind.CALL and not message.body:
        entry["body"] = "Call connected to the other party"
    return entry


def phone_threads(*, phones: list[str], limit: int = THREAD_LIMIT) -> dict[str, list[dict]]:
    """The recent thread of each phone, oldest first: one query for all of them."""
    threads: dict[str, list[dict]] = {phone: [] for phone in phones}
    if not phones:
        return threads
    rows = (
        Message.objects.filter(
            Q(direction=Direction.INBOUND, sender__in=phones)
            | Q(direction=Direction.OUTBOUND, recipient__in=phones)
        )
        .select_related("proxy")
        .order_by("-id")[:limit]
    )
    for message in reversed(rows):
        phone = message.sender if message.direction == Direction.INBOUND else message.recipient
        threads[phone].append(_entry(message, phone))
    return threads


def call_summary(call: SimulatedCall, *, phones: list[Phone]) -> dict:
    """What a call did, for staff: who it reaches and which number the callee sees."""
    action = call.action
    summary = {
        "action": str(action.kind),
        "proxy": call.proxy.number,
        "text": action.text,
        "destination": "",
        "destination_name": "",
    }
    if action.kind == CallActionKind.TRANSFER:
        names = {phone.number: phone.label for phone in phones}
        summary["destination"] = action.destination
        summary["destination_name"] = names.get(action.destination, "")
    return summary
