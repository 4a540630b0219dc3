"""Reads for the classification: the sales, units and stock history it is computed from (each one
SQL aggregation), and the newest snapshot the inventory page and its workbook show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Max, Q, QuerySet, Sum, Value

from inventory.models import StockLevel, StockMovement
from orders.models import Allocation, Order, OrderLine

from ..models import ClassFigure, InventorySnapshot, StockFigure, WarehouseFigure

# The page lists this many rows of each table; the workbook holds them all.
LISTED_ROWS = 50


@dataclass(frozen=True)
class ProductSales:
    revenue: Decimal
    last_sold_at: datetime


def product_sales(*, since: datetime, revenue_from: datetime, until: datetime) -> dict[int, ProductSales]:
    """Per product sold between `since` and `until` (orders placed then and not cancelled): the
    revenue of its lines placed from `revenue_from`, and when it was last sold."""
    rows = (
        OrderLine.objects.filter(order__placed_at__gte=since, order__placed_at__lt=until)
        .exclude(order__status=Order.Status.CANCELLED)
        .values("product_id")
        .annotate(
            revenue=Sum("line_total", filter=Q(order__placed_at__gte=revenue_from), default=Decimal("0")),
            last_sold_at=Max("order__placed_at"),
        )
        .order_by()
        .values_list("product_id", "revenue", "last_sold_at")
    )
    return {product_id: ProductSales(revenue, last_sold_at) for product_id, revenue, last_sold_at in rows}


def units_sold_by_stock_level(*, since: datetime, until: datetime) -> dict[int, int]:
    """Per stock level, the units it gave to orders placed in the period and not cancelled
    (reserved or shipped from it; what was released went back on the shelf)."""
    rows = (
        Allocation.objects.filter(line__order__placed_at__gte=since, line__order__placed_at__lt=until)
        .exclude(state=Allocation.State.RELEASED)
        .exclude(line__order__status=Order.Status.CANCELLED)
        .values("stock_level_id")
        .annotate(units=Sum("quantity"))
        .order_by()
        .values_list("stock_level_id", "units")
    )
    return dict(rows)


def on_hand_moved_by_stock_level(*, since: datetime, until: datetime) -> dict[int, Decimal]:
    """Per stock level, how far the period's average on hand lies below today's: each movement in
    the period changed on hand for the part of the period before it, so the average is today's on
    hand less Σ change × (time of the change − start) ÷ length of the period. Exact for stock that
    moved at any time, from the ledger alone."""
    seconds = Decimal((until - since).total_seconds())
    # The time since the start as a duration, so the one query runs on SQLite (the demo) as well.
    weighted = ExpressionWrapper(
        (F("created_at") - Value(since, output_field=DateTimeField())) * F("on_hand_change"),
        output_field=DurationField(),
    )
    rows = (
        StockMovement.objects.filter(created_at__gte=since, created_at__lt=until)
        .exclude(on_hand_change=0)
        .values("stock_level_id")
        .annotate(weighted=Sum(weighted))
        .order_by()
        .values_list("stock_level_id", "weighted")
    )
    return {level_id: Decimal(str(moved.total_seconds())) / seconds for level_id, moved in rows}


def stock_levels() -> list[tuple[int, int, int, int, Decimal]]:
    """Every stock level as (id, product id, warehouse id, on hand, the product's unit cost)."""
    return list(
        StockLevel.objects.order_by("pk").values_list("pk", "product_id", "warehouse_id", "on_hand", "product__cost")
    )


# --- the page -----------------------------------------------------------------------------------


@dataclass
class InventoryPage:
    """What the inventory page shows of the newest snapshot, for one warehouse or all."""

    snapshot: InventorySnapshot | None
    classes: list[ClassFigure]
    warehouses: list[WarehouseFigure]
    top_stock: list[StockFigure]
    dead_stock: list[StockFigure]
    stock_rows: int
    dead_rows: int


def latest_snapshot() -> InventorySnapshot | None:
    return InventorySnapshot.objects.select_related("computed_by").order_by("-computed_at", "-id").first()


def class_figures(snapshot: InventorySnapshot) -> list[ClassFigure]:
    return list(snapshot.classes.order_by("abc_class"))


def warehouse_figures(snapshot: InventorySnapshot, warehouse_id: int | None = None) -> list[WarehouseFigure]:
    figures = snapshot.warehouses.select_related("warehouse").order_by("warehouse__priority", "warehouse__code")
    if warehouse_id:
        figures = figures.filter(warehouse_id=warehouse_id)
    return list(figures)


def stock_figures(
    snapshot: InventorySnapshot, *, warehouse_id: int | None = None, dead: bool = False
) -> QuerySet[StockFigure]:
    """The snapshot's stock figures, most stock value first: all of them, or the dead stock."""
    figures = StockFigure.objects.filter(snapshot=snapshot).order_by("-stock_value", "id")
    if warehouse_id:
        figures = figures.filter(warehouse_id=warehouse_id)
    if dead:
        figures = figures.filter(dead=True)
    return figures


def inventory_page(warehouse_id: int | None = None) -> InventoryPage:
    """The page's figures in a fixed number of queries whatever the catalogue's size: the counts
    of its long lists come from the warehouse figures, and only their first rows are read."""
    snapshot = latest_snapshot()
    if snapshot is None:
        return InventoryPage(None, [], [], [], [], 0, 0)
    warehouses = warehouse_figures(snapshot, warehouse_id)
    listed = ("product", "warehouse")
    return InventoryPage(
        snapshot=snapshot,
        classes=class_figures(snapshot),
        warehouses=warehouses,
        top_stock=list(stock_figures(snapshot, warehouse_id=warehouse_id).select_related(*listed)[:LISTED_ROWS]),
        dead_stock=list(
            stock_figures(snapshot, warehouse_id=warehouse_id, dead=True).select_related(*listed)[:LISTED_ROWS]
        ),
        stock_rows=sum(figure.products for figure in warehouses),
        dead_rows=sum(figure.dead_products for figure in warehouses),
    )
