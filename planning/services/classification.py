"""Working out ABC classes, turnover, days of inventory, dead stock and stock value, and storing
them as the snapshot the inventory page reads; run by `manage.py classify_products` (cron,
docs/architecture.md "Jobs") or from the page.

ABC: products ranked by revenue over the period (lines of orders not cancelled); a product is A
while the revenue ranked before it is under the A share, B while under A + B, C after, and C when
it sold nothing. Products with the same revenue share one rank, so a tie never splits across
classes. Turnover counts units: units sold from a warehouse over the period ÷ its average units on
hand then; per warehouse, where units of different products do not add up, it counts value: cost
of goods sold ÷ average stock value, both at today's unit cost (the cost history is not kept)."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor, stored_user
from core.bulk import insert
from core.permissions import Planning, require
from inventory import services as inventory
from inventory.models import AbcClass, Product

from .. import locks, selectors
from ..models import ClassFigure, ClassificationSettings, InventorySnapshot, StockFigure, WarehouseFigure

ZERO = Decimal("0")
CENT = Decimal("0.01")
HUNDRED = Decimal("100")


@dataclass(frozen=True)
class Thresholds:
    a_share: Decimal
    b_share: Decimal


def classify(revenues: dict[int, Decimal], thresholds: Thresholds) -> dict[int, str]:
    """Each product's class from its revenue (a product that sold nothing is C)."""
    total = sum(revenues.values(), ZERO)
    classes = {}
    ranked = defaultdict(list)
    for product_id, revenue in revenues.items():
        if revenue > 0:
            ranked[revenue].append(product_id)
        else:
            classes[product_id] = AbcClass.C
    before = ZERO
    for revenue in sorted(ranked, reverse=True):
        share_before = before * HUNDRED / total
        if share_before < thresholds.a_share:
            abc_class = AbcClass.A
        elif share_before < thresholds.a_share + thresholds.b_share:
            abc_class = AbcClass.B
        else:
            abc_class = AbcClass.C
        for product_id in ranked[revenue]:
            classes[product_id] = abc_class
        before += revenue * len(ranked[revenue])
    return classes


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def recompute_classification(*, actor: Actor, now: datetime | None = None) -> InventorySnapshot:
    """Classify every product, write the classes on the products (through inventory) and replace the
    inventory page's snapshot, in one transaction. Two at once run one after the other. Everything
    is read and worked out first, so the products whose class changes stay locked only while the
    writes run."""
    require(actor, Planning.CLASSIFY_PRODUCTS, _("Your role may not recompute the ABC classes."))
    started = time.perf_counter()
    with transaction.atomic():
        settings = locks.lock_classification_settings()
        until = now or timezone.now()
        snapshot = InventorySnapshot(
            period_start=until - timedelta(days=settings.period_days),
            period_end=until,
            dead_since=until - timedelta(days=settings.dead_after_days),
            a_share=settings.a_share,
            b_share=settings.b_share,
            computed_by=stored_user(actor),
        )
        sales = selectors.product_sales(
            since=min(snapshot.period_start, snapshot.dead_since), revenue_from=snapshot.period_start, until=until
        )
        revenues = dict.fromkeys(Product.objects.values_list("pk", flat=True), ZERO)
        revenues.update({product_id: sold.revenue for product_id, sold in sales.items()})
        classes = classify(revenues, Thresholds(settings.a_share, settings.b_share))
        figures = _stock_figures(snapshot, settings.period_days, classes, sales)

        inventory.set_abc_classes(classes, actor=actor)
        InventorySnapshot.objects.all().delete()
        snapshot.revenue = sum(revenues.values(), ZERO)
        snapshot.computed_at = timezone.now()
        snapshot.save()
        for figure in figures:
            figure.snapshot_id = snapshot.pk
        insert(figures, batch_size=5000)
        insert(_class_figures(snapshot, classes, revenues, figures), batch_size=10)
        insert(_warehouse_figures(snapshot, figures), batch_size=100)
        snapshot.seconds = round(time.perf_counter() - started, 3)
        snapshot.save(update_fields=["seconds"])
    return snapshot


def _stock_figures(snapshot, period_days: int, classes, sales) -> list[StockFigure]:
    since, until = snapshot.period_start, snapshot.period_end
    units_sold = selectors.units_sold_by_stock_level(since=since, until=until)
    moved = selectors.on_hand_moved_by_stock_level(since=since, until=until)
    figures = []
    for level_id, product_id, warehouse_id, on_hand, unit_cost in selectors.stock_levels():
        sold = units_sold.get(level_id, 0)
        average = max(Decimal(on_hand) - moved.get(level_id, ZERO), ZERO).quantize(CENT)
        if not (on_hand or sold or average):
            continue
        last_sold_at = sales[product_id].last_sold_at if product_id in sales else None
        figures.append(
            StockFigure(
                product_id=product_id,
                warehouse_id=warehouse_id,
                abc_class=classes.get(product_id, AbcClass.C),
                on_hand=on_hand,
                unit_cost=unit_cost,
                stock_value=_cents(on_hand * unit_cost),
                units_sold=sold,
                average_on_hand=average,
                turnover=_cents(sold / average) if average else None,
                days_of_inventory=(period_days * average / sold).quantize(Decimal("0.1")) if sold else None,
                last_sold_at=last_sold_at,
                dead=on_hand > 0 and (last_sold_at is None or last_sold_at < snapshot.dead_since),
            )
        )
    return figures


def _class_figures(snapshot, classes, revenues, figures) -> list[ClassFigure]:
    products, revenue, stock_value = defaultdict(int), defaultdict(Decimal), defaultdict(Decimal)
    for product_id, abc_class in classes.items():
        products[abc_class] += 1
        revenue[abc_class] += revenues[product_id]
    for figure in figures:
        stock_value[figure.abc_class] += figure.stock_value
    return [
        ClassFigure(
            snapshot_id=snapshot.pk,
            abc_class=abc_class,
            products=products[abc_class],
            revenue=revenue[abc_class],
            stock_value=stock_value[abc_class],
        )
        for abc_class in AbcClass.values
    ]


def _warehouse_figures(snapshot, figures) -> list[WarehouseFigure]:
    totals = {}
    for figure in figures:
        total = totals.setdefault(
            figure.warehouse_id,
            WarehouseFigure(
                snapshot_id=snapshot.pk,
                warehouse_id=figure.warehouse_id,
                products=0,
                units_on_hand=0,
                stock_value=ZERO,
                average_stock_value=ZERO,
                cost_of_sales=ZERO,
                dead_products=0,
                dead_value=ZERO,
            ),
        )
        total.products += 1
        total.units_on_hand += figure.on_hand
        total.stock_value += figure.stock_value
        total.average_stock_value += figure.average_on_hand * figure.unit_cost
        total.cost_of_sales += figure.units_sold * figure.unit_cost
        if figure.dead:
            total.dead_products += 1
            total.dead_value += figure.stock_value
    for total in totals.values():
        total.average_stock_value = _cents(total.average_stock_value)
    return list(totals.values())


def update_classification_settings(
    *, period_days: int, a_share: Decimal, b_share: Decimal, dead_after_days: int, actor: Actor
) -> ClassificationSettings:
    """Change the thresholds; the classes follow at the next computation."""
    require(actor, Planning.CHANGE_CLASSIFICATIONSETTINGS, _("Your role may not change how products are classified."))
    with transaction.atomic():
        settings = locks.lock_classification_settings()
        settings.period_days, settings.a_share, settings.b_share = period_days, a_share, b_share
        settings.dead_after_days = dead_after_days
        settings.full_clean()
        settings.save()
    return settings
