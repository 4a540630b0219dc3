"""What channels send and get back. Incoming orders carry the Excel import's fields (lines as a
list); the serializers check their shape and sizes, `place_order` checks what they mean."""

import re
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Prefetch, prefetch_related_objects
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..events import ORDER_API_PARTS
from ..models import Order, Payment, PaymentMethod, Refund
from ..services import LineInput, OrderInput
from ..services.intake import MAX_LINE_QUANTITY
from .problems import field_pointer, json_pointer

MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": 0}
MAX_LINES = 500


class OrderLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(
        max_length=64,
        help_text=_(
            "The channel's own code (mapped in the console) or our SKU; a bundle's SKU is taken as its components."
        ),
    )
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)
    unit_price = serializers.DecimalField(
        required=False,
        allow_null=True,
        **MONEY,
        help_text=_("Leave out to use the catalogue price. A bundle's price is spread over its components."),
    )


class OrderInputSerializer(serializers.Serializer):
    channel_order_id = serializers.CharField(
        max_length=64,
        help_text=_("The channel's own id; an order is placed once per id."),
    )
    order_date = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text=_("When it was ordered; now if left out."),
    )
    recipient = serializers.CharField(max_length=100)
    phone = serializers.CharField(max_length=40, help_text=_("Spaces, dashes and a +86 prefix are fine."))
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    province = serializers.CharField(
        max_length=50,
        required=False,
        allow_blank=True,
        help_text=_("广东 or 广东省; leave out to send the whole address in `address`."),
    )
    city = serializers.CharField(max_length=50, required=False, allow_blank=True)
    district = serializers.CharField(max_length=50, required=False, allow_blank=True)
    address = serializers.CharField(
        max_length=255,
        help_text=_(
            "The street; or, with province and city left out, the whole address (浙江省杭州市西湖区文三路 90 号), "
            "which is split into its parts. A region that does not exist holds the order."
        ),
    )
    postcode = serializers.CharField(max_length=12, required=False, allow_blank=True)
    lines = OrderLineInputSerializer(many=True, allow_empty=False, max_length=MAX_LINES)
    shipping_fee = serializers.DecimalField(required=False, **MONEY)
    discount = serializers.DecimalField(required=False, **MONEY)
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)
    paid_amount = serializers.DecimalField(required=False, **MONEY, help_text=_("Already paid to the channel."))
    payment_reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    currency = serializers.CharField(min_length=3, max_length=3, required=False, help_text=_("CNY if left out."))
    delivery_window_start = serializers.DateTimeField(required=False, allow_null=True)
    delivery_window_end = serializers.DateTimeField(required=False, allow_null=True)
    express_requested = serializers.BooleanField(required=False, default=False)
    language = serializers.CharField(
        max_length=16,
        required=False,
        allow_blank=True,
        help_text=_("The customer's language for notifications, e.g. zh-hans or en."),
    )
    note = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text=_("Special instructions."),
    )

    def order_input(self, channel):
        data = dict(self.validated_data)
        lines = [LineInput(**line) for line in data.pop("lines")]
        placed_at = data.pop("order_date", None)
        special_instructions = data.pop("note", "")
        return OrderInput(
            channel=channel,
            lines=lines,
            placed_at=placed_at,
            special_instructions=special_instructions,
            **{name: value for name, value in data.items() if value is not None},
        )


# place_order names some fields as OrderInput does; the request names them as the import does.
REQUEST_FIELD = {"placed_at": "order_date", "special_instructions": "note"}
SERVICE_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(\w+)$")


def request_pointer(service_field):
    """Where a field `place_order` complains about is in the request body: its `lines[2].sku`
    (lines counted from 1, as Excel rows are) is #/lines/1/sku."""
    line = SERVICE_LINE_FIELD.match(service_field)
    if line:
        return json_pointer("lines", int(line.group(1)) - 1, line.group(2))
    if service_field == "channel":
        return json_pointer()
    return field_pointer(REQUEST_FIELD.get(service_field, service_field))


class CancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text=_("Kept in the order's history."),
    )


# The answers are plain serializers with their fields declared: a ModelSerializer works its fields
# out from the model on every request, which cost a POST about a tenth of its time, and declared
# fields keep the API's shape from changing with the models.


def money():
    return serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)


def moment(**options):
    return serializers.DateTimeField(read_only=True, **options)


class OrderLineSerializer(serializers.Serializer):
    """A line as stored: a bundle ordered is answered as its component lines, each naming the bundle
    (a bundle line of the order is `bundle_group`); a gift added at intake is free and flagged."""

    sku = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    unit_price = money()
    line_total = money()
    bundle_sku = serializers.CharField(
        read_only=True, help_text=_("The bundle this component line was sold in; empty for a line of its own.")
    )
    bundle_quantity = serializers.IntegerField(read_only=True, allow_null=True, help_text=_("Bundles ordered."))
    bundle_group = serializers.IntegerField(
        read_only=True, allow_null=True, help_text=_("The component lines of one bundle line share this number.")
    )
    is_gift = serializers.BooleanField(read_only=True, help_text=_("A free gift added by a gift rule."))


class PaymentSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=PaymentMethod.choices, read_only=True)
    amount = money()
    status = serializers.ChoiceField(choices=Payment.Status.choices, read_only=True)
    reference = serializers.CharField(read_only=True)
    created_at = moment()


class RefundSerializer(serializers.Serializer):
    amount = money()
    status = serializers.ChoiceField(choices=Refund.Status.choices, read_only=True)
    requested_at = moment()


class OrderSummarySerializer(serializers.Serializer):
    number = serializers.CharField(read_only=True)
    channel_order_id = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Order.Status.choices, read_only=True)
    payment_status = serializers.ChoiceField(choices=Order.PaymentStatus.choices, read_only=True)
    currency = serializers.CharField(read_only=True)
    total = money()
    placed_at = moment()
    updated_at = moment()


@dataclass(frozen=True)
class OrderPart:
    """What an app above orders adds to the channel API's order (orders.events.ORDER_API_PARTS): a
    field of the answer, and the lookup that fetches the rows it reads along with the order."""

    name: str
    field: serializers.Field
    lookup: str | Prefetch | list[str | Prefetch]


def order_parts() -> list[OrderPart]:
    """The parts the apps above orders add, in the order they subscribed (lower apps first)."""
    return ORDER_API_PARTS.publish()


def detail_lookups() -> list[str | Prefetch]:
    """What the order serializer reads besides the order row, fetched in one query each: the
    order's own rows, then those of the parts the apps above orders add."""
    lookups = ["lines", "payments", "refunds"]
    for part in order_parts():
        lookups += part.lookup if isinstance(part.lookup, list) else [part.lookup]
    return lookups


def order_answers(orders: list[Order]) -> dict[int, dict]:
    """What the channel API answers for each of `orders` (GET /api/v1/orders/{number}/), by order
    id. Archiving keeps it, so an archived order is answered as it was (docs/architecture.md,
    "Archive")."""
    prefetch_related_objects(orders, *detail_lookups())
    # One serializer for all of them: its fields are built once, not once per order.
    answers = OrderSerializer(orders, many=True).data
    return {order.pk: dict(answer) for order, answer in zip(orders, answers, strict=True)}


class OrderSerializer(OrderSummarySerializer):
    confirmed_at = moment(allow_null=True)
    shipped_at = moment(allow_null=True)
    delivered_at = moment(allow_null=True)
    completed_at = moment(allow_null=True)
    cancelled_at = moment(allow_null=True)
    dispatch_due_at = moment(
        allow_null=True,
        help_text=_(
            "When the order must leave the warehouse, by its channel's ship-by deadline; null when the "
            "channel has none or the order still awaits its payment."
        ),
    )
    recipient = serializers.CharField(read_only=True)
    phone = serializers.CharField(read_only=True)
    province = serializers.CharField(read_only=True)
    city = serializers.CharField(read_only=True)
    district = serializers.CharField(read_only=True)
    address = serializers.CharField(read_only=True)
    postcode = serializers.CharField(read_only=True)
    delivery_window_start = moment(allow_null=True)
    delivery_window_end = moment(allow_null=True)
    express_requested = serializers.BooleanField(read_only=True)
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES,
        allow_blank=True,
        read_only=True,
        help_text=_("Notifications go out in this language; empty means the shop's customer language."),
    )
    note = serializers.CharField(source="special_instructions", read_only=True)
    subtotal = money()
    shipping_fee = money()
    discount = money()
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices, read_only=True)
    amount_paid = money()
    amount_refunded = money()
    refund_due = money()
    lines = OrderLineSerializer(many=True, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)
    refunds = RefundSerializer(many=True, read_only=True)

    def get_fields(self):
        """The order's own fields, then those of the apps above orders (their shipments, returns)."""
        fields = super().get_fields()
        for part in order_parts():
            fields[part.name] = part.field
        return fields
