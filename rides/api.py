from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from maskednumbers.api import JSONParser

from .models import Ride, RideStatus
from .selectors import ride_list
from .serializers import PoolExhaustedSerializer, RideCreateSerializer, RideSerializer
from .services import PoolExhausted, pool_exhausted_report, ride_book, ride_close


@extend_schema_view(
    list=extend_schema(
        summary="List rides, newest first",
        parameters=[
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=RideStatus.values, description="Status now."
            )
        ],
    ),
    retrieve=extend_schema(summary="One ride"),
)
class RideViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Rides: book one (a number is allocated and both parties are texted), list, close."""

    serializer_class = RideSerializer
    queryset = Ride.objects.none()
    parser_classes = [JSONParser]
    # Booking matches people by phone, creating or renaming them, as the admin would
    # let only a user who may add and change customers and drivers.
    action_permissions = {
        "create": [
            "rides.add_ride",
            "rides.add_customer",
            "rides.change_customer",
            "rides.add_driver",
            "rides.change_driver",
        ],
        "close": ["rides.change_ride"],
    }

    def get_serializer_class(self):
        # What a booking takes, so the browsable API's form shows the fields to send.
        return RideCreateSerializer if self.action == "create" else RideSerializer

    def get_queryset(self):
        wanted = self.request.query_params.get("status") if self.action == "list" else None
        if wanted and wanted not in RideStatus.values:
            choices = ", ".join(RideStatus.values)
            raise ValidationError({"status": [f"Unknown status {wanted!r}: one of {choices}."]})
        return ride_list(status=wanted)

    @extend_schema(
        summary="Book a ride",
        description=(
            "Matches the customer and driver by phone (creating them if new), allocates "
            "a proxy number and texts both parties from it."
        ),
        request=RideCreateSerializer,
        responses={
            201: RideSerializer,
            400: OpenApiResponse(description="Invalid phone, time or field; errors by field."),
            409: OpenApiResponse(
                PoolExhaustedSerializer, description="No proxy number can be allocated."
            ),
        },
    )
    def create(self, request: Request) -> Response:
        serializer = RideCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            ride = ride_book(
                customer_name=data["customer"]["name"],
                customer_phone=data["customer"]["phone"],
                driver_name=data["driver"]["name"],
                driver_phone=data["driver"]["phone"],
                start=data["start"],
                destination=data["destination"],
                pickup_at=data["pickup_at"],
            )
        except PoolExhausted as err:
            pool_exhausted_report(error=err)
            body = {"code": err.code, "reason": err.reason, "detail": str(err)}
            return Response(body, status=status.HTTP_409_CONFLICT)
        # The request (in the context) decides the masking.
        shown = RideSerializer(ride, context=self.get_serializer_context())
        return Response(shown.data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="End a ride's masking now",
        operation_id="rides_close",
        description="Its number stops relaying for it. Closing an ended ride changes nothing.",
        request=None,
        responses={200: RideSerializer},
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        ride = self.get_object()
        ride_close(ride=ride)
        return Response(self.get_serializer(ride).data)
