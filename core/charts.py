"""Chart geometry for server-rendered SVG (templates/admin/analytics/charts/): no script, nothing from a
CDN, sharp in print, and the labels are plain text in the page's language. The dashboard and the
inventory page (planning) draw with it. Coordinates are in the
SVG's viewBox units; the chart scales to its box."""

import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

WIDTH = 640
FONT = 11


def text_width(text):
    """Rough width in units of FONT: wide (CJK) characters count twice a Latin one."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.58 for c in text) * FONT


def fit(text, width):
    """`text` shortened with an ellipsis to fit `width` units."""
    text = str(text)
    if text_width(text) <= width:
        return text
    while text and text_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def nice_ceiling(value):
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `value` (at least 1)."""
    value = Decimal(value)
    if value <= 1:
        return Decimal(1)
    magnitude = Decimal(10) ** (len(str(int(value))) - 1)
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _plain(value):
    """A whole number as an int (so 25.0 orders read 25)."""
    return int(value) if value == value.to_integral_value() else value


@dataclass
class Column:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass
class ColumnChart:
    """Vertical bars, one per day, with a few day labels under them and value ticks on the left."""

    height: int
    columns: list
    x_labels: list  # (x, text)
    y_ticks: list  # (y, text)
    plot_left: float
    plot_right: float
    baseline: float
    width: int = WIDTH

    @property
    def tick_label_x(self):
        return self.plot_left - 6

    @property
    def day_label_y(self):
        return self.height - 6


def column_chart(points, *, fmt, height=180):
    """`points` are (label, value) pairs; `fmt` turns a value into its text."""
    left, right, top, bottom = 64, WIDTH - 8, 10, height - 22
    plot_height = bottom - top
    ceiling = nice_ceiling(max((Decimal(value) for _label, value in points), default=0))
    slot = (right - left) / max(len(points), 1)
    gap = min(slot * 0.2, 4)
    columns = []
    for index, (label, value) in enumerate(points):
        bar = float(Decimal(value) / ceiling) * plot_height
        columns.append(
            Column(
                round(left + index * slot + gap / 2, 2),
                round(bottom - bar, 2),
                round(slot - gap, 2),
                round(bar, 2),
                f"{label}: {fmt(value)}",
            )
        )
    every = max(1, round(len(points) / 8))
    x_labels = [(round(left + (i + 0.5) * slot, 2), label) for i, (label, _v) in enumerate(points) if i % every == 0]
    y_ticks = [
        (round(bottom - plot_height * float(share), 2), fmt(_plain(ceiling * share)))
        for share in (Decimal(0), Decimal("0.5"), Decimal(1))
    ]
    return ColumnChart(height, columns, x_labels, y_ticks, left, right, bottom)


@dataclass
class Bar:
    y: float
    label: str
    full_label: str
    width: float
    value_text: str
    value_x: float
    highlight: bool = False
    height: float = 16

    @property
    def text_y(self):
        return round(self.y + self.height / 2 + FONT * 0.35, 2)


@dataclass
class BarChart:
    """Horizontal bars with their labels on the left and their values at their ends."""

    height: int
    bars: list
    bar_x: float
    bar_height: float
    width: int = WIDTH
    label_x: float = 4
    marks: list = field(default_factory=list)


def bar_chart(rows, *, fmt, label_width=150, row_height=24):
    """`rows` are (label, value) or (label, value, highlight) tuples, drawn top to bottom."""
    bar_x = label_width + 8
    room = WIDTH - bar_x - 90
    largest = max((Decimal(row[1]) for row in rows), default=0) or 1
    bars = []
    for index, row in enumerate(rows):
        label, value = row[0], row[1]
        width = float(Decimal(value) / Decimal(largest)) * room
        bars.append(
            Bar(
                y=index * row_height + 4,
                label=fit(label, label_width - 6),
                full_label=str(label),
                width=round(width, 2),
                value_text=fmt(value),
                value_x=round(bar_x + width + 6, 2),
                highlight=bool(row[2]) if len(row) > 2 else False,
                height=row_height - 8,
            )
        )
    return BarChart(len(rows) * row_height + 8, bars, bar_x, row_height - 8)
