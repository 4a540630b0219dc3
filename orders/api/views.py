from functools import partial

from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db.models import prefetch_related_objects
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import defaults
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from core.actors import SYSTEM
from core.transitions import TransitionRefused
from inventory import api as inventory_api

from .. import selectors, services
from ..models import Order
from .authentication import ChannelTokenAuthentication
from .filters import FilterBackend, OrderFilter
from .idempotency import IDEMPOTENCY_PARAMETER, answer_once
from .pagination import OrderPagination, ProductPagination
from .parsers import JSONParser
from .payments import PROBLEMS as PAYMENT_PROBLEMS
from .payments import OrderPaymentsMixin
from .permissions import IsChannel
from .problems import (
    PROBLEM_CONTENT_TYPE,
    Problem,
    invalid_request,
    problem_body,
    problem_response,
    service_errors,
)
from .schema import ChannelAutoSchema
from .serializers import (
    CancelInputSerializer,
    OrderInputSerializer,
    OrderSerializer,
    OrderSummarySerializer,
    detail_lookups,
    request_pointer,
)
from .throttling import ChannelRateThrottle


class ChannelAPIMixin:
    """What every channel endpoint shares: the channel's token, its own rate limit, JSON in and out,
    filters whose bad values are reported by parameter, and error responses in the schema."""

    authentication_classes = [ChannelTokenAuthentication]
    permission_classes = [IsChannel]
    throttle_classes = [ChannelRateThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    filter_backends = [FilterBackend]
    schema = ChannelAutoSchema()
    problem_statuses = {"list": (400,), "retrieve": (404,)}

    @property
    def channel(self):
        return self.request.user.channel

    def get_object(self):
        # No order or return number holds a NUL byte, and PostgreSQL refuses one in a query.
        if "\x00" in self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, ""):
            raise NotFound
        return super().get_object()


@extend_schema_view(
    list=extend_schema(
        description=gettext_lazy(
            "The channel's own orders, newest first, a page at a time: follow `next` for the next page. "
            "Orders finished long ago and archived are not listed; each is still answered by its number."
        )
    ),
    retrieve=extend_schema(
        description=gettext_lazy(
            "One of the channel's orders with its lines, payments and shipments (tracking numbers and the "
            "carrier's tracking events). An archived order is answered as it was when it was archived."
        )
    ),
)
class OrderViewSet(OrderPaymentsMixin, ChannelAPIMixin, viewsets.GenericViewSet):
    """The channel's own orders. The apps above orders add their parts (shipments, returns) to the
    order's representation through orders.events.ORDER_API_PARTS."""

    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    pagination_class = OrderPagination
    lookup_field = "number"
    lookup_value_regex = "[^/]+"
    problem_statuses = {
        "list": (400,),
        "retrieve": (404,),
        "create": (400, 409, 413, 415, 422),
        "cancel": (400, 404, 409, 413, 415),
        "payments": PAYMENT_PROBLEMS,
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        orders = selectors.channel_orders(self.channel)
        return orders if self.action == "list" else orders.prefetch_related(*self.detail_lookups())

    def detail_lookups(self):
        return detail_lookups()

    def get_serializer_class(self):
        return OrderSummarySerializer if self.action == "list" else self.serializer_class

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, number=None):
        try:
            order = self.get_object()
        except Http404:
            # Finished orders move to the archive; the channel gets the answer kept for them then
            # (docs/architecture.md, "Archive").
            archived = selectors.archived_order_of_channel(self.channel, number)
            if archived is None:
                raise
            return Response(archived.api_answer)
        return Response(self.get_serializer(order).data)

    @extend_schema(
        request=OrderInputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        description=gettext_lazy(
            "Place an order. It goes through the same checks as every order and is confirmed with its stock "
            "reserved, or held for review. An order whose channel_order_id was placed before is not placed "
            "again: the answer is 409 with the existing order's number."
        ),
    )
    def create(self, request):
        incoming = OrderInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        status_code, body, headers = answer_once(
            request, self.channel, partial(self._place, incoming.order_input(self.channel))
        )
        if status_code >= 400:
            return problem_response(status_code, body, headers)
        headers["Location"] = self.reverse_action("detail", kwargs={"number": body["number"]})
        return Response(body, status=status_code, headers=headers)

    def _place(self, order_input):
        """(status, body) for one order: 201 with the order, or 409 when its channel order id was
        placed before. Invalid orders raise, so nothing of them is kept."""
        try:
            result = services.place_order(order_input, actor=SYSTEM)
        except ValidationError as error:
            raise invalid_request(service_errors(error, request_pointer)) from None
        order = result.order
        if not result.created:
            return 409, problem_body(
                409,
                "duplicate_order",
                _("Channel order id %(id)s was placed before, as order %(number)s.")
                % {"id": order.channel_order_id, "number": order.number},
                order_number=order.number,
            )
        prefetch_related_objects([order], *self.detail_lookups())
        return 201, self.get_serializer(order).data

    @extend_schema(
        operation_id="v1_orders_cancel",
        request=CancelInputSerializer,
        description=gettext_lazy(
            "Cancel an order that has not shipped: its reserved stock is released and any payment becomes a "
            "refund owed. Once the order has shipped (or is cancelled already) the answer is 409."
        ),
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, number=None):
        order = self.get_object()
        incoming = CancelInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        reason = _("Cancelled by channel %(channel)s through the API.") % {"channel": self.channel.name}
        if incoming.validated_data.get("reason"):
            reason = f"{reason} {incoming.validated_data['reason']}"
        try:
            services.cancel(order.pk, actor=SYSTEM, reason=reason)
        except TransitionRefused as refusal:
            raise Problem(409, "order_not_cancellable", str(refusal)) from None
        return Response(self.get_serializer(self.get_object()).data)


class ProductViewSet(ChannelAPIMixin, inventory_api.ProductViewSet):
    """Products on sale, by SKU, with the units the asking channel can still order: on hand minus
    reserved over all active warehouses, less the stock kept back from the channel
    (docs/architecture.md, "Stock per channel")."""

    pagination_class = ProductPagination

    def paginate_queryset(self, queryset):
        # Every answer is a page (ProductPagination), so the shares are worked out for its products only.
        page = super().paginate_queryset(queryset)
        available = selectors.available_to_channel(self.channel, page)
        for product in page:
            product.available = available[product.pk]
        return page


# Errors answered by Django rather than by a view: under these paths in problem details, elsewhere
# with the console's pages (config.urls names these handlers).
API_PATHS = ("/api/", "/webhooks/")


def _problem(status_code, code, detail):
    body = problem_body(status_code, code, detail)
    return JsonResponse(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def not_found(request, *args, **kwargs):
    """Addresses under /api/ that match no endpoint answer in the API's error shape, not with the
    console's HTML page (and POSTs are not redirected to an added slash)."""
    return _problem(404, "not_found", _("There is no API endpoint at this address."))


def page_not_found(request, exception):
    if not request.path.startswith(API_PATHS):
        return defaults.page_not_found(request, exception)
    return not_found(request)


def bad_request(request, exception):
    """What Django refuses before a view runs: a body over DATA_UPLOAD_MAX_MEMORY_SIZE (413), or
    another request it finds suspicious (400)."""
    if not request.path.startswith(API_PATHS):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return _problem(413, "too_large", _("The body is larger than the server accepts; send less at once."))
    return _problem(400, "bad_request", _("The request cannot be read."))


def permission_denied(request, exception):
    if not request.path.startswith(API_PATHS):
        return defaults.permission_denied(request, exception)
    return _problem(403, "permission_denied", _("You may not do this."))


def server_error(request):
    """An unexpected error: the client learns nothing of its cause (it is in the server's log)."""
    if not request.path.startswith(API_PATHS):
        return defaults.server_error(request)
    return _problem(500, "server_error", _("Something went wrong on the server; try again later."))
