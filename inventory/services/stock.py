"""Every change of stock: each function is one transaction, locks the stock rows it changes in
primary-key order (inventory.locks), and writes the ledger."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from core.actors import Actor, ensure_actor, stored_user
from core.permissions import Inventory, require

from .. import locks
from ..models import Product, StockLevel, StockMovement, Warehouse

Kind = StockMovement.Kind
REASON_LENGTH = StockMovement._meta.get_field("reason").max_length


@dataclass(frozen=True)
class Demand:
    """What one order line needs: `key` identifies the line to the caller."""

    key: object
    product_id: int
    quantity: int


@dataclass(frozen=True)
class Reservation:
    key: object
    stock_level: StockLevel
    quantity: int


def _record(level, kind, *, on_hand_change=0, reserved_change=0, quarantined_change=0, reference="", reason="", actor):
    """Change a locked stock level in memory and return its ledger line; `_book` writes both."""
    level.on_hand += on_hand_change
    level.reserved += reserved_change
    level.quarantined += quarantined_change
    if level.reserved < 0 or level.reserved > level.on_hand:
        raise ValidationError(
            _("%(level)s cannot go to %(on_hand)d on hand with %(reserved)d reserved.")
            % {"level": level, "on_hand": level.on_hand, "reserved": level.reserved}
        )
    if level.quarantined < 0:
        raise ValidationError(
            {
                "quantity": _("%(level)s has only %(quarantined)d units in quarantine.")
                % {"level": level, "quarantined": level.quarantined - quarantined_change}
            }
        )
    return StockMovement(
        stock_level=level,
        kind=kind,
        on_hand_change=on_hand_change,
        reserved_change=reserved_change,
        quarantined_change=quarantined_change,
        reference=reference,
        reason=reason,
        actor=stored_user(actor),
    )


def _book(movements):
    """Write the locked stock levels' new quantities and their ledger lines. One statement per
    level sent together (psycopg pipelines executemany); bulk_update's CASE costs more to build."""
    levels = {m.stock_level.pk: m.stock_level for m in movements}
    table = StockLevel._meta.db_table
    with connection.cursor() as cursor:
        cursor.executemany(
            f'UPDATE "{table}" SET "on_hand" = %s, "reserved" = %s, "quarantined" = %s WHERE "id" = %s',
            [(level.on_hand, level.reserved, level.quarantined, pk) for pk, level in sorted(levels.items())],
        )
    StockMovement.objects.bulk_create(movements)


# The most units one booking may move: far above any real delivery, far below the column's limit.
MAX_QUANTITY = 100_000_000


def _too_large(field):
    return ValidationError({field: _("Enter at most %(max)s units at a time.") % {"max": f"{MAX_QUANTITY:,}"}})


def _positive(quantity, field="quantity"):
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise ValidationError({field: _("Enter a whole number greater than zero.")})
    if quantity > MAX_QUANTITY:
        raise _too_large(field)


@transaction.atomic
def stock_level_for(product: Product, warehouse: Warehouse) -> StockLevel:
    level, _created = StockLevel.objects.get_or_create(product=product, warehouse=warehouse)
    return level


@transaction.atomic
def set_storage(*, stock_level_id: int, bin_location: str | None, reorder_point: int, actor: Actor) -> StockLevel:
    """Where the goods lie and when to reorder them; never touches the quantities."""
    require(actor, Inventory.CHANGE_STOCKLEVEL, _("Your role may not change storage settings."))
    if not isinstance(reorder_point, int) or reorder_point < 0:
        raise ValidationError({"reorder_point": _("Enter a whole number, zero or more.")})
    level = locks.lock_stock_levels([stock_level_id])[stock_level_id]
    level.bin_location = (bin_location or "").strip()
    level.reorder_point = reorder_point
    level.save(update_fields=["bin_location", "reorder_point"])
    return level


@transaction.atomic
def receive(*, stock_level_id: int, quantity: int, actor: Actor, reference: str = "", reason: str = "") -> StockLevel:
    """Goods arrived at the warehouse."""
    require(actor, Inventory.RECEIVE_STOCK, _("Your role may not book goods received."))
    _positive(quantity)
    level = locks.lock_stock_levels([stock_level_id])[stock_level_id]
    _book([_record(level, Kind.RECEIPT, on_hand_change=quantity, reference=reference, reason=reason, actor=actor)])
    return level


@transaction.atomic
def receive_at(
    *, product: Product, warehouse: Warehouse, quantity: int, actor: Actor, reference: str = "", reason: str = ""
) -> StockLevel:
    """Goods arrived for a product the warehouse may never have stocked: its stock level is made."""
    level = stock_level_for(product, warehouse)
    return receive(stock_level_id=level.pk, quantity=quantity, actor=actor, reference=reference, reason=reason)


@transaction.atomic
def adjust(*, stock_level_id: int, change: int, reason: str, actor: Actor, reference: str = "") -> StockLevel:
    """Correct on-hand stock by `change` (positive or negative); the reason is required."""
    require(actor, Inventory.ADJUST_STOCK, _("Your role may not adjust stock."))
    if not isinstance(change, int) or change == 0:
        raise ValidationError({"change": _("Enter a whole number other than zero.")})
    if abs(change) > MAX_QUANTITY:
        raise _too_large("change")
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the stock is adjusted.")})
    level = locks.lock_stock_levels([stock_level_id])[stock_level_id]
    if level.on_hand + change < level.reserved:
        raise ValidationError(
            {
                "change": _("On hand cannot go below the %(reserved)d units reserved for orders.")
                % {"reserved": level.reserved}
            }
        )
    _book(
        [
            _record(
                level, Kind.ADJUSTMENT, on_hand_change=change, reference=reference, reason=reason.strip(), actor=actor
            )
        ]
    )
    return level


@transaction.atomic
def record_count(*, stock_level_id: int, counted: int, actor: Actor, reference: str = "") -> StockLevel:
    """A stock count found `counted` units on the shelf: book the difference."""
    require(actor, Inventory.COUNT_STOCK, _("Your role may not record stock counts."))
    if not isinstance(counted, int) or counted < 0:
        raise ValidationError({"counted": _("Enter a whole number, zero or more.")})
    if counted > MAX_QUANTITY:
        raise _too_large("counted")
    level = locks.lock_stock_levels([stock_level_id])[stock_level_id]
    if counted < level.reserved:
        raise ValidationError(
            {
                "counted": _(
                    "The count is below the %(reserved)d units reserved for orders; release or re-allocate them first."
                )
                % {"reserved": level.reserved}
            }
        )
    change = counted - level.on_hand
    if change:
        _book([_record(level, Kind.COUNT, on_hand_change=change, reference=reference, actor=actor)])
    return level


@transaction.atomic
def record_counts(
    counts: Sequence[tuple[Product, Warehouse, int, str]], *, actor: Actor, reference: str = ""
) -> list[tuple[str, int] | ValidationError]:
    """A count sheet: (product, warehouse, counted, reference) per line, each product once per
    warehouse. Every stock level the sheet names is locked first, in key order, so a sheet never
    waits for a row with a lower key while holding a higher one (docs/architecture.md, "Lock
    order"); a level the warehouse has never held is made. Answers one outcome per line: ("new",
    "update" or "skip", units on hand before), or the ValidationError that refused the line; the
    others are booked all the same, and a caller that wants all or nothing rolls back."""
    require(actor, Inventory.COUNT_STOCK, _("Your role may not record stock counts."))
    existing = {
        (level.product_id, level.warehouse_id): level.pk
        for level in StockLevel.objects.filter(
            product__in={product for product, *_rest in counts},
            warehouse__in={warehouse for _product, warehouse, *_rest in counts},
        )
    }
    before = {pk: level.on_hand for pk, level in locks.lock_stock_levels(existing.values()).items()}
    outcomes = []
    for product, warehouse, counted, line_reference in counts:
        level_id = existing.get((product.pk, warehouse.pk)) or stock_level_for(product, warehouse).pk
        try:
            record_count(stock_level_id=level_id, counted=counted, actor=actor, reference=line_reference or reference)
        except ValidationError as error:
            outcomes.append(error)
            continue
        on_hand_before = before.get(level_id, 0)
        action = "new" if level_id not in before else "update" if counted != on_hand_before else "skip"
        outcomes.append((action, on_hand_before))
    return outcomes


# What a new product cannot be added without, with what the person is told.
NEW_PRODUCT_NEEDS = {
    "name": _("Enter the name of the new product."),
    "unit_price": _("Enter the unit price of the new product."),
}


@transaction.atomic
def save_products(rows: list[tuple[str, dict]], *, actor: Actor) -> list[tuple[str, dict] | ValidationError]:
    """Add or update products by SKU, as a catalogue upload gives them: `rows` holds (sku, values)
    with only the fields the row gives. A field not given keeps the product's value, or the
    model's default for a new product (an unknown cost is 0), and a new product needs a name and
    a unit price. The rows are saved in turn with the model's validation, so two rows cannot give
    one barcode to two products. Answers one outcome per row: ("new", "update" or "skip", {field:
    (old, new)}), or the ValidationError that refused the row; the others are saved all the same,
    and a caller that wants all or nothing rolls back its transaction."""
    require(actor, Inventory.ADD_PRODUCT, _("Your role may not import products."))
    skus = [sku for sku, _values in rows]
    products = locks.lock_products_by_sku(skus)
    outcomes = []
    for sku, values in rows:
        product = products.get(sku) or Product(sku=sku)
        is_new = product.pk is None
        missing = {
            name: [message] for name, message in NEW_PRODUCT_NEEDS.items() if is_new and values.get(name) is None
        }
        changes = {
            name: (getattr(product, name), value) for name, value in values.items() if getattr(product, name) != value
        }
        for name, (_old, value) in changes.items():
            setattr(product, name, value)
        errors = dict(missing)
        try:
            product.full_clean(exclude=list(missing))
        except ValidationError as error:
            errors.update(error.message_dict)
        if errors:
            if not is_new:
                product.refresh_from_db()
            outcomes.append(ValidationError(errors))
            continue
        if is_new or changes:
            product.save()
        products[sku] = product
        outcomes.append(("new" if is_new else "update" if changes else "skip", changes))
    return outcomes


def _plan(demands, levels):
    """Choose stock for each demand: one warehouse for everything where possible (the highest
    priority such warehouse), otherwise line by line in warehouse priority order. Returns
    (plan, shortages by product id); the plan is only to be booked when nothing is short."""
    by_product = defaultdict(list)
    for level in sorted(levels, key=lambda lv: (lv.warehouse.priority, lv.warehouse.code)):
        by_product[level.product_id].append(level)

    needed = defaultdict(int)
    for demand in demands:
        needed[demand.product_id] += demand.quantity

    warehouse_order = []
    for level in sorted(levels, key=lambda lv: (lv.warehouse.priority, lv.warehouse.code)):
        if level.warehouse_id not in warehouse_order:
            warehouse_order.append(level.warehouse_id)
    for warehouse_id in warehouse_order:
        here = {lv.product_id: lv for lv in levels if lv.warehouse_id == warehouse_id}
        if all(p in here and here[p].available >= q for p, q in needed.items()):
            return [Reservation(d.key, here[d.product_id], d.quantity) for d in demands], {}

    left = {lv.pk: lv.available for lv in levels}
    plan, shortages = [], defaultdict(int)
    for demand in demands:
        remaining = demand.quantity
        for level in by_product[demand.product_id]:
            take = min(remaining, left[level.pk])
            if take > 0:
                plan.append(Reservation(demand.key, level, take))
                left[level.pk] -= take
                remaining -= take
            if not remaining:
                break
        if remaining:
            shortages[demand.product_id] += remaining
    return plan, dict(shortages)


@transaction.atomic(savepoint=False)
def reserve(
    demands: Sequence[Demand], *, reference: str = "", actor: Actor
) -> tuple[list[Reservation], dict[int, int]]:
    """Reserve stock for all demands or for none. Answers (plan, {}) or ([], shortages by product
    id): being short is an outcome the caller decides on (intake holds the order), not an error, so
    no savepoint is needed inside the caller's transaction."""
    return reserve_each([(demands, reference)], actor=actor)[0]


@transaction.atomic(savepoint=False)
def reserve_each(
    requests: Sequence[tuple[Sequence[Demand], str]], *, actor: Actor
) -> list[tuple[list[Reservation], dict[int, int]]]:
    """`reserve` for several orders, decided one after the other in the given order, exactly as one
    call each would decide them: `requests` are (demands, reference) pairs, and the answer is one
    (plan, shortages) per request. The stock rows of all of them are locked once and written once,
    which is what makes a large import affordable."""
    ensure_actor(actor)
    for demands, _reference in requests:
        for demand in demands:
            _positive(demand.quantity)
    locked = locks.lock_in_key_order(
        StockLevel.objects.filter(
            product_id__in={d.product_id for demands, _reference in requests for d in demands},
            warehouse__active=True,
            # Stock whose figures are in doubt is not promised (docs/architecture.md, "Incidents").
            warehouse__reservations_paused_because="",
        ).select_related("warehouse")
    )
    levels_of_product = defaultdict(list)
    for level in locked.values():
        levels_of_product[level.product_id].append(level)
    outcomes, movements = [], []
    for demands, reference in requests:
        levels = sorted(
            (level for product_id in {d.product_id for d in demands} for level in levels_of_product[product_id]),
            key=lambda level: level.pk,
        )
        plan, shortages = _plan(demands, levels)
        if shortages:
            outcomes.append(([], shortages))
            continue
        movements += [
            _record(r.stock_level, Kind.RESERVATION, reserved_change=r.quantity, reference=reference, actor=actor)
            for r in plan
        ]
        outcomes.append((plan, {}))
    if movements:
        _book(movements)
    return outcomes


def _apply_to_locked(items, kind, sign_on_hand, sign_reserved, reference, actor):
    ensure_actor(actor)
    totals = defaultdict(int)
    for stock_level_id, quantity in items:
        _positive(quantity)
        totals[stock_level_id] += quantity
    locked = locks.lock_stock_levels(list(totals))
    _book(
        [
            _record(
                locked[level_id],
                kind,
                on_hand_change=sign_on_hand * quantity,
                reserved_change=sign_reserved * quantity,
                reference=reference,
                actor=actor,
            )
            for level_id, quantity in sorted(totals.items())
        ]
    )
    return locked


@transaction.atomic
def release(items: Iterable[tuple[int, int]], *, reference: str = "", actor: Actor) -> dict[int, StockLevel]:
    """Give reserved stock back to available: `items` are (stock level id, quantity) pairs."""
    return _apply_to_locked(items, Kind.RELEASE, 0, -1, reference, actor)


@transaction.atomic
def ship_out(items: Iterable[tuple[int, int]], *, reference: str = "", actor: Actor) -> dict[int, StockLevel]:
    """Reserved goods left the warehouse: they leave on-hand and reserved together."""
    return _apply_to_locked(items, Kind.SHIPMENT, -1, -1, reference, actor)


@dataclass(frozen=True)
class ReturnedGoods:
    """Units of one product taken back at one warehouse after inspection."""

    product_id: int
    resellable: int
    damaged: int


@transaction.atomic
def take_back_returned(
    warehouse: Warehouse, goods: Sequence[ReturnedGoods], *, reference: str, actor: Actor
) -> dict[int, StockLevel]:
    """Returned goods inspected at a warehouse: resellable units go back on hand (for sale
    again), damaged ones into quarantine, which is never on hand nor for sale. The product's stock
    level there is made if the warehouse never held it."""
    return _take_in(
        warehouse,
        [(item.product_id, item.resellable, item.damaged, None) for item in goods],
        kind=Kind.RETURN,
        damaged_reason=_("Damaged on return"),
        reference=reference,
        actor=actor,
    )


@dataclass(frozen=True)
class PurchasedGoods:
    """Units of one purchase-order line that arrived at its warehouse: good ones and damaged ones."""

    purchase_order_line_id: int
    product_id: int
    good: int
    damaged: int


@transaction.atomic
def take_in_purchased(
    warehouse: Warehouse, goods: Sequence[PurchasedGoods], *, reference: str, actor: Actor
) -> dict[int, StockLevel]:
    """Goods bought from a supplier arrived: good units on hand as a receipt, damaged ones into
    quarantine; every ledger line names its purchase-order line (docs/architecture.md, "Suppliers
    and purchase orders"). The caller holds the purchase order's lock."""
    return _take_in(
        warehouse,
        [(item.product_id, item.good, item.damaged, item.purchase_order_line_id) for item in goods],
        kind=Kind.RECEIPT,
        damaged_reason=_("Damaged on arrival"),
        reference=reference,
        actor=actor,
    )


def _take_in(warehouse, goods, *, kind, damaged_reason, reference, actor):
    """Book (product id, good, damaged, purchase-order line id) units at a warehouse: good ones on
    hand as `kind`, damaged ones into quarantine."""
    require(actor, Inventory.RECEIVE_STOCK, _("Your role may not book goods received."))
    for _product_id, good, damaged, _line_id in goods:
        for quantity in (good, damaged):
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
                raise ValidationError({"quantity": _("Enter whole numbers, zero or more.")})
            if quantity > MAX_QUANTITY:
                raise _too_large("quantity")
    for product_id, *_rest in goods:
        StockLevel.objects.get_or_create(product_id=product_id, warehouse=warehouse)
    levels = locks.lock_in_key_order(
        StockLevel.objects.filter(warehouse=warehouse, product_id__in=[item[0] for item in goods])
    )
    by_product = {level.product_id: level for level in levels.values()}
    movements = []
    for product_id, good, damaged, line_id in sorted(goods, key=lambda item: by_product[item[0]].pk):
        level = by_product[product_id]
        if good:
            movements.append(_record(level, kind, on_hand_change=good, reference=reference, actor=actor))
            movements[-1].purchase_order_line_id = line_id
        if damaged:
            movements.append(
                _record(
                    level,
                    Kind.QUARANTINE,
                    quarantined_change=damaged,
                    reference=reference,
                    reason=damaged_reason,
                    actor=actor,
                )
            )
            movements[-1].purchase_order_line_id = line_id
    if movements:
        _book(movements)
    return by_product


@transaction.atomic
def release_from_quarantine(
    *, stock_level_id: int, quantity: int, reason: str, actor: Actor, reference: str = ""
) -> StockLevel:
    """Quarantined goods found fit to sell (repaired, or the damage was only the box)."""
    return _leave_quarantine(stock_level_id, quantity, reason, actor, reference, Kind.QUARANTINE, to_on_hand=True)


@transaction.atomic
def write_off_quarantined(
    *, stock_level_id: int, quantity: int, reason: str, actor: Actor, reference: str = ""
) -> StockLevel:
    """Quarantined goods that will never be sold leave the books."""
    return _leave_quarantine(stock_level_id, quantity, reason, actor, reference, Kind.WRITE_OFF, to_on_hand=False)


def _leave_quarantine(stock_level_id, quantity, reason, actor, reference, kind, *, to_on_hand):
    require(actor, Inventory.ADJUST_STOCK, _("Your role may not adjust stock."))
    _positive(quantity)
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the goods leave quarantine.")})
    if len(reason.strip()) > REASON_LENGTH:
        raise ValidationError({"reason": _("Use at most %(max)d characters.") % {"max": REASON_LENGTH}})
    level = locks.lock_stock_levels([stock_level_id])[stock_level_id]
    _book(
        [
            _record(
                level,
                kind,
                on_hand_change=quantity if to_on_hand else 0,
                quarantined_change=-quantity,
                reference=reference,
                reason=reason.strip(),
                actor=actor,
            )
        ]
    )
    return level


# Pausing a warehouse's work (docs/architecture.md, "Incidents")

PAUSES = {
    "picking": "picking_paused_because",
    "reservations": "reservations_paused_because",
}
PAUSE_REASON_LENGTH = Warehouse._meta.get_field("picking_paused_because").max_length


@transaction.atomic
def pause_warehouse(warehouse_id: int, what: str, *, reason: str, actor: Actor) -> Warehouse:
    """Pause one kind of a warehouse's work with a reason staff are shown: `what` is "picking" (no
    pick list is made there) or "reservations" (new orders reserve no stock there, its figures
    being in doubt). One reason at a time for each."""
    require(actor, Inventory.CHANGE_WAREHOUSE, _("Your role may not pause a warehouse's work."))
    column = PAUSES[what]
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": _("Say why; staff are shown it while the work is paused.")})
    if len(reason) > PAUSE_REASON_LENGTH:
        raise ValidationError({"reason": _("Use at most %(max)d characters.") % {"max": PAUSE_REASON_LENGTH}})
    warehouse = locks.lock_warehouse(warehouse_id)
    if getattr(warehouse, column):
        raise ValidationError(
            {
                "warehouse": _("%(warehouse)s is already paused: %(reason)s")
                % {"warehouse": warehouse, "reason": getattr(warehouse, column)}
            }
        )
    setattr(warehouse, column, reason)
    warehouse.save(update_fields=[column])
    return warehouse


@transaction.atomic
def resume_warehouse(warehouse_id: int, what: str, *, actor: Actor) -> Warehouse:
    """Resume what `pause_warehouse` paused; resuming work that runs changes nothing."""
    require(actor, Inventory.CHANGE_WAREHOUSE, _("Your role may not resume a warehouse's work."))
    column = PAUSES[what]
    warehouse = locks.lock_warehouse(warehouse_id)
    if getattr(warehouse, column):
        setattr(warehouse, column, "")
        warehouse.save(update_fields=[column])
    return warehouse


@transaction.atomic
def transfer_reserved(
    items: Sequence[tuple[int, int]], to_warehouse_id: int, *, reference: str = "", actor: Actor
) -> dict[int, StockLevel]:
    """Move reserved units to another warehouse: `items` are (stock level id, quantity) pairs of
    reserved stock, released there and reserved from the same products' stock in
    `to_warehouse_id`, both written to the ledger. All or nothing: refused, naming the SKUs, when
    the other warehouse has not enough available. Answers {product id: the stock level reserved}.
    Every stock level is locked in one statement, in key order."""
    ensure_actor(actor)
    totals = defaultdict(int)
    for stock_level_id, quantity in items:
        _positive(quantity)
        totals[stock_level_id] += quantity
    product_of = dict(StockLevel.objects.filter(pk__in=list(totals)).values_list("pk", "product_id"))
    locked = locks.lock_in_key_order(
        StockLevel.objects.filter(
            Q(pk__in=list(totals)) | Q(warehouse_id=to_warehouse_id, product_id__in=set(product_of.values()))
        ).select_related("product", "warehouse")
    )
    to_level_of = {level.product_id: level for level in locked.values() if level.warehouse_id == to_warehouse_id}
    needed = defaultdict(int)
    for stock_level_id, quantity in totals.items():
        needed[product_of[stock_level_id]] += quantity
    short = {
        product_id: quantity - (to_level_of[product_id].available if product_id in to_level_of else 0)
        for product_id, quantity in needed.items()
        if product_id not in to_level_of or to_level_of[product_id].available < quantity
    }
    if short:
        skus = {level.product_id: level.product.sku for level in locked.values()}
        raise ValidationError(
            {
                "warehouse": _("Not enough stock available there (SKU: units missing): %(items)s.")
                % {"items": ", ".join(f"{skus[pid]}: {missing}" for pid, missing in sorted(short.items()))}
            }
        )
    movements = [
        _record(locked[level_id], Kind.RELEASE, reserved_change=-quantity, reference=reference, actor=actor)
        for level_id, quantity in sorted(totals.items())
    ] + [
        _record(to_level_of[product_id], Kind.RESERVATION, reserved_change=quantity, reference=reference, actor=actor)
        for product_id, quantity in sorted(needed.items())
    ]
    _book(movements)
    return to_level_of
