"""Logistics in the channel API: an order's parcels with their tracking numbers and what the
carrier reported, a part of the order's representation (`order_shipments`, subscribed to
orders.events.ORDER_API_PARTS), and the carriers' webhook for tracking events."""

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers

from orders.api.problems import problem_responses
from orders.api.schema import RequestRulesAutoSchema
from orders.api.serializers import OrderPart

from . import webhooks
from .models import ExceptionKind, Shipment, ShipmentLine, TrackingEvent


class ShipmentEventSerializer(serializers.ModelSerializer):
    exception_kind = serializers.ChoiceField(choices=ExceptionKind.choices, allow_blank=True, read_only=True)

    class Meta:
        model = TrackingEvent
        fields = ("occurred_at", "status", "exception_kind", "location", "description")
        read_only_fields = fields


class ShipmentLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="order_line.sku", read_only=True)

    class Meta:
        model = ShipmentLine
        fields = ("sku", "quantity")
        read_only_fields = fields


class ShipmentSerializer(serializers.ModelSerializer):
    carrier = serializers.CharField(source="carrier.code", read_only=True, allow_null=True, default=None)
    carrier_name = serializers.CharField(source="carrier.name", read_only=True, allow_null=True, default=None)
    service = serializers.CharField(source="service.name", read_only=True, allow_null=True, default=None)
    tracking_url = serializers.CharField(read_only=True)
    lines = ShipmentLineSerializer(many=True, read_only=True)
    events = ShipmentEventSerializer(many=True, read_only=True)

    class Meta:
        model = Shipment
        fields = (
            "tracking_number",
            "carrier",
            "carrier_name",
            "service",
            "tracking_url",
            "status",
            "shipped_at",
            "expected_delivery_on",
            "delivered_at",
            "lines",
            "events",
        )
        read_only_fields = fields


@extend_schema_field(ShipmentSerializer(many=True))
class OrderParcelsField(serializers.Field):
    """The order's parcels, oldest first: its own and its merged group's parcel (docs/architecture.md,
    "Merging orders"), each with only this order's lines, so a channel sees the one tracking
    number but never another order's goods."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, order):
        parcels = {shipment.pk: shipment for shipment in order.shipments.all()}
        if order.merge_id is not None:
            parcels.update((shipment.pk, shipment) for shipment in order.merge.shipments.all())
        answers = []
        for shipment in sorted(parcels.values(), key=lambda s: (s.created_at, s.pk)):
            answer = ShipmentSerializer(shipment).data
            if shipment.merge_id is not None:
                answer["lines"] = ShipmentLineSerializer(
                    [line for line in shipment.lines.all() if line.order_line.order_id == order.pk], many=True
                ).data
            answers.append(answer)
        return answers


def _parcels():
    return (
        Shipment.objects.select_related("carrier", "service")
        .prefetch_related(
            Prefetch("lines", queryset=ShipmentLine.objects.select_related("order_line")),
            "events",
        )
        .order_by("created_at", "id")
    )


def order_shipments() -> OrderPart:
    """The order's parcels, oldest first, as the channel API's order shows them (with a merged
    group's parcel, fetched through the order's merge)."""
    return OrderPart(
        name="shipments",
        field=OrderParcelsField(),
        lookup=[Prefetch("shipments", queryset=_parcels()), Prefetch("merge__shipments", queryset=_parcels())],
    )


class CarrierTokenScheme(OpenApiAuthenticationExtension):
    target_class = webhooks.CarrierTokenAuthentication
    name = "carrierToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": str(gettext_lazy("The carrier's webhook token, made in the console on the carrier's page.")),
        }


class OffsetDateTimeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = webhooks.OffsetDateTimeField

    def map_serializer_field(self, auto_schema, direction):
        return build_basic_type(OpenApiTypes.DATETIME)


class TrackingEventResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    tracking_number = serializers.JSONField(help_text=gettext_lazy("The event's tracking number, as it was sent."))
    result = serializers.ChoiceField(choices=["recorded", "duplicate", "error"])
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class TrackingEventsAnswerSerializer(serializers.Serializer):
    recorded = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    error = serializers.IntegerField()
    results = TrackingEventResultSerializer(many=True)


@extend_schema_view(
    post=extend_schema(
        tags=["tracking-events"],
        request=webhooks.TrackingEventSerializer(many=True, allow_empty=False, max_length=webhooks.MAX_EVENTS_PER_CALL),
        responses={
            200: TrackingEventsAnswerSerializer,
            **problem_responses(400, 401, 413, 415),
        },
        description=gettext_lazy(
            "For carriers: report what happened to parcels, by tracking number. Each event is recorded on its "
            "own; the answer says for each whether it was recorded, already known, or refused and why."
        ),
    )
)
class TrackingEventsView(webhooks.TrackingEventsView):
    """The carriers' webhook (logistics.webhooks) as the API serves it, with its schema."""

    schema = RequestRulesAutoSchema()
