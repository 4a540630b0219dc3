"""Pick lists: one list per warehouse for the chosen orders' goods waiting there."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.actors import Actor, stored_user
from core.permissions import Orders, require
from orders import locks as order_locks
from orders import services as orders
from orders.models import Order

from ..models import PickWave, Shipment, ShipmentLine
from ..selectors import (
    active_warehouse,
    chosen_services,
    coverage,
    goods_waiting,
    reserved_lines_in,
    warehouse_codes,
    warehouses_on_a_pick_list,
)
from .merged_parcels import deciding_order, parcel_groups, with_merged_orders
from .rules import choose_service, weight_of, why_not_pickable


@transaction.atomic
def create_pick_wave(warehouse_id: int, order_ids: Iterable[int], *, actor: Actor) -> PickWave:
    """One pick list for the chosen orders' goods waiting in one warehouse: each order gets a
    shipment from that warehouse with its lines and the carrier service the rules choose, and
    confirmed orders move to picking. All or nothing: an order that cannot be picked there refuses
    the whole list, naming it."""
    require(actor, Orders.PICK_ORDER, _("Your role may not create pick lists."))
    warehouse = active_warehouse(warehouse_id)
    if warehouse is None:
        raise ValidationError({"warehouse": _("Choose an active warehouse.")})
    if warehouse.picking_paused_because:
        raise ValidationError(
            {
                "warehouse": _("Picking at %(warehouse)s is paused: %(reason)s. No pick list was made.")
                % {"warehouse": warehouse, "reason": warehouse.picking_paused_because}
            }
        )
    chosen = set(order_ids)
    order_ids = with_merged_orders(chosen)
    if not order_ids:
        raise ValidationError(_("Choose at least one order."))
    locked = order_locks.lock_orders(order_ids)
    if with_merged_orders(chosen) != order_ids:
        # Merged or unmerged between the first read and the locks: the parcels would be wrong.
        raise ValidationError(
            _("Some of the chosen orders were merged or unmerged just now; no pick list was made. Make it again.")
        )
    waiting = reserved_lines_in(warehouse, order_ids)
    waiting_in = goods_waiting(order_ids)
    on_lists_in = warehouses_on_a_pick_list(order_ids)
    codes = warehouse_codes()
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
    chosen = chosen_services(order_ids)
    reach = coverage()
    # One parcel per order, or per merged group (docs/architecture.md, "Merging orders").
    groups = parcel_groups(locked)
    shipments, line_rows = [], []
    for group in groups:
        parcel = [(line.product, quantity) for order in group for line, quantity in waiting[order.pk].items()]
        weight = weight_of(parcel)
        service, reason = choose_service(
            deciding_order(group),
            weight_kg=weight,
            fragile=any(p.fragile for p, _q in parcel),
            chosen=next((chosen[order.pk] for order in group if order.pk in chosen), None),
            reach=reach,
        )
        shipments.append(
            Shipment(
                order=group[0],
                merge_id=group[0].merge_id,
                warehouse=warehouse,
                wave=wave,
                carrier=service.carrier if service else None,
                service=service,
                service_reason=reason,
                shipping_cost=service.fee_for(weight) if service else None,
            )
        )
    Shipment.objects.bulk_create(shipments)
    for shipment, group in zip(shipments, groups, strict=True):
        line_rows += [
            ShipmentLine(shipment=shipment, order_line=line, quantity=quantity)
            for order in group
            for line, quantity in waiting[order.pk].items()
        ]
    ShipmentLine.objects.bulk_create(line_rows)
    for order in locked:
        if order.status == Order.Status.CONFIRMED:
            orders.record_order_transition(order, order.start_picking, actor=actor, reason=str(wave))
    return wave
