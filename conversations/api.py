from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from providers.exceptions import InvalidPhoneNumber
from providers.phone import to_e164

from .models import Conversation, State
from .selectors import conversation_list
from .serializers import ConversationSerializer

FILTERS = [
    OpenApiParameter("state", OpenApiTypes.STR, enum=State.values, description="Only this state."),
    OpenApiParameter(
        "number", OpenApiTypes.STR, description="Only on this conversations number (E.164)."
    ),
]


@extend_schema_view(
    list=extend_schema(
        summary="List conversations",
        description="Newest first, each with its parties.",
        parameters=FILTERS,
    ),
    retrieve=extend_schema(
        summary="One conversation",
        description="Its state, code, number and parties.",
    ),
)
class ConversationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Conversations of the code protocol, read-only; parties' numbers are masked."""

    serializer_class = ConversationSerializer
    queryset = Conversation.objects.none()

    def get_queryset(self):
        if self.action != "list":
            return conversation_list()
        params = self.request.query_params
        state = params.get("state") or None
        if state is not None and state not in State.values:
            raise serializers.ValidationError(
                {"state": f"must be one of {', '.join(State.values)}."}
            )
        number = params.get("number") or None
        if number is not None:
            try:
                number = to_e164(number)
            except InvalidPhoneNumber as err:
                raise serializers.ValidationError({"number": "is not a phone number."}) from err
        return conversation_list(state=state, number=number)
