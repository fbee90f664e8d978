"""API plumbing shared by the apps: permissions, parsing, pagination, errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import pagination, parsers, permissions, serializers
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import ParseError

if TYPE_CHECKING:  # rest_framework.views reads these settings as it is imported
    from rest_framework.request import Request
    from rest_framework.views import APIView

# The admin's verbs by HTTP method: reading needs view, creating add, changing change.
_VERBS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


class AdminModelPermissions(permissions.BasePermission):
    """What the admin asks for the same thing: a staff user holding the model
    permission of the operation (view to read, add to create, change to change).

    A view names the permissions of its other actions in `action_permissions`
    (e.g. `{"close": ["rides.change_ride"]}`); its model is `queryset.model`. A view
    without a model (the API root) needs staff only.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_staff):
            return False
        return user.has_perms(required_permissions(request, view))


class BearerTokenAuthentication(TokenAuthentication):
    """The same tokens sent as `Authorization: Bearer <key>` (what most HTTP clients
    send for a token), beside DRF's own `Token <key>`."""

    keyword = "Bearer"


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict:
        return {"type": "http", "scheme": "bearer", "description": "The API token."}


def required_permissions(request: Request, view: APIView) -> list[str]:
    named: dict[str, list[str]] = getattr(view, "action_permissions", {})
    action = getattr(view, "action", None)
    if action in named:
        return named[action]
    queryset = getattr(view, "queryset", None)
    if queryset is None:
        return []
    meta = queryset.model._meta
    verb = _VERBS.get(request.method or "", "change")
    return [f"{meta.app_label}.{verb}_{meta.model_name}"]


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with nesting too deep to decode a 400 like any bad JSON."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as err:
            raise ParseError("JSON parse error - nested too deeply") from err


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """`?limit=&offset=`, refused with a reason when out of range (DRF would use the
    default for a bad limit, and pass a huge one to the database, which fails)."""

    max_limit = 1000
    # The largest OFFSET both PostgreSQL (bigint) and SQLite take.
    max_offset = 2**63 - 1

    def get_limit(self, request: Request) -> int | None:
        return self._bounded(request, self.limit_query_param, 1, self.max_limit, self.default_limit)

    def get_offset(self, request: Request) -> int:
        return self._bounded(request, self.offset_query_param, 0, self.max_offset, 0)

    @staticmethod
    def _bounded(request: Request, name: str, low: int, high: int, default: int | None) -> Any:
        value = request.query_params.get(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            raise serializers.ValidationError({name: [f"must be an integer from {low} to {high}."]})
        return number


def exception_handler(exc, context):
    from rest_framework.views import exception_handler as drf_exception_handler

    # Model and service validation errors are the client's fault: 400 with the reasons.
    if isinstance(exc, DjangoValidationError):
        exc = serializers.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    return drf_exception_handler(exc, context)
