"""Fulfilment: pick lists, packing, carrier choice, dispatch and tracking. Each function is one
transaction. Locks are taken in one order everywhere: the order row, then its shipments (by pk),
then their lines; stock rows are locked by the inventory services (by pk)."""

import hmac
import secrets
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_fsm import can_proceed

from core.actors import stored_user
from core.permissions import Logistics, Orders, require
from core.transitions import TransitionRefused, ensure_allowed, record_transition
from inventory.models import StockLevel, Warehouse
from orders import services as orders
from orders.models import Allocation, NotificationEvent, Order
from orders.services import api_tokens as orders_api_tokens

from .models import Carrier, CarrierService, PickWave, Shipment, ShipmentLine, TrackingEvent, TrackingLookup
from .selectors import (
    failed_lookup_times,
    goods_waiting,
    order_for_tracking,
    phone_of_order,
    plan_dispatch_upload,
    plan_event_upload,
    warehouses_on_a_pick_list,
)

DEFAULT_TRANSIT_DAYS = 3
PICKABLE = [Order.Status.CONFIRMED, Order.Status.PICKING, Order.Status.PARTIALLY_SHIPPED]
MAX_PACKAGES = 99
MAX_WEIGHT_KG = Decimal("9999")


def _not_possible_now(shipment, bound_method):
    return _("Shipment %(shipment)s is %(status)s now.") % {
        "shipment": shipment,
        "status": shipment.get_status_display(),
    }


def _not_for_this_role(shipment, bound_method):
    return _("Your role may not do this with shipments.")


def _step(shipment, bound_method, actor):
    """Take one shipment transition, refusing it with the shipment's current state when it is not
    possible now (usually: someone else was quicker)."""
    ensure_allowed(shipment, bound_method, actor, refuse_state=_not_possible_now, refuse_role=_not_for_this_role)
    bound_method()


def add_working_days(start, days):
    """The date `days` working days (Monday to Friday) after `start`."""
    day = start
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


# Shipping rules


def _weight_of(lines):
    """Shipping weight of (product, quantity) pairs; at least 0.1 kg, since carriers bill so."""
    weight = sum((product.weight_kg * quantity for product, quantity in lines), Decimal("0"))
    return max(weight, Decimal("0.1"))


def _cheapest(services, weight_kg):
    return min(services, key=lambda s: (s.fee_for(weight_kg), s.transit_days, s.pk), default=None)


def choose_service(order, *, weight_kg, fragile, repair=False):
    """The carrier service the shipping rules pick for a parcel of an order, and the rule that
    decided: fragile goods travel with special handling; an express request or a delivery window
    that standard transit would miss goes express; cash on delivery needs a carrier that collects;
    otherwise the cheapest for the weight. A `repair` parcel collects no cash and keeps no
    delivery promise: those were the order's first delivery. Returns (None, "") when no active
    service fits."""
    candidates = list(CarrierService.objects.filter(active=True, carrier__active=True).select_related("carrier"))
    cod = not repair and order.collects_on_delivery
    if cod:
        candidates = [s for s in candidates if s.supports_cod]
    if fragile:
        candidates = [s for s in candidates if s.supports_fragile]
        special = [s for s in candidates if s.kind == CarrierService.Kind.SPECIAL_HANDLING]
        service = _cheapest(special or candidates, weight_kg)
        return (service, Shipment.ServiceReason.FRAGILE) if service else (None, "")
    cheapest = _cheapest(candidates, weight_kg)
    express = [s for s in candidates if s.kind == CarrierService.Kind.EXPRESS]
    if express and not repair:
        if order.express_requested:
            return _cheapest(express, weight_kg), Shipment.ServiceReason.EXPRESS_REQUESTED
        if order.delivery_window_end and cheapest and _misses_window(cheapest, order.delivery_window_end):
            return _cheapest(express, weight_kg), Shipment.ServiceReason.TIGHT_WINDOW
    if cheapest is None:
        return None, ""
    return cheapest, (Shipment.ServiceReason.CASH_ON_DELIVERY if cod else Shipment.ServiceReason.CHEAPEST)


def _misses_window(service, deliver_by):
    today = timezone.localdate()
    return add_working_days(today, service.transit_days) > timezone.localdate(deliver_by)


# Pick lists


@transaction.atomic
def create_pick_wave(warehouse_id, order_ids, *, actor):
    """One pick list for the chosen orders' goods waiting in one warehouse: each order gets a
    shipment from that warehouse with its lines and the carrier service the rules choose, and
    confirmed orders move to picking. All or nothing: an order that cannot be picked there refuses
    the whole list, naming it."""
    require(actor, Orders.PICK_ORDER, _("Your role may not create pick lists."))
    warehouse = Warehouse.objects.filter(pk=warehouse_id, active=True).first()
    if warehouse is None:
        raise ValidationError({"warehouse": _("Choose an active warehouse.")})
    order_ids = sorted(set(order_ids))
    if not order_ids:
        raise ValidationError(_("Choose at least one order."))
    locked = list(Order.objects.select_for_update().filter(pk__in=order_ids).order_by("pk"))
    waiting = defaultdict(lambda: defaultdict(int))
    products = {}
    for allocation in (
        Allocation.objects.filter(
            line__order_id__in=order_ids,
            state=Allocation.State.RESERVED,
            stock_level__warehouse=warehouse,
        )
        .select_related("line__product")
        .order_by("pk")
    ):
        waiting[allocation.line.order_id][allocation.line] += allocation.quantity
        products[allocation.line.pk] = allocation.line.product
    waiting_in = goods_waiting(order_ids)
    on_lists_in = warehouses_on_a_pick_list(order_ids)
    codes = dict(Warehouse.objects.values_list("pk", "code"))
    refused = [
        reason.rstrip(".")
        for order in locked
        if (
            reason := why_not_pickable(
                order,
                warehouse,
                waiting_in=set(waiting_in[order.pk]),
                on_lists_in=on_lists_in[order.pk],
                warehouse_codes=codes,
            )
        )
    ]
    missing = set(order_ids) - {order.pk for order in locked}
    if missing:
        refused.append(
            ngettext(
                "%(count)d of the chosen orders no longer exists",
                "%(count)d of the chosen orders no longer exist",
                len(missing),
            )
            % {"count": len(missing)}
        )
    if refused:
        raise ValidationError(_("No pick list was made: %(problems)s.") % {"problems": "; ".join(refused)})

    wave = PickWave.objects.create(warehouse=warehouse, created_by=stored_user(actor))
    shipments, line_rows = [], []
    for order in locked:
        parcel = [(products[line.pk], quantity) for line, quantity in waiting[order.pk].items()]
        weight = _weight_of(parcel)
        service, reason = choose_service(order, weight_kg=weight, fragile=any(p.fragile for p, _q in parcel))
        shipments.append(
            Shipment(
                order=order,
                warehouse=warehouse,
                wave=wave,
                carrier=service.carrier if service else None,
                service=service,
                service_reason=reason,
                shipping_cost=service.fee_for(weight) if service else None,
            )
        )
    Shipment.objects.bulk_create(shipments)
    for shipment in shipments:
        line_rows += [
            ShipmentLine(shipment=shipment, order_line=line, quantity=quantity)
            for line, quantity in waiting[shipment.order_id].items()
        ]
    ShipmentLine.objects.bulk_create(line_rows)
    for order in locked:
        if order.status == Order.Status.CONFIRMED:
            record_transition(order, order.start_picking, actor=actor, reason=str(wave))
    return wave


# Packing


def _locked_shipment(shipment_id, *, lock_order):
    if lock_order:
        order_id = Shipment.objects.values_list("order_id", flat=True).get(pk=shipment_id)
        orders.lock_order(order_id)
    return (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("order", "warehouse", "carrier")
        .get(pk=shipment_id)
    )


def _ensure_packing(shipment):
    if shipment.status != Shipment.Status.PENDING:
        raise TransitionRefused(
            _("Shipment %(shipment)s is %(status)s: there is nothing left to pack.")
            % {"shipment": shipment, "status": shipment.get_status_display()}
        )


@transaction.atomic
def pack_item(shipment_id, code, *, actor):
    """One scanned unit (by barcode or SKU) goes into the parcel. An item that is not in the
    parcel, or whose quantity is already complete, is refused and nothing changes."""
    require(actor, Orders.PICK_ORDER, _("Your role may not pack orders."))
    code = (code or "").strip()
    if not code:
        raise ValidationError({"code": _("Scan an item's barcode or type its SKU.")})
    shipment = _locked_shipment(shipment_id, lock_order=False)
    _ensure_packing(shipment)
    lines = list(
        ShipmentLine.objects.select_for_update(of=("self",))
        .select_related("order_line__product")
        .filter(shipment=shipment)
        .order_by("pk")
    )
    matching = [
        line for line in lines if line.order_line.product.barcode == code or line.order_line.sku.lower() == code.lower()
    ]
    if not matching:
        raise ValidationError(
            {
                "code": _("%(code)s is not in order %(number)s. Put it aside.")
                % {"code": code, "number": shipment.order.number}
            }
        )
    line = next((line for line in matching if line.packed_quantity < line.quantity), None)
    if line is None:
        first = matching[0]
        raise ValidationError(
            {
                "code": _("All %(quantity)s × %(sku)s are already packed. Put this one aside.")
                % {"quantity": first.quantity, "sku": first.order_line.sku}
            }
        )
    line.packed_quantity += 1
    line.save(update_fields=["packed_quantity"])
    return line


def _positive_decimal(value, field, limit):
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: _("Enter a number.")}) from None
    if not number.is_finite() or number <= 0 or number > limit:
        raise ValidationError({field: _("Enter a number greater than 0 and at most %(limit)s.") % {"limit": limit}})
    return number


@transaction.atomic
def finish_packing(shipment_id, *, weight_kg, package_count, actor):
    """Close the parcel once every line is complete, with its weight and number of packages. The
    order is packed when none of its goods is still waiting to be packed in any warehouse."""
    require(actor, Orders.PICK_ORDER, _("Your role may not pack orders."))
    weight = _positive_decimal(weight_kg, "weight_kg", MAX_WEIGHT_KG).quantize(Decimal("0.001"))
    try:
        packages = int(str(package_count).strip())
    except ValueError:
        raise ValidationError({"package_count": _("Enter a whole number of packages.")}) from None
    if not 1 <= packages <= MAX_PACKAGES:
        raise ValidationError({"package_count": _("Enter between 1 and %(max)s packages.") % {"max": MAX_PACKAGES}})
    shipment = _locked_shipment(shipment_id, lock_order=True)
    _ensure_packing(shipment)
    missing = [line for line in shipment.lines.select_related("order_line") if line.packed_quantity < line.quantity]
    if missing:
        raise ValidationError(
            _("Still missing: %(items)s.")
            % {
                "items": ", ".join(
                    f"{line.quantity - line.packed_quantity} × {line.order_line.sku}" for line in missing
                )
            }
        )
    _step(shipment, shipment.pack, actor)
    shipment.weight_kg, shipment.package_count, shipment.packed_by = weight, packages, stored_user(actor)
    if shipment.service:
        shipment.shipping_cost = shipment.service.fee_for(weight)
    shipment.save()
    order = shipment.order
    if (
        shipment.purpose == Shipment.Purpose.ORDER
        and order.status == Order.Status.PICKING
        and not _goods_waiting_to_pack(order)
    ):
        record_transition(order, order.mark_packed, actor=actor, reason=str(shipment))
    return shipment


def _goods_waiting_to_pack(order):
    """Whether any warehouse still holds reserved goods of the order that are not in a packed parcel."""
    reserved_in = set(
        Allocation.objects.filter(line__order=order, state=Allocation.State.RESERVED).values_list(
            "stock_level__warehouse_id", flat=True
        )
    )
    packed_in = set(
        Shipment.objects.filter(order=order, status=Shipment.Status.PACKED, purpose=Shipment.Purpose.ORDER).values_list(
            "warehouse_id", flat=True
        )
    )
    return bool(reserved_in - packed_in)


# Repair parcels


@transaction.atomic
def create_repair_shipment(order_id, warehouse_id, lines, *, actor):
    """A parcel that takes a customer's repaired goods back from the warehouse that received them:
    `lines` are (order line id, quantity) pairs of the order. It is packed, dispatched and tracked
    like any parcel, with the service the shipping rules choose, but it moves no stock and never
    the order's status (see dispatch)."""
    require(actor, Logistics.ADD_SHIPMENT, _("Your role may not create parcels."))
    order = orders.lock_order(order_id)
    if order.status not in (Order.Status.DELIVERED, Order.Status.COMPLETED):
        raise TransitionRefused(
            _("Order %(number)s is %(status)s: only goods that reached the customer come back for repair.")
            % {"number": order.number, "status": order.get_status_display()}
        )
    warehouse = Warehouse.objects.filter(pk=warehouse_id, active=True).first()
    if warehouse is None:
        raise ValidationError({"warehouse": _("Choose an active warehouse.")})
    order_lines = {line.pk: line for line in order.lines.select_related("product")}
    quantities = defaultdict(int)
    for line_id, quantity in lines:
        if line_id not in order_lines:
            raise ValidationError({"lines": _("This line is not on order %(number)s.") % {"number": order.number}})
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise ValidationError({"lines": _("Enter a whole number greater than zero.")})
        quantities[line_id] += quantity
    if not quantities:
        raise ValidationError({"lines": _("A parcel needs at least one item.")})
    for line_id, quantity in quantities.items():
        if quantity > order_lines[line_id].quantity:
            raise ValidationError(
                {
                    "lines": _("Order %(number)s has only %(quantity)d × %(sku)s.")
                    % {
                        "number": order.number,
                        "quantity": order_lines[line_id].quantity,
                        "sku": order_lines[line_id].sku,
                    }
                }
            )
    parcel = [(order_lines[line_id].product, quantity) for line_id, quantity in quantities.items()]
    weight = _weight_of(parcel)
    service, reason = choose_service(order, weight_kg=weight, fragile=any(p.fragile for p, _q in parcel), repair=True)
    shipment = Shipment.objects.create(
        order=order,
        warehouse=warehouse,
        purpose=Shipment.Purpose.REPAIR,
        carrier=service.carrier if service else None,
        service=service,
        service_reason=reason,
        shipping_cost=service.fee_for(weight) if service else None,
    )
    ShipmentLine.objects.bulk_create(
        ShipmentLine(shipment=shipment, order_line=order_lines[line_id], quantity=quantity)
        for line_id, quantity in sorted(quantities.items())
    )
    return shipment


# Carrier, tracking number and dispatch


@transaction.atomic
def choose_carrier(shipment_id, service_id, *, actor):
    """A coordinator overrides the service the rules chose, before the parcel leaves."""
    require(actor, Logistics.CHOOSE_CARRIER, _("Your role may not choose carriers."))
    shipment = _locked_shipment(shipment_id, lock_order=True)
    if shipment.status not in Shipment.OPEN:
        raise TransitionRefused(
            _("Shipment %(shipment)s has already left; its carrier cannot change.") % {"shipment": shipment}
        )
    service = (
        CarrierService.objects.filter(pk=service_id, active=True, carrier__active=True)
        .select_related("carrier")
        .first()
    )
    if service is None:
        raise ValidationError({"service": _("Choose an active carrier service.")})
    if shipment.purpose == Shipment.Purpose.ORDER and shipment.order.collects_on_delivery and not service.supports_cod:
        raise ValidationError(
            {
                "service": _("%(service)s does not collect cash on delivery, which this order needs.")
                % {"service": service}
            }
        )
    if shipment.carrier_id != service.carrier_id and shipment.tracking_number:
        raise ValidationError(
            {
                "service": _("Remove the %(carrier)s tracking number before changing the carrier.")
                % {"carrier": shipment.carrier}
            }
        )
    weight = shipment.weight_kg or _weight_of(
        [(line.order_line.product, line.quantity) for line in shipment.lines.select_related("order_line__product")]
    )
    shipment.service, shipment.carrier = service, service.carrier
    shipment.service_reason = Shipment.ServiceReason.CHOSEN_BY_STAFF
    shipment.shipping_cost = service.fee_for(weight)
    shipment.save()
    return shipment


def _set_tracking_number(shipment, carrier_id, tracking_number):
    tracking_number = (tracking_number or "").strip()
    if not tracking_number:
        raise ValidationError({"tracking_number": _("Enter the tracking number.")})
    if len(tracking_number) > Shipment._meta.get_field("tracking_number").max_length:
        raise ValidationError({"tracking_number": _("A tracking number has at most 64 characters.")})
    carrier = Carrier.objects.filter(pk=carrier_id or shipment.carrier_id, active=True).first()
    if carrier is None:
        raise ValidationError({"carrier": _("Choose an active carrier.")})
    taken = Shipment.objects.filter(carrier=carrier, tracking_number=tracking_number).exclude(pk=shipment.pk)
    already_used = ValidationError(
        {
            "tracking_number": _("%(carrier)s tracking number %(number)s is already on another shipment.")
            % {"carrier": carrier, "number": tracking_number}
        }
    )
    if taken.exists():
        raise already_used
    if carrier.pk != shipment.carrier_id:
        same_kind = carrier.services.filter(active=True, kind=getattr(shipment.service, "kind", None)).first()
        shipment.carrier, shipment.service = carrier, same_kind
        shipment.service_reason = Shipment.ServiceReason.CHOSEN_BY_STAFF
    shipment.tracking_number = tracking_number
    try:
        # Two parcels given one number at once: the unique constraint decides.
        with transaction.atomic():
            shipment.save()
    except IntegrityError as error:
        raise already_used from error


@transaction.atomic
def assign_tracking_number(shipment_id, carrier_id, tracking_number, *, actor):
    """Give a parcel that has not left yet its carrier's tracking number (for the label)."""
    require(actor, Logistics.RECORD_TRACKING, _("Your role may not enter tracking numbers."))
    shipment = _locked_shipment(shipment_id, lock_order=True)
    if shipment.status not in Shipment.OPEN:
        raise TransitionRefused(
            _("Shipment %(shipment)s has already left; its tracking number cannot change.") % {"shipment": shipment}
        )
    _set_tracking_number(shipment, carrier_id, tracking_number)
    return shipment


@transaction.atomic
def dispatch(shipment_id, *, actor, tracking_number=None, carrier_id=None):
    """Hand a packed parcel to its carrier: its stock leaves `on_hand` and `reserved` through the
    ledger, the order is (partially) shipped, and the customer is told with the tracking link. A
    repair parcel carries the customer's own goods, which were never stock: it moves neither stock
    nor the order."""
    require(actor, Orders.DISPATCH_ORDER, _("Your role may not dispatch orders."))
    shipment = _locked_shipment(shipment_id, lock_order=True)
    if shipment.status != Shipment.Status.PACKED:
        raise TransitionRefused(
            _("Shipment %(shipment)s is %(status)s: only a packed parcel can be dispatched.")
            % {"shipment": shipment, "status": shipment.get_status_display()}
        )
    if tracking_number:
        _set_tracking_number(shipment, carrier_id, tracking_number)
    if not shipment.carrier_id or not shipment.tracking_number:
        raise ValidationError({"tracking_number": _("Enter the carrier and tracking number before dispatch.")})
    _step(shipment, shipment.dispatch, actor)
    transit_days = shipment.service.transit_days if shipment.service else DEFAULT_TRANSIT_DAYS
    shipment.expected_delivery_on = add_working_days(timezone.localdate(shipment.shipped_at), transit_days)
    shipment.dispatched_by = stored_user(actor)
    shipment.save()
    if shipment.purpose == Shipment.Purpose.ORDER:
        orders.dispatch_from_warehouse(shipment.order_id, shipment.warehouse_id, actor=actor, reference=str(shipment))
    orders.notify(shipment.order, NotificationEvent.ORDER_SHIPPED, shipment=shipment)
    return shipment


# Tracking


EVENT_STEPS = {
    TrackingEvent.Status.IN_TRANSIT: "report_in_transit",
    TrackingEvent.Status.OUT_FOR_DELIVERY: "report_out_for_delivery",
    TrackingEvent.Status.EXCEPTION: "report_exception",
    TrackingEvent.Status.RETURNED: "return_to_sender",
    TrackingEvent.Status.DELIVERED: "deliver",
}
EVENT_NOTIFICATIONS = {
    TrackingEvent.Status.OUT_FOR_DELIVERY: NotificationEvent.OUT_FOR_DELIVERY,
    TrackingEvent.Status.DELIVERED: NotificationEvent.DELIVERED,
}


@transaction.atomic
def record_tracking_event(
    shipment_id, *, status, occurred_at, source, location="", description="", exception_kind="", actor
):
    """What a carrier reported about a parcel. The same report twice is kept once. A report moves
    the parcel on unless a later one has already arrived (carriers deliver reports out of order);
    a delivery report delivers the parcel, and the order once all its parcels are delivered."""
    require(actor, Logistics.RECORD_TRACKING, _("Your role may not record tracking events."))
    return _apply_event(
        shipment_id,
        status=status,
        occurred_at=occurred_at,
        source=source,
        location=location,
        description=description,
        exception_kind=exception_kind,
        actor=actor,
    )


@transaction.atomic
def mark_delivered(shipment_id, *, actor):
    """Staff record a delivery the carrier confirmed some other way (a phone call, a signed slip)."""
    require(actor, Orders.DISPATCH_ORDER, _("Your role may not record deliveries."))
    shipment = _locked_shipment(shipment_id, lock_order=True)
    # Checked under the lock: of two people recording one delivery, the second is told.
    if not can_proceed(shipment.deliver):
        raise TransitionRefused(
            _("Shipment %(shipment)s is %(status)s now.")
            % {"shipment": shipment, "status": shipment.get_status_display()}
        )
    event, _created = _apply_event(
        shipment_id,
        status=TrackingEvent.Status.DELIVERED,
        occurred_at=timezone.now(),
        source=TrackingEvent.Source.CONSOLE,
        location="",
        description=_("Delivery recorded by staff"),
        exception_kind="",
        actor=actor,
    )
    return event.shipment


def _apply_event(shipment_id, *, status, occurred_at, source, location, description, exception_kind, actor):
    if status not in TrackingEvent.Status.values:
        raise ValidationError(
            {"status": _("Use one of: %(choices)s.") % {"choices": ", ".join(TrackingEvent.Status.values)}}
        )
    if occurred_at is None or timezone.is_naive(occurred_at):
        raise ValidationError({"occurred_at": _("Give the time with its time zone.")})
    if occurred_at > timezone.now() + timedelta(hours=1):
        raise ValidationError({"occurred_at": _("This time is in the future.")})
    exception_kind = exception_kind or ""
    if status == TrackingEvent.Status.EXCEPTION and not exception_kind:
        raise ValidationError({"exception_kind": _("Say what went wrong: delayed, lost, damaged or address problem.")})
    shipment = _locked_shipment(shipment_id, lock_order=True)
    if shipment.status in Shipment.OPEN + [Shipment.Status.CANCELLED]:
        raise TransitionRefused(
            _("Shipment %(shipment)s has not left the warehouse; tracking starts at dispatch.") % {"shipment": shipment}
        )
    event, created = TrackingEvent.objects.get_or_create(
        shipment=shipment,
        status=status,
        occurred_at=occurred_at,
        defaults={
            "location": (location or "")[:120],
            "description": (description or "")[:255],
            "exception_kind": exception_kind,
            "source": source,
            "recorded_by": stored_user(actor),
        },
    )
    if not created:
        return event, False
    latest = shipment.last_event_at is None or occurred_at >= shipment.last_event_at
    step = getattr(shipment, EVENT_STEPS[status])
    moves = can_proceed(step) and (latest or status == TrackingEvent.Status.DELIVERED)
    if latest:
        shipment.last_event_at = occurred_at
    if moves:
        step()
        if status == TrackingEvent.Status.EXCEPTION:
            shipment.exception_kind = exception_kind
        if status == TrackingEvent.Status.DELIVERED:
            shipment.delivered_at = occurred_at
    shipment.save()
    if moves and status == TrackingEvent.Status.DELIVERED:
        _deliver_order_when_complete(shipment, actor)
    if moves and status in EVENT_NOTIFICATIONS:
        orders.notify(shipment.order, EVENT_NOTIFICATIONS[status], shipment=shipment)
    return event, True


def _deliver_order_when_complete(shipment, actor):
    """The order is delivered with its last parcel of goods; a repair parcel arrives long after."""
    if shipment.purpose != Shipment.Purpose.ORDER:
        return
    order = shipment.order
    undelivered = (
        order.shipments.filter(purpose=Shipment.Purpose.ORDER)
        .exclude(status__in=[Shipment.Status.DELIVERED, Shipment.Status.CANCELLED])
        .exists()
    )
    if not undelivered and order.status == Order.Status.SHIPPED:
        orders.record_delivery(order.pk, actor=actor, reason=str(shipment))


@transaction.atomic
def cancel_open_shipments(order):
    """An order cancelled before it left: its parcels waiting to be packed or dispatched are void."""
    for shipment in Shipment.objects.select_for_update().filter(order=order, status__in=Shipment.OPEN).order_by("pk"):
        shipment.cancel()
        shipment.save()


# Carrier webhook tokens

WEBHOOK_TOKEN_BYTES = 32


@transaction.atomic
def issue_webhook_token(carrier_id, *, actor):
    """A new webhook token for a carrier, replacing any earlier one at once. Only its hash and first
    characters are kept: the returned token is shown once and cannot be read back."""
    require(actor, Logistics.CHANGE_CARRIER, _("Your role may not manage carrier webhook tokens."))
    carrier = Carrier.objects.select_for_update().filter(pk=carrier_id).first()
    if carrier is None:
        raise ValidationError({"carrier": _("This carrier no longer exists.")})
    token = secrets.token_urlsafe(WEBHOOK_TOKEN_BYTES)
    carrier.webhook_token_hash = orders_api_tokens.token_hash(token)
    carrier.webhook_token_prefix = token[:8]
    carrier.save(update_fields=["webhook_token_hash", "webhook_token_prefix"])
    return token


# What the rules say before a pick list is made (read only: the console shows it ahead)


@dataclass(frozen=True)
class ParcelPlan:
    """The parcel a warehouse would send for an order, and the service the shipping rules choose."""

    warehouse: Warehouse
    units: int
    weight_kg: Decimal
    service: CarrierService | None
    reason: str
    needs: tuple = ()

    @property
    def reason_label(self):
        return Shipment.ServiceReason(self.reason).label if self.reason else ""

    @property
    def fee(self):
        return self.service.fee_for(self.weight_kg) if self.service else None


def plan_parcels(order, waiting):
    """What create_pick_wave would choose for each warehouse holding goods of the order; `waiting`
    maps warehouse ids to the (product, quantity) pairs waiting there (selectors.goods_waiting).
    `needs` says what narrowed the choice, so a parcel no service fits can say why."""
    warehouses = Warehouse.objects.in_bulk(list(waiting))
    cod = order.collects_on_delivery
    plans = []
    for warehouse_id, parcel in waiting.items():
        weight = _weight_of(parcel)
        fragile = any(product.fragile for product, _quantity in parcel)
        service, reason = choose_service(order, weight_kg=weight, fragile=fragile)
        needs = ((_("collects cash on delivery"),) if cod else ()) + ((_("takes fragile goods"),) if fragile else ())
        plans.append(
            ParcelPlan(
                warehouse=warehouses[warehouse_id],
                units=sum(q for _p, q in parcel),
                weight_kg=weight,
                service=service,
                reason=reason,
                needs=needs,
            )
        )
    return sorted(plans, key=lambda plan: (plan.warehouse.priority, plan.warehouse.code))


def why_not_pickable(order, warehouse, *, waiting_in, on_lists_in, warehouse_codes):
    """Why create_pick_wave would refuse the order for a pick list of `warehouse`, or "" when it
    would take it. `waiting_in` and `on_lists_in` are the ids of the warehouses holding its
    reserved goods and those where it already is on a list; `warehouse_codes` names warehouses."""
    values = {"number": order.number, "warehouse": warehouse.code, "status": order.get_status_display()}
    if order.status not in PICKABLE:
        return _("%(number)s is %(status)s: only confirmed orders, or orders being picked, go on a pick list.") % values
    if warehouse.pk in on_lists_in:
        return _("%(number)s is already on a pick list for %(warehouse)s.") % values
    if warehouse.pk not in waiting_in:
        elsewhere = sorted(warehouse_codes[pk] for pk in waiting_in if pk in warehouse_codes)
        if not elsewhere:
            return _("%(number)s has nothing waiting to be picked in any warehouse.") % values
        return _("%(number)s has nothing waiting in %(warehouse)s; its goods wait in %(elsewhere)s.") % {
            **values,
            "elsewhere": ", ".join(elsewhere),
        }
    return ""


# Uploads: dispatch by a sheet of tracking numbers, tracking events from a carrier's file


class UploadRefused(ValidationError):
    """An upload that is applied as a whole or not at all, refused with its problems as
    (row, column key, message): the row as Excel numbers it, the column of the upload's layout."""

    def __init__(self, problems):
        self.problems = sorted(problems, key=lambda problem: (problem[0] or 0, problem[1]))
        super().__init__(
            [
                _("Row %(row)s: %(problem)s") % {"row": row, "problem": message}
                for row, _column, message in self.problems
            ]
        )


def _problems(planned):
    return [(row.row, column, message) for row in planned for column, message in row.errors.items()]


def _refusal_of(row, error, column):
    """A service's refusal of one upload row, on the column its field belongs to."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        return UploadRefused(
            [
                (row.row, field if field in row.values else column, " ".join(messages))
                for field, messages in error.message_dict.items()
            ]
        )
    messages = error.messages if isinstance(error, ValidationError) else [str(error)]
    return UploadRefused([(row.row, column, " ".join(messages))])


def _lock_orders_with_stock(order_ids):
    """Lock the orders of a multi-order upload, then the stock rows their reserved goods sit on,
    both by primary key, before any one of them is dispatched: each dispatch would otherwise lock
    its own stock rows in turn, and two uploads (or an upload and an intake) could wait on each
    other's rows."""
    order_ids = list(
        Order.objects.select_for_update().filter(pk__in=order_ids).order_by("pk").values_list("pk", flat=True)
    )
    level_ids = set(
        Allocation.objects.filter(line__order_id__in=order_ids, state=Allocation.State.RESERVED).values_list(
            "stock_level_id", flat=True
        )
    )
    list(StockLevel.objects.select_for_update().filter(pk__in=level_ids).order_by("pk").values_list("pk", flat=True))


@transaction.atomic
def dispatch_by_upload(rows, *, actor):
    """Dispatch the packed parcels a sheet names, one row each (order number, carrier, tracking
    number; see selectors.plan_dispatch_upload for which parcel a row takes). All or nothing: a
    problem on any row, found now or while dispatching, refuses the whole sheet with UploadRefused
    and nothing is dispatched. Returns the dispatched shipments in the sheet's order."""
    require(actor, Orders.DISPATCH_ORDER, _("Your role may not dispatch orders."))
    numbers = {str(row.get("order_number", "")).strip().upper() for row in rows}
    _lock_orders_with_stock(Order.objects.filter(number__in=numbers).values_list("pk", flat=True))
    planned = plan_dispatch_upload(rows)
    problems = _problems(planned)
    if problems:
        raise UploadRefused(problems)
    dispatched = []
    for row in planned:
        try:
            dispatched.append(
                dispatch(
                    row.shipment.pk,
                    actor=actor,
                    carrier_id=row.carrier.pk,
                    tracking_number=str(row.values["tracking_number"]).strip(),
                )
            )
        except (ValidationError, TransitionRefused) as error:
            raise _refusal_of(row, error, "tracking_number") from error
    return dispatched


@transaction.atomic
def record_events_by_upload(rows, *, actor):
    """Record a carrier's file of tracking events (see selectors.plan_event_upload), oldest first so
    the parcels move in the order things happened. All or nothing: a problem on any row refuses
    the whole file with UploadRefused. An event already known is skipped. Returns (recorded,
    already known)."""
    require(actor, Logistics.RECORD_TRACKING, _("Your role may not record tracking events."))
    numbers = {str(row.get("tracking_number", "")).strip() for row in rows}
    orders_concerned = Shipment.objects.filter(tracking_number__in=numbers - {""}).values_list("order_id", flat=True)
    list(Order.objects.select_for_update().filter(pk__in=orders_concerned).order_by("pk").values_list("pk", flat=True))
    planned = plan_event_upload(rows)
    problems = _problems(planned)
    if problems:
        raise UploadRefused(problems)
    recorded = known = 0
    for row in sorted(planned, key=lambda row: (row.values["occurred_at"], row.row)):
        try:
            _event, created = record_tracking_event(
                row.shipment.pk,
                status=row.values["status"],
                occurred_at=row.values["occurred_at"],
                source=TrackingEvent.Source.UPLOAD,
                location=row.values.get("location", ""),
                description=row.values.get("description", ""),
                exception_kind=row.values.get("exception_kind", ""),
                actor=actor,
            )
        except (ValidationError, TransitionRefused) as error:
            raise _refusal_of(row, error, "tracking_number") from error
        recorded, known = recorded + created, known + (not created)
    return recorded, known


# The public tracking page

# Guessing the four digits is slowed down twice: per client (one address trying many orders) and
# per order number (many addresses trying one order). Past either limit the page refuses to look
# until enough of the counted failures are older than the window, even for the right digits.
TRACKING_LOOKUP_WINDOW = timedelta(minutes=15)
MAX_FAILED_LOOKUPS_PER_CLIENT = 10
MAX_FAILED_LOOKUPS_PER_ORDER = 5
# Failures older than this are forgotten: they no longer count towards any limit.
TRACKING_LOOKUP_MEMORY = timedelta(days=1)


@dataclass(frozen=True)
class TrackingLookupResult:
    order: Order | None = None
    blocked_until: object = None


def _blocked_until(now, *, client, order_number):
    since = now - TRACKING_LOOKUP_WINDOW
    latest = [
        failed_lookup_times(since=since, limit=MAX_FAILED_LOOKUPS_PER_CLIENT, client=client),
        failed_lookup_times(since=since, limit=MAX_FAILED_LOOKUPS_PER_ORDER, order_number=order_number),
    ]
    limits = [MAX_FAILED_LOOKUPS_PER_CLIENT, MAX_FAILED_LOOKUPS_PER_ORDER]
    # A limit frees up when the oldest of its last `limit` failures leaves the window.
    ends = [
        times[-1] + TRACKING_LOOKUP_WINDOW for times, limit in zip(latest, limits, strict=False) if len(times) >= limit
    ]
    return max(ends, default=None)


def look_up_order_for_tracking(*, order_number, phone_suffix, client):
    """A customer on the public tracking page asks for an order by its number and the last four
    digits of its phone. No order and wrong digits are one answer (an empty result) and both count
    as a failed attempt; too many failures refuse the lookup for a while (`blocked_until`).
    Customers have no account, so there is no actor: the client (an IP address) is who asks."""
    now = timezone.now()
    order_number = (order_number or "").strip().upper()[: TrackingLookup._meta.get_field("order_number").max_length]
    client = (client or "")[: TrackingLookup._meta.get_field("client").max_length]
    blocked_until = _blocked_until(now, client=client, order_number=order_number)
    if blocked_until is not None:
        return TrackingLookupResult(blocked_until=blocked_until)
    order_id, phone = phone_of_order(order_number) or (None, "")
    suffix = "".join(ch for ch in unicodedata.normalize("NFKC", phone_suffix or "") if ch.isdigit())
    # The same work whether or not the order exists, so neither the answer nor its timing tells a
    # missing order from a wrong guess.
    if len(suffix) == 4 and hmac.compare_digest(phone[-4:], suffix) and order_id is not None:
        return TrackingLookupResult(order=order_for_tracking(order_id))
    _record_failed_lookup(now, client=client, order_number=order_number)
    return TrackingLookupResult()


@transaction.atomic
def _record_failed_lookup(now, *, client, order_number):
    TrackingLookup.objects.filter(created_at__lt=now - TRACKING_LOOKUP_MEMORY).delete()
    TrackingLookup.objects.create(client=client, order_number=order_number, created_at=now)
