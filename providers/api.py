from __future__ import annotations

from rest_framework import mixins, viewsets

from .models import ProxyNumber
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
        for field in ("service", "provider"):
            if value := self.request.query_params.get(field):
                queryset = queryset.filter(**{field: value})
        return queryset
