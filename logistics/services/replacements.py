"""Sending a lost parcel's goods again (docs/architecture.md, "Lost parcels"). The replacement is a
parcel of the same order (or merged orders) that is picked, packed, dispatched and tracked like any
other. Its units are reserved now through the stock ledger and leave the books when it is
dispatched; the lost units left the books when the lost parcel was dispatched. It never moves the
order back: a shipped order stays shipped, and is delivered when the replacement arrives."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor, stored_user
from core.permissions import Logistics, require
from core.transitions import TransitionRefused
from inventory import services as inventory
from orders import locks as order_locks
from orders import services as orders
from orders.models import NotificationEvent

from .. import locks
from ..models import ParcelReplacement, ReplacementStock, Shipment, ShipmentLine
from .claims import is_lost
from .merged_parcels import deciding_order, orders_of_parcel
from .rules import choose_service, weight_of


def _already_replaced(lost: Shipment, replacement: ParcelReplacement | None) -> str:
    if replacement is None:
        return _("Parcel %(shipment)s has already been sent again.") % {"shipment": lost}
    return _("Parcel %(shipment)s has already been sent again, as parcel %(parcel)s of %(time)s.") % {
        "shipment": lost,
        "parcel": replacement.parcel_id,
        "time": timezone.localtime(replacement.created_at).strftime("%Y-%m-%d %H:%M"),
    }


@transaction.atomic
def send_replacement(shipment_id: int, *, actor: Actor) -> ParcelReplacement:
    """Send the goods of a lost parcel again: their stock is reserved in one warehouse, a
    replacement parcel with the same lines waits there to be picked and packed, and every customer
    whose goods were in the lost parcel is told. All or nothing: a shortage refuses it naming the
    SKUs, and a parcel is sent again once (a second attempt is told when and as which parcel).

    Locks, in the lock order: the parcel's orders, the stock levels of its products (through the
    reservation), then the lost parcel."""
    require(actor, Logistics.SEND_REPLACEMENT, _("Your role may not send lost parcels again."))
    try:
        order_ids = locks.parcel_order_ids(shipment_id)
    except Shipment.DoesNotExist:
        raise ValidationError(_("There is no such parcel.")) from None
    order_locks.lock_orders(order_ids)
    # Every change of the parcel's state locks its orders first, so it is read steady here.
    lost = Shipment.objects.select_related("order", "carrier").get(pk=shipment_id)
    if not is_lost(lost):
        raise TransitionRefused(
            _("Parcel %(shipment)s is %(status)s, not reported lost: only a lost parcel is sent again.")
            % {"shipment": lost, "status": lost.get_status_display()}
        )
    replacement = ParcelReplacement.objects.filter(lost=lost).first()
    if replacement is not None:
        raise ValidationError(_already_replaced(lost, replacement))
    lines = list(ShipmentLine.objects.filter(shipment=lost).select_related("order_line__product").order_by("pk"))
    plan, shortages = inventory.reserve(
        [inventory.Demand(line.pk, line.order_line.product_id, line.quantity) for line in lines],
        reference=lost.order.number,
        actor=actor,
    )
    if shortages:
        sku_of = {line.order_line.product_id: line.order_line.sku for line in lines}
        raise ValidationError(
            _("Not enough stock to send parcel %(shipment)s again; short: %(items)s.")
            % {
                "shipment": lost,
                "items": ", ".join(
                    f"{sku_of[product_id]} × {missing}" for product_id, missing in sorted(shortages.items())
                ),
            }
        )
    warehouses = {reservation.stock_level.warehouse for reservation in plan}
    if len(warehouses) > 1:
        # A parcel leaves one warehouse; inventory fills from one whenever one holds everything.
        raise ValidationError(
            _("No single warehouse holds every item of parcel %(shipment)s (%(items)s): move stock to one first.")
            % {
                "shipment": lost,
                "items": ", ".join(
                    f"{line.order_line.sku} @ {reservation.stock_level.warehouse.code}"
                    for reservation in plan
                    for line in lines
                    if line.pk == reservation.key
                ),
            }
        )
    (warehouse,) = warehouses
    locks.lock_shipments([lost.pk])
    goods = [(line.order_line.product, line.quantity) for line in lines]
    weight = weight_of(goods)
    parcel_orders = orders_of_parcel(lost)
    service, reason = choose_service(
        deciding_order(parcel_orders), weight_kg=weight, fragile=any(product.fragile for product, _q in goods)
    )
    parcel = Shipment.objects.create(
        order=lost.order,
        merge_id=lost.merge_id,
        warehouse=warehouse,
        purpose=Shipment.Purpose.REPLACEMENT,
        carrier=service.carrier if service else None,
        service=service,
        service_reason=reason,
        shipping_cost=service.fee_for(weight) if service else None,
    )
    new_lines = ShipmentLine.objects.bulk_create(
        ShipmentLine(shipment=parcel, order_line=line.order_line, quantity=line.quantity) for line in lines
    )
    new_line_of = {line.pk: new_line for line, new_line in zip(lines, new_lines, strict=True)}
    ReplacementStock.objects.bulk_create(
        ReplacementStock(
            line=new_line_of[reservation.key], stock_level=reservation.stock_level, quantity=reservation.quantity
        )
        for reservation in plan
    )
    try:
        with transaction.atomic():
            replacement = ParcelReplacement.objects.create(lost=lost, parcel=parcel, created_by=stored_user(actor))
    except IntegrityError as error:
        raise ValidationError(_already_replaced(lost, None)) from error
    for order in parcel_orders:
        orders.notify(order, NotificationEvent.PARCEL_REPLACED, shipment=lost)
    return replacement


def ship_replacement_stock(shipment: Shipment, *, actor: Actor) -> None:
    """A dispatched replacement's reserved units leave on-hand and reserved together, as an order's
    do (its stock levels were locked with the parcel: locks.lock_shipment_to_dispatch)."""
    rows = list(
        ReplacementStock.objects.filter(line__shipment=shipment, state=ReplacementStock.State.RESERVED).order_by("pk")
    )
    if not rows:
        return
    inventory.ship_out(
        [(row.stock_level_id, row.quantity) for row in rows], reference=shipment.order.number, actor=actor
    )
    ReplacementStock.objects.filter(pk__in=[row.pk for row in rows]).update(state=ReplacementStock.State.SHIPPED)
