"""Reads of count sessions: the counter's blind list and the manager's variance report
(docs/architecture.md, "Stock counts")."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet

from ..models import CountLine, CountSession


def sessions_with_progress() -> QuerySet[CountSession]:
    """Count sessions for the list: their warehouse, lines in all, lines counted, lines waiting for approval."""
    return CountSession.objects.select_related("warehouse", "created_by").annotate(
        line_count=Count("lines"),
        counted_count=Count("lines", filter=Q(lines__counted__isnull=False)),
        flagged_count=Count("lines", filter=Q(lines__needs_approval=True)),
    )


def blind_lines(session: CountSession) -> QuerySet[CountLine]:
    """What the counter sees: bin, product and their own count, never the expected figure."""
    return (
        session.lines.select_related("stock_level__product")
        .only("bin_location", "counted", "counted_at", "stock_level__product__sku", "stock_level__product__name")
        .order_by("bin_location", "stock_level__product__sku")
    )


@dataclass(frozen=True)
class VarianceRow:
    line: CountLine
    sku: str
    name: str
    bin_location: str
    expected: int | None
    counted: int | None
    variance: int | None
    value: Decimal | None
    percent: Decimal | None
    moved_since: int | None
    needs_approval: bool


def variance_report(session: CountSession) -> list[VarianceRow]:
    """Each line with its expected and counted units, the variance in units, value (at the
    product's cost) and share of the expected units, and, until it is booked, what moved on the
    stock level since the line was counted (carried over by the booking). Largest value first."""
    rows = []
    for line in session.lines.select_related("stock_level__product"):
        product, variance = line.stock_level.product, line.variance
        percent = None
        if variance is not None and line.expected:
            percent = (Decimal(variance) * 100 / line.expected).quantize(Decimal("0.1"))
        moved = None
        if line.expected is not None and line.booked_change is None:
            moved = line.stock_level.on_hand - line.expected
        rows.append(
            VarianceRow(
                line=line,
                sku=product.sku,
                name=product.name,
                bin_location=line.bin_location,
                expected=line.expected,
                counted=line.counted,
                variance=variance,
                value=None if variance is None else variance * product.cost,
                percent=percent,
                moved_since=moved,
                needs_approval=line.needs_approval,
            )
        )
    return sorted(rows, key=lambda row: (-(abs(row.value) if row.value is not None else -1), row.bin_location, row.sku))
