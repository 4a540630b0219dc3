"""Returns in the channel API: a channel asks for a return of one of its own orders, reads it back,
and finds its orders' returns in the order's detail (`order_returns`, subscribed to
orders.events.ORDER_API_PARTS). Every change goes through `aftersales.services.returns`, as the
console's do."""

import re
from functools import partial

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from core.actors import SYSTEM
from orders import selectors as order_selectors
from orders.api.idempotency import IDEMPOTENCY_PARAMETER, answer_once
from orders.api.problems import (
    Problem,
    field_pointer,
    invalid_request,
    json_pointer,
    problem_body,
    problem_response,
    problem_responses,
    service_errors,
)
from orders.api.serializers import MAX_LINES, OrderPart, moment
from orders.api.views import ChannelAPIMixin
from orders.services.intake import MAX_LINE_QUANTITY

from .models import Outcome, ReturnLine, ReturnReason, ReturnRequest
from .selectors import returns as return_selectors
from .services import returns as return_services

# Input ------------------------------------------------------------------------------------------


class ReturnLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64, help_text=gettext_lazy("The SKU of a line of the order."))
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)
    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True)


class ReturnInputSerializer(serializers.Serializer):
    order_number = serializers.CharField(
        max_length=24,
        required=False,
        help_text=gettext_lazy("The order's number; or give channel_order_id."),
    )
    channel_order_id = serializers.CharField(
        max_length=64,
        required=False,
        help_text=gettext_lazy("The channel's own id of the order."),
    )
    lines = ReturnLineInputSerializer(many=True, allow_empty=False, max_length=MAX_LINES)
    wanted_outcome = serializers.ChoiceField(
        choices=Outcome.choices,
        help_text=gettext_lazy("What the customer wants: a refund, an exchange or a repair."),
    )
    customer_note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    channel_return_id = serializers.CharField(
        max_length=64,
        help_text=gettext_lazy("The channel's own id of the return; a return is asked for once per id."),
    )

    def validate(self, data):
        if bool(data.get("order_number")) == bool(data.get("channel_order_id")):
            raise serializers.ValidationError(
                {"order_number": [_("Name the order by either order_number or channel_order_id.")]}
            )
        return data


# Output -----------------------------------------------------------------------------------------


class ReturnLineSerializer(serializers.Serializer):
    sku = serializers.CharField(source="order_line.sku", read_only=True)
    name = serializers.CharField(source="order_line.name", read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    reason = serializers.ChoiceField(choices=ReturnReason.choices, read_only=True)
    note = serializers.CharField(read_only=True)
    received_quantity = serializers.IntegerField(read_only=True)


class ReturnSummarySerializer(serializers.Serializer):
    number = serializers.CharField(read_only=True)
    channel_return_id = serializers.CharField(source="channel_reference", read_only=True)
    status = serializers.ChoiceField(choices=ReturnRequest.Status.choices, read_only=True)
    wanted_outcome = serializers.ChoiceField(choices=Outcome.choices, read_only=True)
    resolution = serializers.ChoiceField(
        choices=Outcome.choices,
        allow_blank=True,
        read_only=True,
        help_text=gettext_lazy("How the return was resolved; empty until it is."),
    )
    created_at = moment()


class ReturnSerializer(ReturnSummarySerializer):
    order_number = serializers.CharField(source="order.number", read_only=True)
    within_window = serializers.BooleanField(
        read_only=True,
        help_text=gettext_lazy("Whether it was asked for within the return window after delivery."),
    )
    window_days = serializers.IntegerField(read_only=True)
    customer_note = serializers.CharField(read_only=True)
    rejection_reason = serializers.CharField(read_only=True)
    lines = ReturnLineSerializer(many=True, read_only=True)
    updated_at = moment()


def order_returns() -> OrderPart:
    """The order's returns, oldest first, as the channel API's order shows them."""
    return OrderPart(
        name="returns",
        field=ReturnSummarySerializer(many=True, read_only=True),
        lookup=Prefetch("returns", queryset=ReturnRequest.objects.order_by("created_at", "id")),
    )


# Returns ----------------------------------------------------------------------------------------

SERVICE_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(\w+)$")
# request_return names some fields as its inputs do; the request names them for the channel.
REQUEST_FIELD = {"channel_reference": "channel_return_id"}
REQUEST_LINE_FIELD = {"order_line_id": "sku"}
REQUEST_FIELDS = set(ReturnInputSerializer._declared_fields)


def request_pointer(service_field):
    """Where a field `request_return` complains about is in the request body: its `lines[0].quantity`
    is #/lines/0/quantity; a complaint about the return as a whole (or the order) points at the body."""
    line = SERVICE_LINE_FIELD.match(service_field)
    if line:
        field = line.group(2)
        return json_pointer("lines", int(line.group(1)), REQUEST_LINE_FIELD.get(field, field))
    field = REQUEST_FIELD.get(service_field, service_field)
    return field_pointer(field) if field in REQUEST_FIELDS else json_pointer()


def return_lines(order, lines):
    """The request's lines as the service's ReturnLineInputs: each SKU names the order's line of that
    SKU (an order with a SKU on several lines: each request line of it takes the next such line)."""
    waiting = {}
    for order_line in order.lines.order_by("id"):
        waiting.setdefault(order_line.sku, []).append(order_line.pk)
    inputs, errors = [], []
    for index, line in enumerate(lines):
        candidates = waiting.get(line["sku"])
        if not candidates:
            values = {"number": order.number, "sku": line["sku"]}
            errors.append(
                {
                    "pointer": json_pointer("lines", index, "sku"),
                    "detail": _("SKU “%(sku)s” is on more lines of this return than of order %(number)s.") % values
                    if line["sku"] in waiting
                    else _("Order %(number)s has no line with SKU “%(sku)s”.") % values,
                }
            )
            continue
        inputs.append(
            return_services.ReturnLineInput(
                order_line_id=candidates.pop(0),
                quantity=line["quantity"],
                reason=line["reason"],
                note=line.get("note", ""),
            )
        )
    if errors:
        raise invalid_request(errors)
    return inputs


@extend_schema_view(
    retrieve=extend_schema(
        description=gettext_lazy(
            "One of the channel's returns with its lines, where it stands and how it was resolved."
        )
    ),
)
class ReturnViewSet(ChannelAPIMixin, viewsets.GenericViewSet):
    """Returns of the channel's own orders."""

    serializer_class = ReturnSerializer
    lookup_field = "number"
    lookup_value_regex = "[^/]+"
    problem_statuses = {"retrieve": (404,)}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReturnRequest.objects.none()
        return (
            return_selectors.channel_returns(self.channel)
            .select_related("order")
            .prefetch_related(
                Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line")),
            )
        )

    def retrieve(self, request, number=None):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        request=ReturnInputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: OpenApiResponse(ReturnSerializer, description=gettext_lazy("The return, asked for now.")),
            200: OpenApiResponse(
                ReturnSerializer, description=gettext_lazy("The return asked for before under this channel_return_id.")
            ),
            **problem_responses(400, 401, 404, 409, 413, 415, 422, 429),
        },
        description=gettext_lazy(
            "Ask for a return of goods of one of the channel's orders, naming each line by SKU with the "
            "quantity and the reason, and what the customer wants. It goes through the same checks as a "
            "return entered in the console (what was delivered, the return window). A channel_return_id "
            "asked for before is not asked for again: the answer is 200 with that return."
        ),
    )
    def create(self, request):
        incoming = ReturnInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        status_code, body, headers = answer_once(request, self.channel, partial(self._ask, incoming.validated_data))
        if status_code >= 400:
            return problem_response(status_code, body, headers)
        headers["Location"] = self.reverse_action("detail", kwargs={"number": body["number"]})
        return Response(body, status=status_code, headers=headers)

    def _order(self, data):
        orders = order_selectors.channel_orders(self.channel)
        if data.get("order_number"):
            order = orders.filter(number=data["order_number"]).first()
        else:
            order = orders.filter(channel_order_id=data["channel_order_id"]).first()
        if order is None:
            raise Problem(404, "not_found", _("The channel has no such order."))
        return order

    def _ask(self, data):
        """(status, body): 201 with the new return, 200 with the one asked for before under the same
        channel_return_id, or 409 when that id named a return of another order (request_return
        recognises the id, under the order's lock, so tries at once find the first). Invalid returns
        raise, so nothing of them is kept."""
        order = self._order(data)
        try:
            asked = return_services.request_return(
                order.pk,
                lines=return_lines(order, data["lines"]),
                wanted_outcome=data["wanted_outcome"],
                actor=SYSTEM,
                customer_note=data.get("customer_note", ""),
                channel_reference=data["channel_return_id"],
            )
        except return_services.ReturnAlreadyRequested as repeated:
            if not repeated.same_order:
                return 409, problem_body(409, "duplicate_return", " ".join(repeated.messages))
            return 200, self.get_serializer(self.get_queryset().get(pk=repeated.existing.pk)).data
        except ValidationError as error:
            raise invalid_request(service_errors(error, request_pointer)) from None
        return 201, self.get_serializer(self.get_queryset().get(pk=asked.pk)).data
