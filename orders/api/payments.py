"""`POST /api/v1/orders/{number}/payments/`: a channel reports money received for one of its orders
(docs/architecture.md, "Orders that wait"). An order awaiting payment that the payment makes paid
moves on through the checks. Idempotent like placing an order: a retry under the same
Idempotency-Key gets the first answer, and nothing is recorded twice."""

from decimal import Decimal
from functools import partial

from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from core.actors import SYSTEM
from core.transitions import TransitionRefused

from .. import services
from ..models import Order, PaymentMethod
from .idempotency import IDEMPOTENCY_PARAMETER, answer_once
from .problems import invalid_request, problem_body, problem_response, problem_responses, service_errors
from .serializers import OrderSerializer

PROBLEMS = (400, 404, 409, 413, 415, 422)


class PaymentInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    method = serializers.ChoiceField(
        choices=PaymentMethod.choices,
        required=False,
        help_text=gettext_lazy("How it was paid; the order's payment method when left out."),
    )
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    instalment_number = serializers.IntegerField(min_value=1, max_value=999, required=False, allow_null=True)
    instalment_count = serializers.IntegerField(min_value=1, max_value=999, required=False, allow_null=True)


class OrderPaymentsMixin:
    """The `payments` action of the channel's OrderViewSet."""

    @extend_schema(
        operation_id="v1_orders_payments_create",
        request=PaymentInputSerializer,
        # 201 with the order: the payment is created (the schema's default for a POST action is 200).
        responses={201: OrderSerializer, **problem_responses(*PROBLEMS, 401, 429)},
        parameters=[IDEMPOTENCY_PARAMETER],
        description=gettext_lazy(
            "Record money received for an order. An order awaiting payment that this makes paid (its whole "
            "total; for instalments, the first instalment) goes through the checks: it is confirmed with its "
            "stock reserved, or held for review. A cancelled order, or one that would be paid more than its "
            "total, is answered 409 or 400 and nothing is recorded."
        ),
    )
    @action(detail=True, methods=["post"])
    def payments(self, request, number=None):
        order = self.get_object()
        incoming = PaymentInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        status_code, body, headers = answer_once(
            request, self.channel, partial(self._record_payment, order, dict(incoming.validated_data))
        )
        if status_code >= 400:
            return problem_response(status_code, body, headers)
        return Response(body, status=status_code, headers=headers)

    def _record_payment(self, order, data):
        data.setdefault("method", order.payment_method)
        try:
            services.record_payment(order.pk, actor=SYSTEM, **data)
        except TransitionRefused as refusal:
            return 409, problem_body(409, "payment_not_possible", str(refusal))
        except ValidationError as error:
            if order_cancelled(order.pk):
                return 409, problem_body(409, "payment_not_possible", " ".join(error.messages))
            raise invalid_request(service_errors(error)) from None
        order = Order.objects.get(pk=order.pk)
        prefetch_related_objects([order], *self.detail_lookups())
        return 201, self.get_serializer(order).data


def order_cancelled(order_id):
    return Order.objects.filter(pk=order_id, status=Order.Status.CANCELLED).exists()
