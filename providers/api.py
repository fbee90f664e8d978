from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from .models import ProxyNumber, Service
from .serializers import ProxyNumberSerializer


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
