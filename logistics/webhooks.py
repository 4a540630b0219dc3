"""Carriers report what happens to parcels by calling this endpoint. Each carrier authenticates
with its own token (Authorization: Bearer <token>); only the token's hash is stored (core.tokens),
see logistics.services.issue_webhook_token. Every event is recorded on its own, so one bad event in a
batch does not lose the others, and a report sent twice is recorded once."""

from datetime import UTC

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import authentication, exceptions, permissions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.actors import SYSTEM
from core.tokens import bearer_token
from core.transitions import TransitionRefused
from orders.api.parsers import JSONParser
from orders.api.problems import invalid_request, json_pointer

from . import services
from .models import Carrier, ExceptionKind, TrackingEvent
from .selectors import carrier_for_webhook_token, parcel_with_tracking_number

MAX_EVENTS_PER_CALL = 500


class CarrierTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` → the carrier, kept in request.auth (carriers are not users)."""

    keyword = "Bearer"

    def authenticate(self, request):
        token = bearer_token(request)
        if token is None:
            return None
        carrier = carrier_for_webhook_token(token)
        if carrier is None:
            raise exceptions.AuthenticationFailed(_("This token is not valid."))
        return AnonymousUser(), carrier

    def authenticate_header(self, request):
        return self.keyword


class IsCarrier(permissions.BasePermission):
    message = gettext_lazy("Only a carrier with a webhook token may report tracking events.")

    def has_permission(self, request, view):
        return isinstance(request.auth, Carrier)


class OffsetDateTimeField(serializers.Field):
    """An ISO 8601 time that must say its offset: a carrier's local time alone is ambiguous."""

    default_error_messages = {
        "invalid": gettext_lazy("Give an ISO 8601 time with its offset, such as 2025-03-01T14:30:00+08:00."),
    }

    def to_internal_value(self, data):
        try:
            parsed = parse_datetime(str(data))
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            self.fail("invalid")
        try:
            # ISO 8601 allows offsets up to ±23:59, PostgreSQL only up to ±15:59.
            return parsed.astimezone(UTC)
        except OverflowError:
            self.fail("invalid")

    def to_representation(self, value):
        return value.isoformat()


class TrackingEventSerializer(serializers.Serializer):
    tracking_number = serializers.CharField(max_length=64)
    status = serializers.ChoiceField(choices=TrackingEvent.Status.choices)
    occurred_at = OffsetDateTimeField()
    location = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    exception_kind = serializers.ChoiceField(
        choices=ExceptionKind.choices, required=False, allow_blank=True, default=""
    )


class TrackingEventsView(APIView):
    """POST a list of tracking events (or {"events": [...]}); the answer says, for each in turn,
    whether it was recorded, already known (a duplicate), or refused and why."""

    authentication_classes = [CarrierTokenAuthentication]
    permission_classes = [IsCarrier]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]

    def post(self, request):
        items = request.data.get("events") if isinstance(request.data, dict) else request.data
        if not isinstance(items, list) or not items:
            raise invalid_request(
                [{"pointer": json_pointer(), "detail": _("Send a list of events, or an object with an “events” list.")}]
            )
        if len(items) > MAX_EVENTS_PER_CALL:
            raise invalid_request(
                [
                    {
                        "pointer": json_pointer(),
                        "detail": _("Send at most %(max)s events per call.") % {"max": MAX_EVENTS_PER_CALL},
                    }
                ]
            )
        results = [self.record(request.auth, index, item) for index, item in enumerate(items)]
        counts = {
            outcome: sum(1 for result in results if result["result"] == outcome)
            for outcome in ("recorded", "duplicate", "error")
        }
        return Response({**counts, "results": results})

    @staticmethod
    def record(carrier, index, item):
        result = {"index": index, "tracking_number": item.get("tracking_number") if isinstance(item, dict) else None}
        serializer = TrackingEventSerializer(data=item)
        if not serializer.is_valid():
            return {**result, "result": "error", "errors": serializer.errors}
        data = serializer.validated_data
        shipment = parcel_with_tracking_number(carrier, data["tracking_number"])
        if shipment is None:
            return {
                **result,
                "result": "error",
                "errors": {"tracking_number": [_("No parcel of yours has this tracking number.")]},
            }
        try:
            _event, created = services.record_tracking_event(
                shipment.pk,
                status=data["status"],
                occurred_at=data["occurred_at"],
                location=data["location"],
                description=data["description"],
                exception_kind=data["exception_kind"],
                source=TrackingEvent.Source.WEBHOOK,
                actor=SYSTEM,
            )
        except ValidationError as error:
            errors = error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
            return {**result, "result": "error", "errors": errors}
        except TransitionRefused as error:
            return {**result, "result": "error", "errors": {"non_field_errors": [str(error)]}}
        return {**result, "result": "recorded" if created else "duplicate"}
