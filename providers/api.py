from __future__ import annotations

from rest_framework import mixins, serializers, viewsets

from .models import ProxyNumber, Service
from .serializers import ProxyNumberSerializer


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
