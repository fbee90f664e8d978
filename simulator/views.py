from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from providers.exceptions import InvalidPhoneNumber

from .services import (
    SimulatorRefused,
    call_summary,
    phone_number_parse,
    phone_threads,
    simulated_call_place,
    simulated_sms_send,
    simulator_enabled,
    simulator_phones,
    simulator_proxies,
)

MAX_PHONES = 12
SESSION_KEY = "simulator_phones"


def _refuse(reason: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": reason}, status=status)


def _simulator_page(view: Callable) -> Callable:
    """404 without a console provider; the admin login for anyone not staff."""
    protected = staff_member_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not simulator_enabled():
            raise Http404("the phone simulator needs the console provider")
        return protected(request, *args, **kwargs)

    return wrapper


def _simulator_api(view: Callable) -> Callable:
    """Like _simulator_page, but answers in JSON: a script gets a reason, not a login form."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not simulator_enabled():
            return _refuse("the phone simulator needs the console provider", 404)
        if not (request.user.is_active and request.user.is_staff):
            return _refuse("staff login required", 403)
        try:
            return view(request, *args, **kwargs)
        except (SimulatorRefused, InvalidPhoneNumber) as err:
            return _refuse(str(err))

    return never_cache(wrapper)


def _json_body(request: HttpRequest) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except RequestDataTooBig as err:
        raise SimulatorRefused("the body is too big") from err
    except (ValueError, UnicodeDecodeError) as err:
        raise SimulatorRefused("the body must be JSON") from err
    if not isinstance(data, dict):
        raise SimulatorRefused("the body must be a JSON object")
    return data


@_simulator_page
@require_http_methods(["GET", "POST"])
def simulator(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        # The choice of phones lives in the session, not in the URL: phone numbers stay
        # out of access logs.
        chosen, error = _numbers(request.POST.getlist("show") + [request.POST.get("add", "")])
        if not error:
            request.session[SESSION_KEY] = chosen[:MAX_PHONES]
            return redirect("simulator")
    shown = list(request.session.get(SESSION_KEY) or [])
    phones = simulator_phones(extra=shown)
    if not shown:
        shown = _default_phones(phones)
    by_number = {phone.number: phone for phone in phones}
    context = {
        **admin.site.each_context(request),
        "is_nav_sidebar_enabled": False,
        "title": "Phone simulator",
        "phones": phones,
        "shown": [by_number[number] for number in shown],
        "shown_numbers": set(shown),
        "proxies": simulator_proxies(),
        "error": error,
    }
    return render(request, "simulator/index.html", context, status=400 if error else 200)


def _numbers(raw_numbers: list[str]) -> tuple[list[str], str]:
    """Typed numbers in E.164, without repeats, and the reason the first bad one is bad."""
    numbers: list[str] = []
    for raw in raw_numbers:
        if not raw.strip():
            continue
        try:
            number = phone_number_parse(raw)
        except InvalidPhoneNumber as err:
            return numbers, f"{raw[:32]!r}: {err}"
        if number not in numbers:
            numbers.append(number)
    return numbers, ""


def _default_phones(phones: list) -> list[str]:
    # One customer, one driver and two anonymous phones: a ride and a conversation.
    picked: list[str] = []
    for role, count in (("customer", 1), ("driver", 1), ("anonymous", 2)):
        picked += [phone.number for phone in phones if phone.role == role][:count]
    return picked


@_simulator_api
@require_POST
def simulator_messages(request: HttpRequest) -> JsonResponse:
    """The threads of the given phones. A POST, so that the numbers stay out of URLs."""
    raw_phones = _json_body(request).get("phones")
    if not isinstance(raw_phones, list) or not raw_phones:
        raise SimulatorRefused("phones: give a list of phone numbers")
    if len(raw_phones) > MAX_PHONES:
        raise SimulatorRefused(f"phones: at most {MAX_PHONES} phones at once")
    phones = []
    for raw in raw_phones:
        try:
            phones.append(phone_number_parse(raw))
        except InvalidPhoneNumber as err:
            raise SimulatorRefused(f"phones: {err}") from err
    return JsonResponse({"threads": phone_threads(phones=phones)})


@_simulator_api
@require_POST
def simulator_sms(request: HttpRequest) -> JsonResponse:
    data = _json_body(request)
    sent = simulated_sms_send(
        sender=data.get("from"), recipient=data.get("to"), text=data.get("text")
    )
    return JsonResponse(
        {
            "id": sent.inbound.pk,
            "outcome": sent.inbound.outcome,
            "queued": len(sent.replies),
        },
        status=201,
    )


@_simulator_api
@require_POST
def simulator_call(request: HttpRequest) -> JsonResponse:
    data = _json_body(request)
    call = simulated_call_place(caller=data.get("from"), recipient=data.get("to"))
    return JsonResponse(call_summary(call, phones=simulator_phones()))
