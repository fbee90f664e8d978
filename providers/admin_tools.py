"""What every admin page of the project shares: phone search, the masking rule,
confirmation before an action that texts people, and help on an empty list."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from .exceptions import InvalidPhoneNumber
from .masking import person_number, sees_full_numbers
from .phone import to_e164

# Set on each object a page shows: whether its viewer may see full numbers and texts.
VIEWER_FLAG = "viewer_sees_full"


def sees_full(obj: Model) -> bool:
    return getattr(obj, VIEWER_FLAG, False)


def short_time(value: datetime | None) -> str:
    """A time as lists show it: compact, in the configured time zone."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


def shown_number(obj: Model, number: str) -> str:
    """A person's number as the viewer of the page showing `obj` may see it."""
    return person_number(number, full=sees_full(obj))


class StaffAdmin(admin.ModelAdmin):
    """The project's admin base.

    - Search: a typed number (`415-555-0120`, `(415) 555-0120`) also finds its E.164
      form in the `phone_lookups` fields.
    - Masking: each object shown carries whether its viewer may see full numbers.
    - `empty_help`: shown above a list that has no rows at all.
    """

    phone_lookups: tuple[str, ...] = ()
    empty_help: str = ""
    change_list_template = "admin/staff_change_list.html"

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            e164 = to_e164(search_term)
        except InvalidPhoneNumber:
            return results, may_have_duplicates
        by_phone = Q()
        for lookup in self.phone_lookups:
            by_phone |= Q(**{lookup: e164})
        return results | queryset.filter(by_phone), may_have_duplicates

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        full = sees_full_numbers(request.user)
        # Evaluating the page here keeps the flag on the very rows the list then renders.
        for row in changelist.result_list:
            setattr(row, VIEWER_FLAG, full)
        return changelist

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            setattr(obj, VIEWER_FLAG, sees_full_numbers(request.user))
        return obj

    def get_empty_help(self, request: HttpRequest) -> str:
        return self.empty_help

    def changelist_view(self, request, extra_context=None):
        extra = extra_context or {}
        if not self.get_queryset(request).exists():
            extra = {"empty_help": self.get_empty_help(request)} | extra
        return super().changelist_view(request, extra)


def confirmed(*, question: str, button: str) -> Callable:
    """Ask before an admin action runs, as Django's delete does: the first POST shows
    the selected objects, `question` and `button`; the confirming POST runs it."""

    def wrap(action: Callable) -> Callable:
        @functools.wraps(action)
        def ask_first(modeladmin, request: HttpRequest, queryset: QuerySet):
            if request.POST.get("post") == "yes":
                return action(modeladmin, request, queryset)
            return confirmation_page(
                modeladmin,
                request,
                queryset,
                action=action.__name__,
                question=question,
                button=button,
            )

        ask_first.confirmation = {"question": question, "button": button}  # type: ignore[attr-defined]
        return ask_first

    return wrap


def confirmation_page(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    action: str,
    question: str,
    button: str,
) -> TemplateResponse:
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": button,
        "question": question,
        "button": button,
        "objects": list(queryset),
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        "opts": opts,
        "app_label": opts.app_label,
    }
    return TemplateResponse(request, "admin/confirm_action.html", context)


def _confirmation(action: Any) -> dict[str, str]:
    """The question and button `confirmed` gave an admin action."""
    return action.func.confirmation


class ObjectActionsMixin(admin.ModelAdmin):
    """Buttons on an object's page for some of its admin actions (`object_actions`);
    each leads to the action's confirmation page for that one object."""

    object_actions: tuple[str, ...] = ()
    change_form_template = "admin/object_actions_change_form.html"

    def get_urls(self):
        opts = self.model._meta
        view = self.admin_site.admin_view(self.object_action_view)
        return [
            path(
                "<path:object_id>/do/<str:action>/",
                view,
                name=f"{opts.app_label}_{opts.model_name}_object_action",
            ),
            *super().get_urls(),
        ]

    def object_action_applies(self, obj: Any, action: str) -> bool:
        """Whether the page of `obj` offers `action` (e.g. not to end what has ended)."""
        return True

    def object_action_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        actions = self.get_actions(request)
        if action not in self.object_actions or action not in actions:
            raise PermissionDenied
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404(f"No {self.model._meta.verbose_name} with id {object_id[:20]!r}.")
        queryset = self.get_queryset(request).filter(pk=obj.pk)
        return confirmation_page(
            self, request, queryset, action=action, **_confirmation(actions[action])
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        actions = self.get_actions(request)
        obj = self.get_object(request, object_id)
        opts = self.model._meta
        buttons = [
            {
                "label": _confirmation(actions[name])["button"],
                "url": reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_object_action",
                    args=[obj.pk, name],
                ),
            }
            for name in self.object_actions
            if obj is not None and name in actions and self.object_action_applies(obj, name)
        ]
        extra = {"object_action_buttons": buttons} | (extra_context or {})
        return super().change_view(request, object_id, form_url, extra)


def changelist_link(model: type[Model], **filters: Any) -> str:
    """The admin list of `model`, filtered by `filters` (query parameters)."""
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url
