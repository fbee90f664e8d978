"""Inbound events: each is logged, routed and what it sends queued, in one transaction.

The vendor backend has verified and parsed the request into an event (`InboundSms`,
`InboundCall`). `inbound_receive` looks up the handler for the event's type in
`HANDLERS`: the handler asks the number's router and returns the event's log row and
what to send. The log row is then the transaction's first write of its own: a vendor
id seen before (a redelivery) is acknowledged and a signature id seen before (a
replay) refused, with everything the router wrote rolled back. A new kind of event (an
opt-out keyword) is a handler here; a delivery receipt is received beside them
(`receipt_receive`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from .consent import (
    Consent,
    consent_keyword,
    help_keyword,
    is_opted_out,
    opt_in_record,
    opt_out_record,
)
from .events import event_emit, event_number, events_enabled, message_event_data
from .exceptions import WebhookValidationError
from .loops import relay_limit
from .models import Direction, Kind, Message, ProxyNumber, Status
from .outbox import message_queue
from .phone import mask, redact
from .pool import active_proxy
from .receipts import message_status_record
from .registry import get_router
from .replies import system_reply_queue
from .routing import BaseRouter
from .selectors import message_for_receipt
from .types import (
    CallAction,
    CallActionKind,
    DeliveryReceipt,
    InboundCall,
    InboundSms,
    OutboundSms,
)

logger = logging.getLogger(__name__)

UNKNOWN_NUMBER_SAY = "Sorry, this number is not in service."
OPTED_OUT_CALL_SAY = "Sorry, this call cannot be connected."
# The outcome of the notice that a party's texts are not delivered (once per session).
OPTED_OUT_NOTICE = "recipient_opted_out"
# The outcome routers give a text passed on to the other party.
RELAYED = "relayed"

InboundEvent = InboundSms | InboundCall


@dataclass(frozen=True)
class InboundResult:
    """The event's log row (the first one, for a redelivery), and a call's answer."""

    message: Message
    duplicate: bool = False
    action: CallAction | None = None


@dataclass
class Handled:
    """What a handler decided: the event's log row (not yet written), the texts to
    send from its number in reply, and the answer a call gets."""

    log: Message
    send: Sequence[OutboundSms] = ()
    action: CallAction | None = None
    # An opt-out's confirmation: the one text sent to a person who has opted out.
    confirmation: OutboundSms | None = None


def _inbound_row(event: InboundEvent, proxy: ProxyNumber | None, **fields: Any) -> Message:
    return Message(
        direction=Direction.INBOUND,
        provider=event.provider,
        vendor_id=event.vendor_id,
        proxy=proxy,
        recipient=event.recipient,
        nonce=event.nonce[:255],
        **fields,
    )


def sms_handle(event: InboundSms) -> Handled:
    """A text: the number's router decides what it sends, and to whom."""
    proxy = active_proxy(event.recipient)
    log = _inbound_row(event, proxy, kind=Kind.SMS, sender=event.sender, body=event.text)
    if proxy is None or not proxy.sms:
        log.status = Status.UNROUTED
        log.outcome = "not_in_pool" if proxy is None else "sms_off"
        return Handled(log=log)
    router = get_router(proxy.service)
    consent = consent_keyword(event.text)
    if consent is Consent.OPT_OUT:
        return _opt_out(event, proxy, router, log)
    if consent is Consent.OPT_IN and opt_in_record(proxy=proxy, phone=event.sender):
        decision = router.route_opt_in(proxy=proxy, sender=event.sender, text=event.text)
        log.status, log.session, log.outcome = Status.RECEIVED, decision.session, "opted_in"
        confirmed = OutboundSms(event.sender, settings.MASKED_NUMBERS_OPT_IN_CONFIRMATION)
        return Handled(log=log, send=(confirmed, *decision.messages))
    route = router.route_help if help_keyword(event.text) else router.route_sms
    decision = route(proxy=proxy, sender=event.sender, text=event.text)
    decision = relay_limit(decision=decision, sender=event.sender, text=event.text)
    log.status, log.session, log.outcome = Status.RECEIVED, decision.session, decision.outcome
    return Handled(log=log, send=decision.messages)


def _opt_out(event: InboundSms, proxy: ProxyNumber, router: BaseRouter, log: Message) -> Handled:
    """An opt-out keyword: recorded, never relayed, confirmed once. What the router
    texts the sender is put before the confirmation, in the same text."""
    first = opt_out_record(proxy=proxy, phone=event.sender, keyword=event.text)
    decision = router.route_opt_out(proxy=proxy, sender=event.sender)
    log.status, log.session = Status.RECEIVED, decision.session
    log.outcome = "opted_out" if first else "opted_out_again"
    others = tuple(m for m in decision.messages if m.recipient != event.sender)
    if not first:
        return Handled(log=log, send=others)
    said = [m.body for m in decision.messages if m.recipient == event.sender]
    body = " ".join([*said, settings.MASKED_NUMBERS_OPT_OUT_CONFIRMATION])
    return Handled(log=log, send=others, confirmation=OutboundSms(event.sender, body))


def call_handle(event: InboundCall) -> Handled:
    """A call: the number's router decides whom it is transferred to, or what it hears."""
    proxy = active_proxy(event.recipient)
    if proxy is None or not proxy.voice:
        action, session = CallAction.say(UNKNOWN_NUMBER_SAY), ""
        outcome, status = ("not_in_pool" if proxy is None else "voice_off"), Status.UNROUTED
    else:
        decision = get_router(proxy.service).route_call(proxy=proxy, caller=event.caller)
        action, session, outcome = decision.action, decision.session, decision.outcome
        status = Status.ANSWERED
        if (
            settings.MASKED_NUMBERS_OPT_OUT_BLOCKS_CALLS
            and action.kind == CallActionKind.TRANSFER
            and is_opted_out(proxy=proxy, phone=action.destination)
        ):
            action, outcome = CallAction.say(OPTED_OUT_CALL_SAY), OPTED_OUT_NOTICE
    transfer = action.kind == CallActionKind.TRANSFER
    log = _inbound_row(
        event,
        proxy,
        kind=Kind.CALL,
        sender=event.caller,
        body="" if transfer else action.text,
        status=Status.TRANSFERRED if transfer else status,
        session=session,
        outcome=outcome,
    )
    return Handled(log=log, action=action)


HANDLERS: dict[type, Callable[[Any], Handled]] = {
    InboundSms: sms_handle,
    InboundCall: call_handle,
}


def inbound_receive(*, event: InboundEvent) -> InboundResult:
    """Log one inbound event, let its number's router decide, queue what it sends: all
    of it in one transaction, or none. A replay raises WebhookValidationError."""
    handle = HANDLERS[type(event)]
    with transaction.atomic():
        handled = handle(event)
        try:
            handled.log.insert()
        except IntegrityError:
            # Seen before: roll back what the router wrote, and say why below.
            transaction.set_rollback(True)
            seen = True
        else:
            seen = False
            _send(handled)
            _events_emit(handled)
    if seen:
        return _seen_before(handled)
    log = handled.log
    logger.log(
        logging.WARNING if log.status == Status.UNROUTED else logging.INFO,
        "%s %s on %s from %s: %s, %d to send",
        log.get_kind_display(),
        log.pk,
        mask(log.recipient),
        mask(log.sender),
        log.outcome or "-",
        len(handled.send),
    )
    return InboundResult(message=log, action=handled.action)


# A receipt writes no log row of its own but moves the row of the message it reports
# on, so it does not fit the handlers' log-row-first order: it is received here.
def receipt_receive(*, receipt: DeliveryReceipt) -> bool:
    """Record a delivery receipt on its message (never backwards, see receipts.py).
    A receipt for a message we do not know is acknowledged and logged. Returns whether
    it moved the message."""
    message_id = message_for_receipt(
        provider=receipt.provider, reference=receipt.reference, vendor_id=receipt.vendor_id
    )
    if message_id is None:
        logger.warning(
            "%s receipt %s for an unknown message (id %r, reference %r) acknowledged",
            receipt.provider,
            redact(receipt.vendor_status),
            redact(receipt.vendor_id[:64]),
            redact(receipt.reference[:64]),
        )
        return False
    return message_status_record(
        message_id=message_id,
        status=receipt.status,
        vendor_status=receipt.vendor_status,
        error_code=receipt.error_code,
        error_description=receipt.error_description,
        at=receipt.at,
        vendor_id=receipt.vendor_id,
    )


def _send(handled: Handled) -> None:
    """Queue what the handler sends. A party whose text is not delivered because its
    recipient opted out is told so, once per session."""
    log = handled.log
    proxy = log.proxy

    def queue(outbound: OutboundSms, *, outcome: str = "", to_opted_out: bool = False):
        assert proxy is not None  # noqa: S101 - only a routed event sends
        return message_queue(
            proxy=proxy,
            recipient=outbound.recipient,
            body=outbound.body,
            session=log.session,
            outcome=outcome or log.outcome,
            in_reply_to=log,
            to_opted_out=to_opted_out,
        )

    if handled.confirmation is not None:
        queue(handled.confirmation, to_opted_out=True)
    for outbound in handled.send:
        if outbound.system:
            system_reply_queue(log=log, outbound=outbound, queue=queue)
            continue
        queued = queue(outbound)
        if (
            queued.status == Status.SUPPRESSED
            and outbound.recipient != log.sender
            and log.session
            and not Message.objects.filter(
                session=log.session, recipient=log.sender, outcome=OPTED_OUT_NOTICE
            ).exists()
        ):
            notice = settings.MASKED_NUMBERS_RECIPIENT_OPTED_OUT_NOTICE
            queue(OutboundSms(log.sender, notice), outcome=OPTED_OUT_NOTICE)


def _events_emit(handled: Handled) -> None:
    """Tell the platform of a text relayed to the other party or a call transferred to
    them (when events are on), in the event's transaction."""
    if not events_enabled():
        return
    log = handled.log
    if log.kind == Kind.CALL and log.status == Status.TRANSFERRED:
        assert handled.action is not None  # noqa: S101 - a transferred call has its action
        data = message_event_data(log, transferred_to=event_number(handled.action.destination))
        event_emit("call.transferred", data)
    elif log.kind == Kind.SMS and log.outcome == RELAYED:
        relays = Message.objects.filter(in_reply_to=log, status=Status.QUEUED).exclude(
            recipient=log.sender
        )
        for relay in relays.select_related("proxy").order_by("pk"):
            event_emit("message.relayed", message_event_data(relay, in_reply_to=log.pk))


def _seen_before(handled: Handled) -> InboundResult:
    """The event's log row could not be written: a replay (refused) or a redelivery."""
    log = handled.log
    if log.nonce and Message.objects.filter(nonce=log.nonce).exists():
        raise WebhookValidationError("signature was already used (replay)")
    first = Message.objects.filter(
        provider=log.provider, direction=Direction.INBOUND, kind=log.kind, vendor_id=log.vendor_id
    ).first()
    if first is None:
        raise IntegrityError(f"inbound {log.kind} {log.vendor_id!r} could not be logged")
    logger.info("duplicate %s %s %s ignored", log.provider, log.kind, log.vendor_id)
    # The vendor asking again for the same call gets the same answer, logged once.
    return InboundResult(message=first, duplicate=True, action=handled.action)


def inbound_sms_receive(*, inbound: InboundSms) -> InboundResult:
    """Receive a text (see inbound_receive)."""
    return inbound_receive(event=inbound)


def inbound_call_receive(*, inbound: InboundCall) -> CallAction:
    """Receive a call (see inbound_receive); returns what the vendor should do with it."""
    action = inbound_receive(event=inbound).action
    assert action is not None  # noqa: S101 - every call handler answers
    return action
