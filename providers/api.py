from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from maskednumbers.api import LimitOffsetPagination

from .models import Direction, Message, OptOut, ProxyNumber, Service, Status
from .serializers import MessageSerializer, OptOutSerializer, ProxyNumberSerializer


@extend_schema_view(
    list=extend_schema(
        summary="List the pool's numbers",
        description="Oldest first, retired ones included (`active` false).",
        parameters=[
            OpenApiParameter(
                "service", OpenApiTypes.STR, enum=Service.values, description="Only this service."
            ),
            OpenApiParameter("provider", OpenApiTypes.STR, description="Only this provider alias."),
        ],
    ),
    retrieve=extend_schema(summary="One number of the pool"),
    create=extend_schema(
        summary="Add a rented number to the pool",
        description=(
            "Any usual format, stored in E.164. An invalid or duplicate number, a provider "
            "that is not configured, or voice on a provider without inbound calls is a 400."
        ),
    ),
)
class ProxyNumberViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The number pool: list numbers, or add one the platform has rented."""

    queryset = ProxyNumber.objects.all().order_by("id")
    serializer_class = ProxyNumberSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action != "list":
            return queryset
        filters = NumberFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return queryset.filter(**{k: v for k, v in filters.validated_data.items() if v})


class NumberFilterSerializer(serializers.Serializer):
    """The list's query parameters: a known service, a provider alias (no NUL, which
    PostgreSQL cannot compare)."""

    service = serializers.ChoiceField(choices=Service.choices, required=False, allow_blank=True)
    provider = serializers.CharField(max_length=32, required=False, allow_blank=True)


@extend_schema_view(
    list=extend_schema(
        summary="List opt-outs",
        description=(
            "People who asked a pool number to stop texting them, newest first; people's "
            "numbers masked without the permission to view full numbers. Read-only: only "
            "the person can opt back in, by texting the number."
        ),
        parameters=[
            OpenApiParameter(
                "proxy_number", OpenApiTypes.STR, description="Only this pool number (E.164)."
            ),
            OpenApiParameter(
                "active", OpenApiTypes.BOOL, description="Only current (true) or ended (false)."
            ),
        ],
    ),
)
class OptOutViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Opt-outs of the pool's numbers."""

    queryset = OptOut.objects.select_related("proxy").order_by("-opted_out_at", "-id")
    serializer_class = OptOutSerializer

    def get_queryset(self):
        filters = OptOutFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = super().get_queryset()
        number, active = (filters.validated_data.get(k) for k in ("proxy_number", "active"))
        if number:
            queryset = queryset.filter(proxy__number=number)
        if active is not None:
            queryset = queryset.filter(opted_in_at__isnull=active)
        return queryset


def pool_number_filter() -> serializers.RegexField:
    return serializers.RegexField(
        r"^\+[1-9]\d{1,14}$",
        required=False,
        allow_blank=True,
        error_messages={"invalid": "must be a pool number in E.164, like +12065550100."},
    )


class OptOutFilterSerializer(serializers.Serializer):
    proxy_number = pool_number_filter()
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


@extend_schema_view(
    list=extend_schema(
        summary="List the message log",
        description=(
            "Every inbound and outbound SMS and call, newest first, with its status. Pool "
            "numbers in full; people's numbers masked and texts hidden without the "
            "permission to view full numbers and texts."
        ),
        parameters=[
            OpenApiParameter(
                "session", OpenApiTypes.STR, description="Only this session, e.g. `ride:42`."
            ),
            OpenApiParameter(
                "proxy_number", OpenApiTypes.STR, description="Only this pool number (E.164)."
            ),
            OpenApiParameter(
                "direction", OpenApiTypes.STR, enum=Direction.values, description="in or out."
            ),
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=Status.values, description="Only this status."
            ),
            OpenApiParameter(
                "since",
                OpenApiTypes.DATETIME,
                description="Only messages logged at or after this time (ISO 8601).",
            ),
        ],
    ),
    retrieve=extend_schema(summary="One message of the log"),
)
class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The message log, read-only."""

    queryset = Message.objects.select_related("proxy").order_by("-created_at", "-id")
    serializer_class = MessageSerializer
    pagination_class = LimitOffsetPagination

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action != "list":
            return queryset
        filters = MessageFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = {k: v for k, v in filters.validated_data.items() if v not in ("", None)}
        lookups = {"proxy_number": "proxy__number", "since": "created_at__gte"}
        return queryset.filter(**{lookups.get(k, k): v for k, v in wanted.items()})


class MessageFilterSerializer(serializers.Serializer):
    """The log's query parameters, each refused with a reason when it cannot match."""

    session = serializers.CharField(max_length=64, required=False, allow_blank=True)
    proxy_number = pool_number_filter()
    direction = serializers.ChoiceField(choices=Direction.choices, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=Status.choices, required=False, allow_blank=True)
    since = serializers.DateTimeField(required=False, allow_null=True, default=None)
