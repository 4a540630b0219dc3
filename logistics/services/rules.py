"""The shipping rules: which carrier service a parcel travels with, and which orders a pick list
takes. Pick lists apply them; the console shows what they would choose before a list is made."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from inventory.models import Product, Warehouse
from orders.models import Order

from ..models import CarrierService, Shipment
from ..selectors import Coverage, active_carrier_services, chosen_services, coverage, warehouses_by_id

DEFAULT_TRANSIT_DAYS = 3
PICKABLE = [Order.Status.CONFIRMED, Order.Status.PICKING, Order.Status.PARTIALLY_SHIPPED]


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days (Monday to Friday) after `start`."""
    day = start
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def weight_of(lines: Iterable[tuple[Product, int]]) -> Decimal:
    """Shipping weight of (product, quantity) pairs; at least 0.1 kg, since carriers bill so."""
    weight = sum((product.weight_kg * quantity for product, quantity in lines), Decimal("0"))
    return max(weight, Decimal("0.1"))


def _cheapest(services, weight_kg):
    return min(services, key=lambda s: (s.fee_for(weight_kg), s.transit_days, s.pk), default=None)


def choose_service(
    order: Order,
    *,
    weight_kg: Decimal,
    fragile: bool,
    repair: bool = False,
    chosen: CarrierService | None = None,
    reach: Coverage | None = None,
) -> tuple[CarrierService | None, str]:
    """The carrier service the shipping rules pick for a parcel of an order, and the rule that
    decided: fragile goods travel with special handling; an express request or a delivery window
    that standard transit would miss goes express; cash on delivery needs a carrier that collects;
    otherwise the cheapest for the weight. A `repair` parcel collects no cash and keeps no
    delivery promise: those were the order's first delivery. Returns (None, "") when no active
    service fits. A service staff `chosen` for the order before its parcel existed
    (selectors.chosen_services) wins over the rules, unless the order needs cash collected and it
    does not collect. A service never travels where its coverage does not reach (`reach`, read
    here when not given: docs/architecture.md, "Reachability")."""
    reach = reach or coverage()
    cod = not repair and order.collects_on_delivery
    if (
        chosen is not None
        and not repair
        and (chosen.supports_cod or not cod)
        and reach.reaches(chosen, order.region_code)
    ):
        return chosen, Shipment.ServiceReason.CHOSEN_BY_STAFF
    candidates = [s for s in active_carrier_services() if reach.reaches(s, order.region_code)]
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
    def reason_label(self) -> str:
        return Shipment.ServiceReason(self.reason).label if self.reason else ""

    @property
    def fee(self) -> Decimal | None:
        return self.service.fee_for(self.weight_kg) if self.service else None


def plan_parcels(order: Order, waiting: Mapping[int, list[tuple[Product, int]]]) -> list[ParcelPlan]:
    """What create_pick_wave would choose for each warehouse holding goods of the order; `waiting`
    maps warehouse ids to the (product, quantity) pairs waiting there (selectors.goods_waiting).
    `needs` says what narrowed the choice, so a parcel no service fits can say why."""
    warehouses = warehouses_by_id(list(waiting))
    cod = order.collects_on_delivery
    chosen = chosen_services([order.pk]).get(order.pk) if waiting else None
    reach = coverage()
    # Said when coverage leaves some active service out, so a parcel no service fits says why.
    limited = any(not reach.reaches(service, order.region_code) for service in active_carrier_services())
    plans = []
    for warehouse_id, parcel in waiting.items():
        weight = weight_of(parcel)
        fragile = any(product.fragile for product, _quantity in parcel)
        service, reason = choose_service(order, weight_kg=weight, fragile=fragile, chosen=chosen, reach=reach)
        needs = ((_("collects cash on delivery"),) if cod else ()) + ((_("takes fragile goods"),) if fragile else ())
        needs += (_("delivers to %(region)s") % {"region": order.region_label},) if limited else ()
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


def why_not_pickable(
    order: Order,
    warehouse: Warehouse,
    *,
    waiting_in: Collection[int],
    on_lists_in: Collection[int],
    warehouse_codes: Mapping[int, str],
) -> str:
    """Why create_pick_wave would refuse the order for a pick list of `warehouse`, or "" when it
    would take it. `waiting_in` and `on_lists_in` are the ids of the warehouses holding its
    reserved goods and those where it already is on a list; `warehouse_codes` names warehouses."""
    values = {"number": order.number, "warehouse": warehouse.code, "status": order.get_status_display()}
    if order.status not in PICKABLE:
        return _("%(number)s is %(status)s: only confirmed orders, or orders being picked, go on a pick list.") % values
    if order.is_manually_held:
        # Held by hand (docs/architecture.md, "Orders that wait"): released by a person or at its date.
        return _("%(number)s is held by hand (%(reason)s): release it before it goes on a pick list.") % {
            **values,
            "reason": order.manual_hold_reason,
        }
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
