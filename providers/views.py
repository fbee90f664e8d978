"""Vendor webhooks: verify, parse, dispatch. Bad input is a 4xx with a reason."""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from .backends.base import BaseProvider
from .exceptions import ProviderNotConfigured, WebhookValidationError
from .inbound import inbound_call_receive, inbound_sms_receive, receipt_receive
from .registry import get_provider
from .types import DeliveryReceipt

logger = logging.getLogger(__name__)


def _provider(alias: str) -> BaseProvider:
    try:
        return get_provider(alias)
    except ProviderNotConfigured as err:
        raise Http404(f"no provider {alias!r} is configured") from err


def _refuse(alias: str, err: SuspiciousOperation) -> HttpResponse:
    """4xx with the reason."""
    if isinstance(err, WebhookValidationError):
        status = 403
    elif isinstance(err, RequestDataTooBig):
        status = 413
    else:
        status = 400
    logger.warning("%s webhook refused (%d): %s", alias, status, err)
    response = HttpResponse(f"{err}\n", status=status, content_type="text/plain; charset=utf-8")
    # Logged above; Django's own line would add the path, which carries Flowroute's token.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


@csrf_exempt
@require_POST
def sms_webhook(request: HttpRequest, alias: str, token: str | None = None) -> HttpResponse:
    provider = _provider(alias)
    if not provider.supports_inbound_sms:
        raise Http404(f"{alias} sends no inbound SMS")
    try:
        request.body  # noqa: B018 - an oversized body is refused before any parsing
        inbound = provider.parse_sms_webhook(request, token=token)  # verifies, then parses
        inbound_sms_receive(inbound=inbound)
    except SuspiciousOperation as err:
        return _refuse(alias, err)
    return provider.sms_webhook_ack()


@csrf_exempt
@require_http_methods(["GET", "POST"])
def voice_webhook(request: HttpRequest, alias: str) -> HttpResponse:
    provider = _provider(alias)
    if not provider.supports_inbound_voice:
        raise Http404(f"{alias} sends no inbound calls")
    if request.method not in provider.call_webhook_methods:
        return HttpResponseNotAllowed(provider.call_webhook_methods)
    try:
        inbound = provider.parse_call_webhook(request)  # verifies, then parses
        action = inbound_call_receive(inbound=inbound)
    except SuspiciousOperation as err:
        return _refuse(alias, err)
    return provider.answer_call(action, call=inbound)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def receipt_webhook(request: HttpRequest, alias: str, token: str | None = None) -> HttpResponse:
    provider = _provider(alias)
    if not provider.receipt_webhook_methods:
        raise Http404(f"{alias} sends no receipts to this URL")
    if request.method not in provider.receipt_webhook_methods:
        return HttpResponseNotAllowed(provider.receipt_webhook_methods)
    try:
        request.body  # noqa: B018 - an oversized body is refused before any parsing
        receipt = provider.parse_receipt_webhook(request, token=token)  # verifies, then parses
        receipt_receive(receipt=receipt)
    except SuspiciousOperation as err:
        return _refuse(alias, err)
    return HttpResponse("OK", content_type="text/plain")


@csrf_exempt
@require_POST
def event_webhook(request: HttpRequest, alias: str) -> HttpResponse:
    """One URL for every event of a vendor that posts them all there (Bird)."""
    provider = _provider(alias)
    if not provider.receives_events:
        raise Http404(f"{alias} posts no events to this URL")
    try:
        request.body  # noqa: B018 - an oversized body is refused before any parsing
        event = provider.parse_event_webhook(request)
        if isinstance(event, DeliveryReceipt):
            receipt_receive(receipt=event)
        elif event is not None:
            inbound_sms_receive(inbound=event)
    except SuspiciousOperation as err:
        return _refuse(alias, err)
    return provider.sms_webhook_ack()
