"""Read queries for the shipping console, the carrier webhook and the benchmarks. Lists cost the same
number of queries however many orders or shipments they show."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from core.tokens import token_hash
from inventory.models import Product, StockLevel, Warehouse
from orders.locks import SettlingOrder
from orders.models import Allocation, Customer, Order, OrderLine, PaymentMethod

from .models import (
    Carrier,
    CarrierChoice,
    CarrierClaim,
    CarrierService,
    ClaimDocument,
    CodRemittanceLine,
    ExceptionKind,
    HandoverBatch,
    HandoverParcel,
    Interception,
    ParcelReplacement,
    PickWave,
    PooledTrackingNumber,
    ReplacementStock,
    ServiceCoverage,
    Shipment,
    ShipmentLine,
    TrackingEvent,
    TrackingLookup,
    TrackingNumberPool,
)

# Carrier webhook tokens


def carrier_for_webhook_token(token: str | None) -> Carrier | None:
    """The active carrier whose webhook token this is, or None."""
    token = (token or "").strip()
    if not token:
        return None
    return Carrier.objects.filter(webhook_token_hash=token_hash(token), active=True).first()


# Carriers


def carriers_with_on_time_rate() -> QuerySet[Carrier]:
    """Carriers with `delivered_count` (parcels delivered that had an expected date) and
    `on_time_count` (of those, delivered on or before that date, in the shop's time zone)."""
    delivered = Q(
        shipments__status=Shipment.Status.DELIVERED,
        shipments__delivered_at__isnull=False,
        shipments__expected_delivery_on__isnull=False,
    )
    on_time = delivered & Q(shipments__delivered_at__date__lte=F("shipments__expected_delivery_on"))
    return Carrier.objects.annotate(
        delivered_count=Count("shipments", filter=delivered),
        on_time_count=Count("shipments", filter=on_time),
    )


def on_time_rate(carrier: Carrier) -> float | None:
    """The share of a carrier's deliveries that arrived on time, in percent, or None before its
    first delivery; `carrier` comes from carriers_with_on_time_rate()."""
    if not carrier.delivered_count:
        return None
    return round(100 * carrier.on_time_count / carrier.delivered_count, 1)


# What is waiting to be picked


def _for_next_parcel(allocations: QuerySet[Allocation]) -> QuerySet[Allocation]:
    """Reserved goods that go in the next parcel: those held back for a later one by a split
    (orders.services.splitting.ship_later) wait until they are released."""
    return allocations.filter(ship_later=False)


def goods_waiting(order_ids: Iterable[int]) -> dict[int, dict[int, list[tuple[Product, int]]]]:
    """The reserved goods of the orders, as {order_id: {warehouse_id: [(product, quantity), ...]}},
    in one query."""
    waiting = defaultdict(lambda: defaultdict(list))
    allocations = (
        _for_next_parcel(Allocation.objects.filter(line__order_id__in=order_ids, state=Allocation.State.RESERVED))
        .select_related("line__product", "stock_level")
        .order_by("pk")
    )
    for allocation in allocations:
        waiting[allocation.line.order_id][allocation.stock_level.warehouse_id].append(
            (allocation.line.product, allocation.quantity)
        )
    return waiting


def reserved_lines_in(warehouse: Warehouse, order_ids: Iterable[int]) -> dict[int, dict[OrderLine, int]]:
    """The orders' goods reserved in one warehouse, as {order_id: {order line: quantity}}, the lines
    with their products."""
    waiting = defaultdict(lambda: defaultdict(int))
    for allocation in (
        _for_next_parcel(
            Allocation.objects.filter(
                line__order_id__in=order_ids,
                state=Allocation.State.RESERVED,
                stock_level__warehouse=warehouse,
            )
        )
        .select_related("line__product")
        .order_by("pk")
    ):
        waiting[allocation.line.order_id][allocation.line] += allocation.quantity
    return waiting


def parcels_of(order: Order) -> QuerySet[Shipment]:
    """The order's parcels: its own, and the parcel of its merged group that carries its goods
    (docs/architecture.md, "Merging orders")."""
    if order.merge_id is None:
        return Shipment.objects.filter(order=order)
    return Shipment.objects.filter(Q(order=order) | Q(merge_id=order.merge_id))


def goods_waiting_to_pack(order: Order) -> bool:
    """Whether any warehouse still holds reserved goods of the order that are not in a packed parcel."""
    reserved_in = set(
        _for_next_parcel(Allocation.objects.filter(line__order=order, state=Allocation.State.RESERVED)).values_list(
            "stock_level__warehouse_id", flat=True
        )
    )
    packed_in = set(
        parcels_of(order)
        .filter(status=Shipment.Status.PACKED, purpose=Shipment.Purpose.ORDER)
        .values_list("warehouse_id", flat=True)
    )
    return bool(reserved_in - packed_in)


def warehouses_on_a_pick_list(order_ids: Iterable[int]) -> dict[int, set[int]]:
    """{order_id: {warehouse_id, ...}} of the warehouses where the orders already have a parcel
    waiting to be packed or dispatched."""
    taken = defaultdict(set)
    order_ids = list(order_ids)
    rows = Shipment.objects.filter(order_id__in=order_ids, status__in=Shipment.OPEN).values_list(
        "order_id", "warehouse_id"
    )
    # A merged order's goods may travel in a parcel of the group's first order.
    carried = ShipmentLine.objects.filter(
        order_line__order_id__in=order_ids, shipment__status__in=Shipment.OPEN, shipment__merge__isnull=False
    ).values_list("order_line__order_id", "shipment__warehouse_id")
    for order_id, warehouse_id in [*rows, *carried]:
        taken[order_id].add(warehouse_id)
    return taken


def orders_by_id(order_ids: Iterable[int]) -> QuerySet[Order]:
    return Order.objects.filter(pk__in=order_ids).only("pk", "number", "status", "payment_method").order_by("number")


def active_warehouses() -> QuerySet[Warehouse]:
    return Warehouse.objects.filter(active=True).order_by("priority", "code")


def active_warehouse(warehouse_id: int) -> Warehouse | None:
    """The active warehouse with this id, or None."""
    return Warehouse.objects.filter(pk=warehouse_id, active=True).first()


def warehouses_by_id(warehouse_ids: Iterable[int]) -> dict[int, Warehouse]:
    return Warehouse.objects.in_bulk(warehouse_ids)


def warehouse_codes() -> dict[int, str]:
    """{warehouse id: code} of every warehouse."""
    return dict(Warehouse.objects.values_list("pk", "code"))


# Pick lists


def pick_waves() -> QuerySet[PickWave]:
    """Pick lists, newest first, with how many orders and units are on each and how many parcels
    are still waiting to be packed; cancelled parcels do not count."""
    live = ~Q(shipments__status=Shipment.Status.CANCELLED)
    units = (
        ShipmentLine.objects.filter(shipment__wave=OuterRef("pk"))
        .exclude(shipment__status=Shipment.Status.CANCELLED)
        .order_by()
        .values("shipment__wave")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return PickWave.objects.select_related("warehouse", "created_by").annotate(
        order_count=Count("shipments", filter=live),
        to_pack_count=Count("shipments", filter=Q(shipments__status=Shipment.Status.PENDING)),
        unit_count=Coalesce(Subquery(units), 0),
    )


def waves_with_order(number: str) -> QuerySet[Shipment]:
    """Ids of the pick lists an order (by its number) is on."""
    return Shipment.objects.filter(order__number=number, wave__isnull=False).values("wave_id")


@dataclass
class PickRow:
    """One SKU to take off one shelf, with the orders it is for."""

    sku: str
    name: str
    barcode: str
    bin_location: str
    quantity: int = 0
    orders: dict = field(default_factory=dict)
    # A gift picked apart from the same product sold, and the bundles the units go into.
    gift: bool = False
    bundles: set = field(default_factory=set)

    @property
    def bundle_skus(self) -> str:
        return ", ".join(sorted(self.bundles))

    @property
    def order_quantities(self) -> list[tuple[str, int]]:
        return sorted(self.orders.items())

    @property
    def for_orders(self) -> str:
        """The orders and their quantities on one line ("OC…-1 ×2, OC…-7 ×1"), joined here because a
        list of hundreds of orders would spend its time in a template loop."""
        return ", ".join(f"{number}\u00a0×{quantity}" for number, quantity in self.order_quantities)


@dataclass(frozen=True)
class PickOrder:
    """An order on a pick list: its parcel's service, units and state."""

    number: str
    service: str
    units: int
    status: str

    @property
    def status_label(self) -> str:
        return Shipment.Status(self.status).label


@dataclass
class PickSheet:
    wave: PickWave
    rows: list
    orders: list
    cancelled: list

    @property
    def total_quantity(self) -> int:
        return sum(row.quantity for row in self.rows)


def bin_sort_key(bin_location: str) -> tuple[bool, list[tuple[int, int, str]]]:
    """Bins in walking order: A-2 before A-10, and goods without a bin at the end."""
    parts = re.split(r"(\d+)", bin_location.upper())
    return (not bin_location, [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in parts])


def pick_sheet(wave_id: int) -> PickSheet:
    """The printable pick list of a wave: its goods summed by SKU with the bin they sit in (in the
    wave's warehouse), sorted by bin then SKU, and the orders on it. Four queries however many
    orders the list holds (five when it holds a merged group's parcel)."""
    wave = PickWave.objects.select_related("warehouse", "created_by").get(pk=wave_id)
    lines = (
        ShipmentLine.objects.filter(shipment__wave=wave)
        .exclude(shipment__status=Shipment.Status.CANCELLED)
        .values_list(
            "order_line__product_id",
            "order_line__sku",
            "order_line__product__name",
            "order_line__product__barcode",
            # Each line's own order: a merged group's parcel carries several orders' goods.
            "order_line__order__number",
            "quantity",
            "order_line__is_gift",
            "order_line__bundle_sku",
        )
        .order_by("pk")
    )
    rows = {}
    for product_id, sku, name, barcode, number, quantity, gift, bundle_sku in lines:
        row = rows.get((product_id, gift))
        if row is None:
            row = rows[product_id, gift] = PickRow(
                sku=sku, name=name, barcode=barcode or "", bin_location="", gift=gift
            )
        if bundle_sku:
            row.bundles.add(bundle_sku)
        row.quantity += quantity
        row.orders[number] = row.orders.get(number, 0) + quantity
    bins = (
        StockLevel.objects.filter(warehouse_id=wave.warehouse_id, product_id__in={key[0] for key in rows})
        .order_by()
        .values_list("product_id", "bin_location")
    )
    for product_id, bin_location in bins:
        for gift in (False, True):
            if (product_id, gift) in rows:
                rows[product_id, gift].bin_location = bin_location
    # Plain values, not model instances: a list of 500 orders would spend most of its time
    # building shipments, orders and services it only prints a few fields of.
    parcels = (
        Shipment.objects.filter(wave=wave)
        .values_list("order__number", "service__carrier__name", "service__name", "status", "merge_id")
        .annotate(units=Coalesce(Sum("lines__quantity"), 0))
        .order_by("order__number")
    )
    # A merged group's parcel is named by all its orders ("OC…-1 + OC…-2"); one more query, only
    # when the list has one.
    merged_numbers = defaultdict(list)
    merge_ids = {row[4] for row in parcels if row[4]}
    if merge_ids:
        for merge_id, other in (
            Order.objects.filter(merge_id__in=merge_ids).order_by("pk").values_list("merge_id", "number")
        ):
            merged_numbers[merge_id].append(other)
    orders = [
        PickOrder(
            number=" + ".join(merged_numbers[merge_id]) if merged_numbers.get(merge_id) else number,
            service=f"{carrier} · {service}" if service else "",
            units=units,
            status=status,
        )
        for number, carrier, service, status, merge_id, units in parcels
    ]
    return PickSheet(
        wave=wave,
        rows=sorted(rows.values(), key=lambda row: (bin_sort_key(row.bin_location), row.sku, row.gift)),
        orders=[order for order in orders if order.status != Shipment.Status.CANCELLED],
        cancelled=[order for order in orders if order.status == Shipment.Status.CANCELLED],
    )


# Shipments


def shipment_list() -> QuerySet[Shipment]:
    return Shipment.objects.select_related("order", "warehouse", "carrier", "service__carrier")


def shipment_for_page(shipment_id: int) -> Shipment:
    """One shipment with its lines and tracking events, in a fixed number of queries."""
    return (
        Shipment.objects.select_related(
            "order", "warehouse", "carrier", "service__carrier", "wave", "packed_by", "dispatched_by"
        )
        .prefetch_related("lines__order_line__product", "events__recorded_by")
        .get(pk=shipment_id)
    )


def active_carrier_services() -> QuerySet[CarrierService]:
    """The carrier services a parcel may travel with now: active, of an active carrier."""
    return CarrierService.objects.filter(active=True, carrier__active=True).select_related("carrier")


def around(region_code: str) -> list[str]:
    """A division's code and the codes of the city and province it lies in, most specific first
    (China's division codes are nested: 330106 西湖区 is in 330100 杭州市, in 330000 浙江省)."""
    codes = [region_code, f"{region_code[:4]}00", f"{region_code[:2]}0000"]
    return list(dict.fromkeys(codes))


@dataclass(frozen=True)
class Coverage:
    """Where each carrier service delivers, as `ServiceCoverage` says (docs/architecture.md,
    "Reachability"): {service id: {region code: excluded}}; a service without rows reaches
    everywhere, and so does every service for an address whose region was not recognised."""

    areas: dict[int, dict[str, bool]]

    def reaches(self, service: CarrierService, region_code: str | None) -> bool:
        areas = self.areas.get(service.pk)
        if not areas or not region_code:
            return True
        for code in around(region_code):
            if code in areas:
                return not areas[code]
        return False


def coverage() -> Coverage:
    """Every service's coverage, in one query: the shipping rules read it once per pick list."""
    areas = defaultdict(dict)
    for service_id, region_code, excluded in ServiceCoverage.objects.values_list(
        "service_id", "region_code", "excluded"
    ):
        areas[service_id][region_code] = excluded
    return Coverage(dict(areas))


def unreachable_regions(region_codes: Iterable[str]) -> set[str]:
    """Of these division codes, those no active carrier service reaches: intake holds an order sent
    there (orders.events.UNREACHABLE_REGIONS). A shop with no active service at all is not set up to
    ship yet, and holds nothing for it (its pick lists say no service fits). One query, the active
    services with their areas, whatever the number of codes."""
    areas = {}
    for service_id, region_code, excluded in CarrierService.objects.filter(
        active=True, carrier__active=True
    ).values_list("pk", "coverage__region_code", "coverage__excluded"):
        service_areas = areas.setdefault(service_id, {})
        if region_code is not None:
            service_areas[region_code] = excluded
    if not areas:
        return set()
    known = Coverage(areas)
    services = [CarrierService(pk=service_id) for service_id in areas]
    return {code for code in set(region_codes) if not any(known.reaches(service, code) for service in services)}


def chosen_services(order_ids: Iterable[int]) -> dict[int, CarrierService]:
    """The carrier service staff chose for each of these orders (CarrierChoice), by order id,
    when it may still be used (active, of an active carrier); one query."""
    choices = CarrierChoice.objects.filter(
        order_id__in=list(order_ids), service__active=True, service__carrier__active=True
    ).select_related("service__carrier")
    return {choice.order_id: choice.service for choice in choices}


def services_to_choose_from() -> QuerySet[CarrierService]:
    return active_carrier_services().order_by("carrier__name", "kind", "code")


def active_carrier_service(service_id: int) -> CarrierService | None:
    """The active carrier service (of an active carrier) with this id, or None."""
    return active_carrier_services().filter(pk=service_id).first()


def active_carrier(carrier_id: int | None) -> Carrier | None:
    """The active carrier with this id, or None."""
    return Carrier.objects.filter(pk=carrier_id, active=True).first()


def tracking_number_taken(carrier: Carrier, tracking_number: str, *, other_than: Shipment) -> bool:
    """Whether another shipment than `other_than` has this tracking number of the carrier."""
    return Shipment.objects.filter(carrier=carrier, tracking_number=tracking_number).exclude(pk=other_than.pk).exists()


# Dispatch and tracking: uploads, the delivery-exceptions queue, the public tracking page


@dataclass
class PlannedRow:
    """One row of an upload and what confirming it will do, or why it cannot (by column key)."""

    row: int
    values: dict
    errors: dict = field(default_factory=dict)
    carrier: Carrier | None = None
    shipment: Shipment | None = None
    already_known: bool = False

    def refuse(self, column: str, message: str) -> None:
        self.errors.setdefault(column, message)


def active_carriers_by_text() -> dict[str, Carrier]:
    """Active carriers by lower-case code and by lower-case name, the two ways a sheet names one."""
    carriers = list(Carrier.objects.filter(active=True).order_by("pk"))
    by_text = {carrier.name.strip().lower(): carrier for carrier in reversed(carriers)}
    by_text.update({carrier.code.lower(): carrier for carrier in carriers})
    return by_text


def _resolve_carrier(planned, carriers):
    text = str(planned.values.get("carrier", "")).strip()
    if not text:
        return
    planned.carrier = carriers.get(text.lower())
    if planned.carrier is None:
        planned.refuse(
            "carrier", _("No active carrier “%(carrier)s”: use a carrier's code or name.") % {"carrier": text}
        )


def _tracking_text(planned):
    number = str(planned.values.get("tracking_number", "")).strip()
    if len(number) > Shipment._meta.get_field("tracking_number").max_length:
        planned.refuse("tracking_number", _("A tracking number has at most 64 characters."))
    return number


def plan_dispatch_upload(rows: list[dict[str, Any]]) -> list[PlannedRow]:
    """What a sheet of (order number, carrier, tracking number) rows would dispatch: each row takes
    the order's packed parcel that already carries this tracking number, or else its next packed
    parcel without one, so an order with two packed parcels takes two rows. Every problem is kept
    on its row and column. Reads only; logistics.services.dispatch_by_upload acts on the plan."""
    planned = [PlannedRow(row=row["row"], values=row) for row in rows]
    numbers = {str(p.values.get("order_number", "")).strip().upper() for p in planned} - {""}
    found = {order.number: order for order in Order.objects.filter(number__in=numbers)}
    packed = defaultdict(list)
    for shipment in (
        Shipment.objects.filter(order__number__in=numbers, status=Shipment.Status.PACKED)
        .select_related("order", "carrier", "warehouse")
        .order_by("pk")
    ):
        packed[shipment.order.number].append(shipment)
    tracking_numbers = {str(p.values.get("tracking_number", "")).strip() for p in planned} - {""}
    in_use = {
        (shipment.carrier_id, shipment.tracking_number): shipment
        for shipment in Shipment.objects.filter(tracking_number__in=tracking_numbers).select_related("order")
    }
    carriers = active_carriers_by_text()
    patterned = active_carriers_with_patterns()
    seen, taken = {}, set()
    for row in planned:
        number = str(row.values.get("order_number", "")).strip().upper()
        _resolve_carrier(row, carriers)
        tracking_number = _tracking_text(row)
        order = found.get(number)
        if number and order is None:
            row.refuse("order_number", _("There is no order %(number)s.") % {"number": number})
        if row.carrier is None or not tracking_number or order is None or row.errors:
            continue
        key = (row.carrier.pk, tracking_number)
        if key in seen:
            row.refuse("tracking_number", _("Row %(row)s already has this tracking number.") % {"row": seen[key]})
            continue
        seen[key] = row.row
        misfit = tracking_number_misfit(row.carrier, tracking_number, patterned=patterned)
        if misfit:
            row.refuse("tracking_number", misfit)
            continue
        holder = in_use.get(key)
        if holder is not None and (holder.order_id != order.pk or holder.status != Shipment.Status.PACKED):
            row.refuse(
                "tracking_number",
                _("%(carrier)s tracking number %(number)s is already on order %(order)s.")
                % {"carrier": row.carrier, "number": tracking_number, "order": holder.order.number},
            )
            continue
        waiting = [s for s in packed[number] if s.pk not in taken and not s.tracking_number]
        row.shipment = holder or (waiting[0] if waiting else None)
        if row.shipment is None:
            row.refuse("order_number", _no_parcel_waiting(order, packed[number]))
            continue
        taken.add(row.shipment.pk)
    return planned


def _no_parcel_waiting(order, packed):
    if not packed:
        return _("Order %(number)s has no packed parcel waiting for dispatch (it is %(status)s).") % {
            "number": order.number,
            "status": order.get_status_display(),
        }
    without_number = sum(1 for shipment in packed if not shipment.tracking_number)
    if not without_number:
        return _("The packed parcels of order %(number)s already carry other tracking numbers.") % {
            "number": order.number,
        }
    return _(
        "The sheet has more rows for order %(number)s than it has packed parcels waiting (%(count)s): "
        "remove the extra row, or pack the next parcel first."
    ) % {"number": order.number, "count": without_number}


def plan_event_upload(rows: list[dict[str, Any]]) -> list[PlannedRow]:
    """Which parcel each tracking event row is about, whether that event is already known (sent
    twice, or twice in the sheet), and what is wrong with the rest. Rows carry the values the
    service takes (status code, aware time, or None where the cell could not be read); reads only."""
    planned = [PlannedRow(row=row["row"], values=row) for row in rows]
    carriers = active_carriers_by_text()
    for row in planned:
        _resolve_carrier(row, carriers)
    numbers = {_tracking_text(row) for row in planned if row.carrier}
    shipments = {
        (shipment.carrier_id, shipment.tracking_number): shipment
        for shipment in Shipment.objects.filter(tracking_number__in=numbers - {""}).select_related("order", "carrier")
    }
    known = set(
        TrackingEvent.objects.filter(shipment__in=list(shipments.values())).values_list(
            "shipment_id", "status", "occurred_at"
        )
    )
    seen = set()
    for row in planned:
        if row.carrier is None or row.errors:
            continue
        number = _tracking_text(row)
        row.shipment = shipments.get((row.carrier.pk, number))
        if row.shipment is None:
            row.refuse(
                "tracking_number",
                _("%(carrier)s has no parcel with tracking number %(number)s.")
                % {"carrier": row.carrier, "number": number},
            )
            continue
        if row.shipment.status in Shipment.OPEN + [Shipment.Status.CANCELLED]:
            row.refuse("tracking_number", _("This parcel has not left the warehouse; tracking starts at dispatch."))
            continue
        status, occurred_at = row.values.get("status"), row.values.get("occurred_at")
        if status is None or occurred_at is None:
            continue
        if status == TrackingEvent.Status.EXCEPTION and not row.values.get("exception_kind"):
            row.refuse("exception_kind", _("Say what went wrong: delayed, lost, damaged or address problem."))
            continue
        key = (row.shipment.pk, status, occurred_at)
        row.already_known = key in known or key in seen
        seen.add(key)
    return planned


def parcels_of_order(order_id: int) -> QuerySet[Shipment]:
    """The order's parcels that are not cancelled, with their lines, by warehouse priority."""
    return (
        Shipment.objects.filter(order_id=order_id)
        .exclude(status=Shipment.Status.CANCELLED)
        .select_related("carrier", "service", "warehouse")
        .prefetch_related("lines__order_line__product")
        .order_by("warehouse__priority", "warehouse__code", "pk")
    )


def has_undelivered_parcels(order: Order) -> bool:
    """Whether any parcel of the order's goods (not a repair parcel) is neither delivered nor
    cancelled. A lost parcel sent again no longer counts: its replacement does instead
    (docs/architecture.md, "Lost parcels")."""
    return (
        parcels_of(order)
        .filter(purpose__in=Shipment.CARRIES_GOODS, replaced_by__isnull=True)
        .exclude(status__in=[Shipment.Status.DELIVERED, Shipment.Status.CANCELLED])
        .exists()
    )


def parcel_with_tracking_number(carrier: Carrier, tracking_number: str) -> Shipment | None:
    """The carrier's parcel with this tracking number, or None."""
    return Shipment.objects.filter(carrier=carrier, tracking_number=tracking_number).first()


ON_THE_WAY_UNREPORTED = [Shipment.Status.SHIPPED, Shipment.Status.IN_TRANSIT, Shipment.Status.OUT_FOR_DELIVERY]


def delivery_exceptions(*, today: date | None = None, kind: str = "") -> QuerySet[Shipment]:
    """Parcels someone has to act on: a reported exception; a parcel returned to sender while its
    order still counts as shipped; a parcel still on the way after its expected delivery day. Each
    comes with its last tracking event, the most overdue first. `kind` narrows the list to one
    exception kind, to "overdue", to "returned", or to "reported" (exceptions and returned parcels,
    the ones a carrier told us about)."""
    today = today or timezone.localdate()
    last_event = TrackingEvent.objects.filter(shipment=OuterRef("pk")).order_by("-occurred_at", "-pk")
    late = Q(status__in=ON_THE_WAY_UNREPORTED, expected_delivery_on__lt=today)
    returned = Q(
        status=Shipment.Status.RETURNED, order__status__in=[Order.Status.SHIPPED, Order.Status.PARTIALLY_SHIPPED]
    )
    if kind == "overdue":
        wanted = late
    elif kind == "returned":
        wanted = returned
    elif kind == "reported":
        wanted = Q(status=Shipment.Status.EXCEPTION) | returned
    elif kind in ExceptionKind.values:
        wanted = Q(status=Shipment.Status.EXCEPTION, exception_kind=kind)
    else:
        wanted = Q(status=Shipment.Status.EXCEPTION) | late | returned
    return (
        Shipment.objects.filter(wanted)
        .select_related("order", "carrier", "warehouse")
        .annotate(
            last_event_status=Subquery(last_event.values("status")[:1]),
            last_event_time=Subquery(last_event.values("occurred_at")[:1]),
            last_event_location=Subquery(last_event.values("location")[:1]),
            last_event_description=Subquery(last_event.values("description")[:1]),
        )
        .order_by(F("expected_delivery_on").asc(nulls_last=True), "pk")
    )


def delivery_exception_counts(*, today: date | None = None) -> dict[str, int]:
    """How many parcels the queue holds for each kind it can be narrowed to, in three queries."""
    today = today or timezone.localdate()
    counts = dict(
        Shipment.objects.filter(status=Shipment.Status.EXCEPTION)
        .values_list("exception_kind")
        .annotate(count=Count("pk"))
        .order_by()
    )
    counts["overdue"] = delivery_exceptions(today=today, kind="overdue").count()
    counts["returned"] = delivery_exceptions(today=today, kind="returned").count()
    return counts


def phone_of_order(number: str) -> tuple[int, str] | None:
    """(id, phone) of the order with this number, or None: all the tracking page needs to check a
    customer's guess before it shows anything."""
    return Order.objects.filter(number=number).values_list("pk", "phone").first()


def order_for_tracking(order_id: int) -> Order:
    """The order a customer follows on the public tracking page, with its parcels (not cancelled)
    and their events, newest first; a merged group's parcel with them. Four queries."""
    parcels = (
        Shipment.objects.exclude(status=Shipment.Status.CANCELLED)
        .select_related("carrier")
        .prefetch_related(Prefetch("events", queryset=TrackingEvent.objects.order_by("-occurred_at", "-pk")))
        .order_by("pk")
    )
    # A merged group's parcel (owned by its first order) is this order's parcel too.
    return Order.objects.prefetch_related(
        Prefetch("shipments", queryset=parcels), Prefetch("merge__shipments", queryset=parcels)
    ).get(pk=order_id)


def tracked_parcels(order: Order) -> list[Shipment]:
    """The parcels of an order fetched by order_for_tracking: its own and its merged group's, by id."""
    found = {shipment.pk: shipment for shipment in order.shipments.all()}
    if order.merge_id is not None:
        found.update((shipment.pk, shipment) for shipment in order.merge.shipments.all())
    return [found[pk] for pk in sorted(found)]


def failed_lookup_times(*, since: datetime, limit: int, client: str, order_number: str | None = None) -> list[datetime]:
    """When the latest failed tracking-page attempts (at most `limit`, newest first) since a time
    were made from one client, on any order or on one order number."""
    recent = TrackingLookup.objects.filter(created_at__gte=since, client=client)
    if order_number is not None:
        recent = recent.filter(order_number=order_number)
    return list(recent.order_by("-created_at").values_list("created_at", flat=True)[:limit])


def failed_lookup_count(*, since: datetime, order_number: str) -> int:
    """How many failed tracking-page attempts on one order number, from any client, since a time."""
    return TrackingLookup.objects.filter(created_at__gte=since, order_number=order_number).count()


# Packing


def parcel_for_packing(shipment_id: int) -> Shipment:
    """A shipment with its order, carrier service and lines (with their products), for the scan
    page, the packing slip and the label. Raises Shipment.DoesNotExist."""
    return (
        Shipment.objects.select_related("order__channel", "warehouse", "carrier", "service")
        .prefetch_related(Prefetch("lines", ShipmentLine.objects.select_related("order_line__product").order_by("pk")))
        .get(pk=shipment_id)
    )


def lines_by_order(shipment: Shipment) -> list[tuple[Order, list[ShipmentLine]]]:
    """The lines of a parcel fetched by parcel_for_packing, by the order they belong to (a merged
    group's parcel carries several orders' goods), orders ascending; one query for the orders."""
    lines = list(shipment.lines.all())
    orders = Order.objects.in_bulk({line.order_line.order_id for line in lines})
    return [
        (orders[order_id], [line for line in lines if line.order_line.order_id == order_id])
        for order_id in sorted(orders)
    ]


def products_weight_kg(shipment: Shipment) -> Decimal:
    """What the goods of a shipment fetched by parcel_for_packing weigh by their product data."""
    return sum((line.order_line.product.weight_kg * line.quantity for line in shipment.lines.all()), Decimal("0"))


def parcel_position(shipment: Shipment) -> tuple[int | None, int]:
    """(n, total): this is parcel n of the order's `total` parcels that are not cancelled; n is
    None for a cancelled parcel."""
    parcels = list(
        Shipment.objects.filter(order_id=shipment.order_id)
        .exclude(status=Shipment.Status.CANCELLED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return (parcels.index(shipment.pk) + 1 if shipment.pk in parcels else None), len(parcels)


def parcel_to_pack(order_number: str | None, warehouse: Warehouse | None = None) -> tuple[Shipment | None, str]:
    """The parcel of a scanned order waiting to be packed in `warehouse` (any warehouse when None),
    as (shipment, ""); or (None, why there is none) in words a packer can act on."""
    number = (order_number or "").strip().upper()
    order = Order.objects.filter(number=number).first()
    if order is None:
        return None, _("No order has the number %(number)s. Scan the order number on the packing slip.") % {
            "number": number
        }
    shipments = list(parcels_of(order).select_related("warehouse").order_by("pk"))
    here = [s for s in shipments if warehouse is None or s.warehouse_id == warehouse.pk]
    waiting = [s for s in here if s.status == Shipment.Status.PENDING]
    values = {
        "number": order.number,
        "status": order.get_status_display(),
        "warehouse": warehouse or _("any warehouse"),
    }
    if len(waiting) == 1:
        return waiting[0], ""
    if waiting:
        values["warehouses"] = ", ".join(str(s.warehouse) for s in waiting)
        return None, _(
            "Order %(number)s waits to be packed in %(warehouses)s: choose the warehouse you pack in."
        ) % values
    elsewhere = [s for s in shipments if s.status == Shipment.Status.PENDING]
    if elsewhere:
        values["warehouses"] = ", ".join(str(s.warehouse) for s in elsewhere)
        return None, _(
            "Order %(number)s waits to be packed in %(warehouses)s, not in %(warehouse)s: pack it there, or switch warehouse."
        ) % values
    if order.status == Order.Status.CANCELLED:
        return None, _("Order %(number)s is cancelled: do not pack it, put its goods back.") % values
    if order.status in (Order.Status.PENDING, Order.Status.AWAITING_PAYMENT, Order.Status.ON_HOLD):
        return None, _("Order %(number)s is %(status)s: it is packed only after it is approved and picked.") % values
    if any(s.status == Shipment.Status.PACKED for s in here):
        return None, _(
            "Order %(number)s is already packed in %(warehouse)s: its parcel waits for the carrier."
        ) % values
    if any(s.status not in Shipment.OPEN + [Shipment.Status.CANCELLED] for s in here):
        return None, _("Order %(number)s has already left %(warehouse)s.") % values
    reserved = Allocation.objects.filter(line__order=order, state=Allocation.State.RESERVED)
    if warehouse is not None:
        reserved = reserved.filter(stock_level__warehouse=warehouse)
    if reserved.exists():
        return None, _(
            "Order %(number)s is not on a pick list for %(warehouse)s yet: print a pick list first."
        ) % values
    return None, _("Order %(number)s has nothing to pack in %(warehouse)s (it is %(status)s).") % values


def customer_data_sheets(*, customer: Customer, order_ids: list[int]) -> list[tuple[str, list[str], list[list]]]:
    """The customer's parcels and what carriers reported about them, for the workbook handed to
    the customer (orders.events.CUSTOMER_DATA_SHEETS; docs/architecture.md, "Personal data")."""

    def label(model, name):
        return str(model._meta.get_field(name).verbose_name)

    def when(value):
        return timezone.localtime(value).replace(tzinfo=None, microsecond=0) if value else ""

    shipments = Shipment.objects.filter(order_id__in=order_ids).select_related("order", "carrier").order_by("pk")
    events = TrackingEvent.objects.filter(shipment__in=shipments).select_related("shipment").order_by("pk")
    return [
        (
            str(Shipment._meta.verbose_name_plural),
            [label(Shipment, name) for name in ("order", "carrier", "tracking_number", "status", "shipped_at")]
            + [label(Shipment, "delivered_at")],
            [
                [
                    s.order.number,
                    str(s.carrier or ""),
                    s.tracking_number,
                    s.get_status_display(),
                    when(s.shipped_at),
                    when(s.delivered_at),
                ]
                for s in shipments
            ],
        ),
        (
            str(TrackingEvent._meta.verbose_name_plural),
            [label(TrackingEvent, name) for name in ("shipment", "occurred_at", "status", "location", "description")],
            [
                [e.shipment.tracking_number, when(e.occurred_at), e.get_status_display(), e.location, e.description]
                for e in events
            ],
        ),
    ]


# Each archived model of logistics, with the path from its rows to the order they belong to. Lost
# parcels' claims keep their documents' files in their folder, named by the kept row
# (docs/architecture.md, "Lost parcels").
ARCHIVED_ROWS = (
    (Shipment, "order_id"),
    (ShipmentLine, "shipment__order_id"),
    (TrackingEvent, "shipment__order_id"),
    (CarrierChoice, "order_id"),
    (HandoverParcel, "shipment__order_id"),
    (Interception, "shipment__order_id"),
    (CarrierClaim, "shipment__order_id"),
    (ClaimDocument, "claim__shipment__order_id"),
    (ParcelReplacement, "lost__order_id"),
    (ReplacementStock, "line__shipment__order_id"),
)


def rows_to_archive(order_ids: list[int]) -> dict[str, QuerySet]:
    """The parcels of orders being archived, with their lines, tracking events, handovers,
    interceptions, claims and replacements, each row annotated with the order it belongs to
    (orders.events.ORDERS_ARCHIVING; docs/architecture.md, "Archive")."""
    return {
        model._meta.label_lower: model.objects.filter(**{f"{path}__in": order_ids}).annotate(archived_order_id=F(path))
        for model, path in ARCHIVED_ROWS
    }


def open_parcel_ids(order_ids: Iterable[int]) -> list[int]:
    """The open parcels (waiting to be packed or dispatched) of these orders, by order placed and
    parcel: what printing those orders' slips and labels prints (parcels_for_print)."""
    return list(
        Shipment.objects.filter(order_id__in=list(order_ids), status__in=Shipment.OPEN)
        .order_by("order__placed_at", "order_id", "pk")
        .values_list("pk", flat=True)
    )


# The console's order list (docs/architecture.md, "Finding orders"): orders cannot read parcels, so it
# asks through orders.order_search and orders.order_list_shipping, answered here.

MOST_TRACKED_ORDERS = 100


def orders_with_tracking_number(term: str) -> list[int]:
    """Ids of the orders with a parcel whose tracking number is `term`, as typed or with its spaces
    and dashes taken out and in capitals (carriers print them grouped: SF 1234 5678 90). One lookup
    on the tracking number's index."""
    typed = term.strip()
    squeezed = "".join(ch for ch in typed if ch not in " -").upper()
    candidates = {number for number in (typed, squeezed) if number}
    if not candidates:
        return []
    return list(
        Shipment.objects.filter(tracking_number__in=candidates)
        .order_by()
        .values_list("order_id", flat=True)
        .distinct()[:MOST_TRACKED_ORDERS]
    )


def shipping_columns(order_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """{order id: {"carrier": ..., "tracking": ...}} for one page of orders, in one query: each
    order's parcels that are not cancelled, oldest first, their carriers and tracking numbers joined
    with commas (an order shipped from two warehouses has two)."""
    ids = list(order_ids)
    if not ids:
        return {}
    rows = (
        Shipment.objects.filter(order_id__in=ids)
        .exclude(status=Shipment.Status.CANCELLED)
        .order_by("order_id", "id")
        .values_list("order_id", "carrier__name", "service__name", "tracking_number")
    )
    columns: dict[int, dict[str, list[str]]] = {}
    for order_id, carrier, service, tracking in rows:
        parts = columns.setdefault(order_id, {"carrier": [], "tracking": []})
        shown = f"{carrier} {service}" if carrier and service else carrier or ""
        if shown and shown not in parts["carrier"]:
            parts["carrier"].append(shown)
        if tracking:
            parts["tracking"].append(tracking)
    return {
        order_id: {"carrier": ", ".join(parts["carrier"]), "tracking": ", ".join(parts["tracking"])}
        for order_id, parts in columns.items()
    }


# The handover station (docs/architecture.md, "Handover to the carrier")


def handover_batches() -> QuerySet[HandoverBatch]:
    """Every batch, newest first, with its carrier and how many parcels it holds."""
    return HandoverBatch.objects.select_related("carrier").annotate(parcel_count=Count("parcels"))


def handover_batch(batch_id: int) -> HandoverBatch:
    """Raises HandoverBatch.DoesNotExist."""
    return handover_batches().get(pk=batch_id)


def carriers_to_hand_over_to() -> QuerySet[Carrier]:
    return Carrier.objects.filter(active=True)


def tracking_number_misfit(
    carrier: Carrier, tracking_number: str, *, patterned: Iterable[Carrier] | None = None
) -> str | None:
    """Why a tracking number entered for `carrier` cannot be its own by the look of it, or None when
    it fits the carrier's pattern or the carrier has none: it is another active carrier's, or no
    number this carrier issues. `patterned`: the active carriers with a pattern, when the caller
    checks many numbers and has read them once (active_carriers_with_patterns)."""
    if carrier.takes(tracking_number) is not False:
        return None
    if patterned is None:
        patterned = active_carriers_with_patterns()
    others = [other for other in patterned if other.pk != carrier.pk and other.takes(tracking_number)]
    if others:
        return _("%(number)s is a %(other)s tracking number, not %(carrier)s.") % {
            "number": tracking_number,
            "other": others[0],
            "carrier": carrier,
        }
    return _("%(number)s does not look like a %(carrier)s tracking number: check it against the label.") % {
        "number": tracking_number,
        "carrier": carrier,
    }


def active_carriers_with_patterns() -> list[Carrier]:
    return list(Carrier.objects.filter(active=True).exclude(tracking_number_pattern="").order_by("name", "pk"))


def carriers_whose_numbers_look_like(tracking_number: str, *, other_than: Carrier) -> list[Carrier]:
    """The other active carriers whose pattern the number fits, by name."""
    others = Carrier.objects.filter(active=True).exclude(pk=other_than.pk).exclude(tracking_number_pattern="")
    return [carrier for carrier in others if carrier.takes(tracking_number)]


def parcel_by_tracking_number(tracking_number: str, carrier: Carrier) -> Shipment | None:
    """The carrier's parcel with this tracking number, or else another carrier's (numbers are unique
    per carrier only), with its order and any batch it is in."""
    parcels = Shipment.objects.select_related("order", "carrier", "handover__batch").filter(
        tracking_number=tracking_number
    )
    return parcels.filter(carrier=carrier).first() or parcels.order_by("pk").first()


@dataclass
class ManifestRow:
    """One parcel of a handover batch as the manifest prints it."""

    parcel: HandoverParcel
    order_numbers: list[str]
    city: str
    weight_kg: Decimal | None
    package_count: int
    cod_amount: Decimal
    currency: str

    @property
    def shipment(self) -> Shipment:
        return self.parcel.shipment


def manifest_rows(batch: HandoverBatch) -> list[ManifestRow]:
    """The batch's parcels in the order they were scanned: each with the numbers of the orders it
    carries (every order of a merged parcel), the recipient's city, weight, packages and the cash
    the driver collects (what cash-on-delivery orders still owe). Two queries."""
    parcels = list(
        HandoverParcel.objects.filter(batch=batch)
        .select_related("shipment__order", "shipment__carrier")
        .order_by("scanned_at", "pk")
    )
    merge_ids = {parcel.shipment.merge_id for parcel in parcels} - {None}
    merged = defaultdict(list)
    for order in Order.objects.filter(merge_id__in=merge_ids).order_by("pk"):
        merged[order.merge_id].append(order)
    rows = []
    for parcel in parcels:
        shipment = parcel.shipment
        orders = merged[shipment.merge_id] if shipment.merge_id else [shipment.order]
        collects = shipment.purpose in Shipment.CARRIES_GOODS
        rows.append(
            ManifestRow(
                parcel=parcel,
                order_numbers=[order.number for order in orders],
                city=shipment.order.city,
                weight_kg=shipment.weight_kg,
                package_count=shipment.package_count or 1,
                cod_amount=sum(
                    (order.balance_due for order in orders if collects and order.collects_on_delivery), Decimal("0")
                ),
                currency=shipment.order.currency,
            )
        )
    return rows


# Printing in batches (docs/architecture.md, "Printing in batches")


def wave_parcels_in_pick_order(wave_id: int) -> list[int]:
    """The ids of a pick list's parcels waiting to be packed or dispatched, in the order the pick
    list walks: by the first bin of the walk (bin_sort_key, as the pick list sorts its rows) that
    holds one of the parcel's goods, then by order number. Two queries. Raises
    PickWave.DoesNotExist."""
    wave = PickWave.objects.only("warehouse_id").get(pk=wave_id)
    lines = list(
        ShipmentLine.objects.filter(shipment__wave=wave, shipment__status__in=Shipment.OPEN)
        .order_by()
        .values_list("shipment_id", "shipment__order__number", "order_line__product_id", "order_line__sku")
    )
    bins = dict(
        StockLevel.objects.filter(warehouse_id=wave.warehouse_id, product_id__in={line[2] for line in lines})
        .order_by()
        .values_list("product_id", "bin_location")
    )
    first = {}
    for shipment_id, number, product_id, sku in lines:
        key = (bin_sort_key(bins.get(product_id, "")), sku)
        if shipment_id not in first or key < first[shipment_id][0]:
            first[shipment_id] = (key, number)
    return sorted(first, key=lambda shipment_id: (first[shipment_id][0], first[shipment_id][1], shipment_id))


@dataclass
class PrintParcel:
    """One parcel as a batch print shows it: its slip, its labels and what they say."""

    shipment: Shipment
    orders: list[Order]
    lines_by_order: list[tuple[Order, list[ShipmentLine]]]
    position: tuple[int | None, int]
    cod_amount: Decimal
    fragile: bool

    @property
    def order(self) -> Order:
        return self.shipment.order

    @property
    def package_total(self) -> int:
        return self.shipment.package_count or 1

    @property
    def reprint(self) -> bool:
        return self.shipment.label_prints > 1


def parcels_for_print(shipment_ids: list[int]) -> list[PrintParcel]:
    """The parcels with these ids in the order given, with everything their slips and labels print:
    lines and products, every order of a merged parcel, which parcel of its order it is, and the
    cash its carrier collects (what its cash-on-delivery orders still owe). Four queries whatever
    the number of parcels, five when one is a merged group's."""
    shipments = Shipment.objects.select_related(
        "order__channel", "order__customer", "warehouse", "carrier", "service"
    ).prefetch_related(Prefetch("lines", ShipmentLine.objects.select_related("order_line__product").order_by("pk")))
    found = shipments.in_bulk(shipment_ids)
    parcels = [found[pk] for pk in shipment_ids if pk in found]
    order_ids = {parcel.order_id for parcel in parcels}
    kept = defaultdict(list)
    for pk, order_id in (
        Shipment.objects.filter(order_id__in=order_ids)
        .exclude(status=Shipment.Status.CANCELLED)
        .order_by("pk")
        .values_list("pk", "order_id")
    ):
        kept[order_id].append(pk)
    merged = defaultdict(list)
    merge_ids = {parcel.merge_id for parcel in parcels} - {None}
    if merge_ids:
        for order in Order.objects.filter(merge_id__in=merge_ids).order_by("pk"):
            merged[order.merge_id].append(order)
    rows = []
    for parcel in parcels:
        orders = merged[parcel.merge_id] if parcel.merge_id else [parcel.order]
        lines = list(parcel.lines.all())
        siblings = kept[parcel.order_id]
        collects = parcel.purpose == Shipment.Purpose.ORDER
        rows.append(
            PrintParcel(
                shipment=parcel,
                orders=orders,
                lines_by_order=[
                    (order, [line for line in lines if line.order_line.order_id == order.pk]) for order in orders
                ]
                if parcel.merge_id
                else [],
                position=(siblings.index(parcel.pk) + 1 if parcel.pk in siblings else None, len(siblings)),
                cod_amount=sum(
                    (order.balance_due for order in orders if collects and order.collects_on_delivery), Decimal("0")
                ),
                fragile=any(line.order_line.product.fragile for line in lines),
            )
        )
    return rows


@dataclass(frozen=True)
class PoolLevel:
    """How many numbers a pool has left, and whether that is running low."""

    pool: TrackingNumberPool
    remaining: int

    @property
    def low(self) -> bool:
        return self.remaining < self.pool.low_below


def free_numbers_count() -> Count:
    return Count("numbers", filter=Q(numbers__shipment__isnull=True, numbers__burnt_at__isnull=True))


def tracking_pools() -> QuerySet[TrackingNumberPool]:
    """Every pool with its carrier service, the numbers it has left (`remaining`), has given
    (`given`) and has burnt (`burnt`)."""
    return TrackingNumberPool.objects.select_related("service__carrier").annotate(
        remaining=free_numbers_count(),
        given=Count("numbers", filter=Q(numbers__shipment__isnull=False, numbers__burnt_at__isnull=True)),
        burnt=Count("numbers", filter=Q(numbers__burnt_at__isnull=False)),
    )


def pool_levels(service_ids: Iterable[int]) -> list[PoolLevel]:
    """The pools of these carrier services with the numbers each has left, in one query."""
    pools = (
        TrackingNumberPool.objects.filter(service_id__in=set(service_ids))
        .select_related("service__carrier")
        .annotate(remaining=free_numbers_count())
        .order_by("pk")
    )
    return [PoolLevel(pool=pool, remaining=pool.remaining) for pool in pools]


def pooled_numbers(pool_id: int) -> QuerySet[PooledTrackingNumber]:
    return PooledTrackingNumber.objects.filter(pool_id=pool_id).order_by("pk")


# Interception and parcels that come back (docs/architecture.md, "Interception and parcels that come back")


def interceptions() -> QuerySet[Interception]:
    """Every interception with its parcel and order, the newest first."""
    return Interception.objects.select_related("shipment__order", "shipment__carrier", "requested_by")


def interceptions_awaiting_decision() -> QuerySet[Interception]:
    """Failed interceptions whose delivered parcel still needs a return or refund decision, oldest
    answer first (read through the partial index interception_awaiting_decision)."""
    return interceptions().filter(status=Interception.Status.FAILED, decided_at__isnull=True).order_by("answered_at")


def interceptions_of_parcels(shipment_ids: Iterable[int]) -> dict[int, Interception]:
    """The latest interception of each of these parcels, by parcel id."""
    latest = {}
    for interception in Interception.objects.filter(shipment_id__in=list(shipment_ids)).order_by("requested_at", "pk"):
        latest[interception.shipment_id] = interception
    return latest


def interceptions_of_order(order: Order) -> list[Interception]:
    """The interceptions of the order's parcels (a merged group's parcel too), oldest first."""
    return list(
        Interception.objects.filter(shipment__in=parcels_of(order))
        .select_related("shipment__carrier", "requested_by")
        .order_by("requested_at", "pk")
    )


def parcels_coming_back() -> QuerySet[Shipment]:
    """Parcels of goods the carrier reported returned to sender (refused, undeliverable or
    intercepted) and not yet received back at their warehouse, the longest on the way back first."""
    return (
        Shipment.objects.filter(status=Shipment.Status.RETURNED, purpose=Shipment.Purpose.ORDER)
        .select_related("order", "carrier", "warehouse")
        .order_by(F("last_event_at").asc(nulls_first=True), "pk")
    )


def parcel_to_receive_back(tracking_number: str) -> Shipment | None:
    """The parcel coming back with this tracking number, else any parcel with it (to say why it is
    not received), else None."""
    parcels = Shipment.objects.select_related("order", "carrier", "warehouse").filter(
        tracking_number=tracking_number.strip()
    )
    return parcels.filter(status=Shipment.Status.RETURNED).order_by("pk").first() or parcels.order_by("pk").first()


def parcel_to_receive(shipment_id: int) -> Shipment:
    """One parcel with its lines as the receiving page lists them. Raises Shipment.DoesNotExist."""
    return (
        Shipment.objects.select_related("order", "carrier", "warehouse")
        .prefetch_related(Prefetch("lines", ShipmentLine.objects.select_related("order_line").order_by("pk")))
        .get(pk=shipment_id)
    )


# Lost parcels (docs/architecture.md, "Lost parcels")


def carrier_claims() -> QuerySet[CarrierClaim]:
    """Every claim, newest first, with its parcel (and what names it: its carrier, its warehouse),
    order, carrier and who filed it read in the same query."""
    return CarrierClaim.objects.select_related(
        "shipment__order", "shipment__carrier", "shipment__warehouse", "carrier", "filed_by"
    )


def carrier_claim(claim_id: int) -> CarrierClaim:
    """A claim with its documents and the people who acted on it. Raises CarrierClaim.DoesNotExist."""
    return (
        carrier_claims()
        .select_related("decided_by", "paid_recorded_by", "shipment__warehouse")
        .prefetch_related(Prefetch("documents", ClaimDocument.objects.select_related("uploaded_by")))
        .get(pk=claim_id)
    )


def claim_document(document_id: int) -> ClaimDocument:
    """Raises ClaimDocument.DoesNotExist."""
    return ClaimDocument.objects.select_related("claim").get(pk=document_id)


def lost_parcel_followups(shipment_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """{parcel id: {"claim": its claim not rejected or None, "replacement": its replacement parcel id or
    None}} for a page of parcels, in two queries."""
    ids = list(shipment_ids)
    found: dict[int, dict[str, Any]] = {pk: {"claim": None, "replacement": None} for pk in ids}
    for claim in CarrierClaim.objects.filter(shipment_id__in=ids).exclude(status=CarrierClaim.Status.REJECTED):
        found[claim.shipment_id]["claim"] = claim
    for lost_id, parcel_id in ParcelReplacement.objects.filter(lost_id__in=ids).values_list("lost_id", "parcel_id"):
        found[lost_id]["replacement"] = parcel_id
    return found


# Cash-on-delivery remittances (docs/architecture.md, "Cash-on-delivery remittance") -------------

# Tracking numbers looked up per statement: few statements for a carrier's 50,000-line file, each
# within SQLite's limit on parameters (PostgreSQL takes each chunk as one array, core.lookups).
LOOKUP_CHUNK = 5000


def _chunks(values: list, size: int = LOOKUP_CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


class RemittedParcel(NamedTuple):
    """What matching a remittance line reads of its parcel."""

    pk: int
    order_id: int
    merge_id: int | None
    status: str
    purpose: str


def remitted_parcels(carrier: Carrier, tracking_numbers: Iterable[str]) -> dict[str, RemittedParcel]:
    """{tracking number as written: the carrier's parcel} for the numbers the carrier's parcels
    carry (as written, or in capitals), with what matching reads of each and not their orders; one
    query per LOOKUP_CHUNK numbers. Tuples, not Shipments: building 50,000 model instances cost
    more than the queries."""
    written = list(dict.fromkeys(tracking_numbers))
    variants = {number.upper(): number for number in written}
    variants.update({number: number for number in written})
    found = {}
    for chunk in _chunks(list(variants)):
        for number, *parcel in Shipment.objects.filter(carrier=carrier, tracking_number__any=chunk).values_list(
            "tracking_number", "id", "order_id", "merge_id", "status", "purpose"
        ):
            found[variants[number]] = RemittedParcel(*parcel)
    return found


def remittance_order_ids(parcels: Iterable[RemittedParcel]) -> list[int]:
    """The orders whose goods the parcels carry (every order of a merged parcel), ascending."""
    parcels = list(parcels)
    ids = {parcel.order_id for parcel in parcels}
    merge_ids = [parcel.merge_id for parcel in parcels if parcel.merge_id]
    for chunk in _chunks(merge_ids):
        ids.update(Order.objects.filter(merge_id__any=chunk).values_list("pk", flat=True))
    return sorted(ids)


@dataclass
class PlannedRemittanceLine:
    """One line of a remittance file as matched: its parcel, the orders that collect cash in it and
    what they owed, the fee the contract allows, and the mismatch, if any; `pay` is what recording
    it captures, (order, amount) per order, empty when it records nothing."""

    values: dict
    shipment: RemittedParcel | None = None
    orders: list = field(default_factory=list)
    due: Decimal | None = None
    fee_allowed: Decimal | None = None
    problem: str = ""
    detail: str = ""
    pay: list = field(default_factory=list)

    @property
    def recorded(self) -> bool:
        return bool(self.pay)

    @property
    def order_numbers(self) -> str:
        return ", ".join(order.number for order in self.orders)


def plan_remittance(
    carrier: Carrier, lines: list[dict[str, Any]], parcels: dict[str, RemittedParcel], orders: dict[int, SettlingOrder]
) -> list[PlannedRemittanceLine]:
    """Each line of a carrier's remittance matched to its parcel (`parcels`, remitted_parcels) and
    the parcel's orders (`orders` by id, every order of a merged parcel, locked by the service and
    read under their locks). A line is recorded when its parcel is the carrier's, delivered,
    collects cash on delivery, was not remitted before or earlier in the file, and the amount is
    what its orders still owed; its fee above the contract is recorded all the same and listed.
    Otherwise it is listed with why and records nothing: Finance sorts it out by hand. One query
    per LOOKUP_CHUNK parcels, for those remitted before."""
    merged = defaultdict(list)
    for order in sorted(orders.values(), key=lambda order: order.pk):
        if order.merge_id:
            merged[order.merge_id].append(order)
    remitted_before = {}
    for chunk in _chunks([parcel.pk for parcel in parcels.values()]):
        remitted_before.update(
            CodRemittanceLine.objects.filter(shipment_id__any=chunk, recorded=True).values_list(
                "shipment_id", "remittance__reference"
            )
        )
    seen = {}
    # What earlier lines of the file pay each order: an order whose goods left in two parcels owes
    # its balance once, to whichever parcel's line comes first.
    taken = defaultdict(Decimal)
    planned = []
    for line in lines:
        number = line["tracking_number"]
        plan = PlannedRemittanceLine(values=line)
        planned.append(plan)
        if number in seen:
            plan.problem = CodRemittanceLine.Problem.DUPLICATE
            plan.detail = _("Also on row %(row)s of this file.") % {"row": seen[number]}
            continue
        seen[number] = line["row"]
        shipment = plan.shipment = parcels.get(number)
        if shipment is None:
            plan.problem = CodRemittanceLine.Problem.UNKNOWN
            plan.detail = _("No parcel of %(carrier)s has tracking number %(number)s.") % {
                "carrier": carrier,
                "number": number,
            }
            continue
        plan.orders = merged[shipment.merge_id] if shipment.merge_id else [orders[shipment.order_id]]
        plan.fee_allowed = carrier.cod_fee_allowed(line["amount"])
        if shipment.pk in remitted_before:
            plan.problem = CodRemittanceLine.Problem.ALREADY_REMITTED
            plan.detail = _("Remitted already in batch %(reference)s.") % {"reference": remitted_before[shipment.pk]}
            continue
        cod_orders = [order for order in plan.orders if order.payment_method == PaymentMethod.COD]
        if shipment.purpose != Shipment.Purpose.ORDER or not cod_orders:
            plan.problem = CodRemittanceLine.Problem.NOT_COD
            plan.detail = _("Order %(number)s is not paid cash on delivery.") % {"number": plan.orders[0].number}
            continue
        if shipment.status != Shipment.Status.DELIVERED:
            plan.problem = CodRemittanceLine.Problem.NOT_DELIVERED
            plan.detail = _("The parcel is %(status)s, not delivered.") % {
                "status": Shipment.Status(shipment.status).label
            }
            continue
        owing = [(order, order.balance_due - taken[order.pk]) for order in cod_orders]
        owing = [(order, owed) for order, owed in owing if owed > 0]
        plan.due = sum((owed for _order, owed in owing), Decimal("0"))
        if line["amount"] != plan.due:
            plan.problem = CodRemittanceLine.Problem.AMOUNT_DIFFERS
            plan.detail = _("%(amount)s collected, %(due)s was due.") % {"amount": line["amount"], "due": plan.due}
            continue
        plan.pay = owing
        for order, owed in owing:
            taken[order.pk] += owed
        if line["fee"] > plan.fee_allowed:
            plan.problem = CodRemittanceLine.Problem.FEE_ABOVE_CONTRACT
            plan.detail = _("Fee %(fee)s, the contract allows %(allowed)s.") % {
                "fee": line["fee"],
                "allowed": plan.fee_allowed,
            }
    return planned


def cod_outstanding(*, now: datetime, bands: list[tuple[int, int | None]]) -> list[dict[str, Any]]:
    """Delivered cash-on-delivery parcels whose cash is not paid over yet (their orders still owe
    it), per carrier and currency, with the parcels and amount per band of days since delivery
    (orders.events.COD_OUTSTANDING). Two queries."""
    # Through the orders still under way or delivered (the status index): a completed order is
    # paid, or listed among the reconciliation's mismatches, and delivered parcels of years past
    # are never read.
    parcels = list(
        Shipment.objects.filter(
            status=Shipment.Status.DELIVERED,
            purpose=Shipment.Purpose.ORDER,
            order__status__in=[Order.Status.PARTIALLY_SHIPPED, Order.Status.SHIPPED, Order.Status.DELIVERED],
            order__payment_method=PaymentMethod.COD,
        )
        .filter(Q(order__amount_paid__lt=F("order__total")) | Q(merge__isnull=False))
        .values_list(
            "carrier__name", "order__currency", "delivered_at", "order__total", "order__amount_paid", "merge_id"
        )
    )
    owed_by_merge = defaultdict(Decimal)
    for merge_id, total, paid in Order.objects.filter(
        merge_id__in={parcel[5] for parcel in parcels if parcel[5]}, payment_method=PaymentMethod.COD
    ).values_list("merge_id", "total", "amount_paid"):
        owed_by_merge[merge_id] += max(total - paid, Decimal("0"))
    rows = {}
    for carrier, currency, delivered_at, total, paid, merge_id in parcels:
        owed = owed_by_merge[merge_id] if merge_id else total - paid
        if owed <= 0:
            continue
        row = rows.setdefault(
            (carrier or "—", currency),
            {
                "carrier": carrier or "—",
                "currency": currency,
                "parcels": 0,
                "amount": Decimal("0"),
                "ages": [[0, Decimal("0")] for _band in bands],
            },
        )
        row["parcels"] += 1
        row["amount"] += owed
        days = max((now - delivered_at).days, 0) if delivered_at else 0
        for index, (first, last) in enumerate(bands):
            if days >= first and (last is None or days <= last):
                row["ages"][index][0] += 1
                row["ages"][index][1] += owed
                break
    return [{**row, "ages": [tuple(age) for age in row["ages"]]} for row in rows.values()]
