"""The manager's dashboard as tables and charts. Every table is built here once and drawn twice: as
HTML on the page and as an Excel sheet (excel.py), so both always show the same figures."""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from core import charts

from . import selectors

NUMERIC_KINDS = {"count", "number", "money", "percent", "duration", "change"}


@dataclass(frozen=True)
class Column:
    label: str
    kind: str = "text"  # text, count, number (one decimal), money, percent, duration, duration_range, change, date

    @property
    def numeric(self):
        return self.kind in NUMERIC_KINDS


@dataclass(frozen=True)
class Cell:
    """A value whose kind differs from its column's (the key figures mix counts, money and rates)."""

    value: object
    kind: str


@dataclass
class Table:
    key: str
    title: str
    columns: list
    rows: list
    note: str = ""
    highlighted_rows: set = field(default_factory=set)

    def display_rows(self):
        """Each row as (highlighted, [(text, numeric)]) for the page."""
        return [
            (
                index in self.highlighted_rows,
                [
                    (text(value, column.kind), column.numeric or isinstance(value, Cell))
                    for column, value in zip(self.columns, row, strict=True)
                ],
            )
            for index, row in enumerate(self.rows)
        ]


@dataclass
class Section:
    table: Table
    charts: list = field(default_factory=list)  # (title, chart, kind) with kind "columns" or "bars"


# Text of a value -------------------------------------------------------------------------------


def duration_text(seconds):
    if seconds is None:
        return "—"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return _("%(days)s d %(hours)s h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
    if minutes:
        return _("%(minutes)s min") % {"minutes": minutes}
    return _("%(seconds)s s") % {"seconds": seconds}


def _bound_text(seconds):
    if seconds % 86400 == 0 and seconds:
        return _("%(days)s d") % {"days": seconds // 86400}
    if seconds >= 3600:
        hours = Decimal(seconds) / 3600
        return _("%(hours)s h") % {"hours": number_format(hours, 1 if hours % 1 else 0)}
    return _("%(minutes)s min") % {"minutes": seconds // 60}


def duration_range_text(bounds):
    if bounds is None:
        return "—"
    lower, upper = bounds
    if upper is None:
        return _("%(lower)s or more") % {"lower": _bound_text(lower)}
    if lower == 0:
        return _("under %(upper)s") % {"upper": _bound_text(upper)}
    return f"{_bound_text(lower)} – {_bound_text(upper)}"


def _percent(share):
    """A share as a percentage to one decimal, rounded (number_format alone cuts 66.67 to 66.6)."""
    return number_format((Decimal(share) * 100).quantize(Decimal("0.1"), ROUND_HALF_UP), 1)


def percent_text(value):
    return "—" if value is None else f"{_percent(value)} %"


def number_text(value):
    return "—" if value is None else number_format(Decimal(value), 1, force_grouping=True)


def money_text(value):
    return "—" if value is None else number_format(Decimal(value), 2, force_grouping=True)


def count_text(value):
    return "—" if value is None else intcomma(value)


def change_text(figure):
    change = figure.change if figure is not None else None
    if change is None:
        return "—"
    sign = "+" if change > 0 else ("−" if change < 0 else "±")
    if figure.kind == "percent":
        return _("%(sign)s%(points)s pts") % {"sign": sign, "points": _percent(abs(change))}
    return f"{sign}{_percent(abs(change))} %"


TEXT_OF = {
    "count": count_text,
    "number": number_text,
    "money": money_text,
    "percent": percent_text,
    "duration": duration_text,
    "duration_range": duration_range_text,
}


def text(value, kind):
    if isinstance(value, Cell):
        return text(value.value, value.kind)
    if kind == "change":
        return change_text(value)
    if kind == "date":
        return value.isoformat()
    if kind in TEXT_OF:
        return TEXT_OF[kind](value)
    return "" if value is None else str(value)


# Tables and charts ----------------------------------------------------------------------------

TITLES = {
    "figures": gettext_lazy("Key figures"),
    "per_day": gettext_lazy("Orders and GMV per day"),
    "channels": gettext_lazy("By channel"),
    "provinces": gettext_lazy("By province"),
    "products_by_quantity": gettext_lazy("Top products by quantity"),
    "products_by_revenue": gettext_lazy("Top products by revenue"),
    "funnel": gettext_lazy("Status funnel"),
    "stages": gettext_lazy("Time in each status"),
    "dispatch_deadlines": gettext_lazy("On-time dispatch by channel"),
    "staff": gettext_lazy("Staff"),
    "stock_value": gettext_lazy("Stock value"),
}


def figures_section(filters, figures):
    columns = [
        Column(_("Figure")),
        Column(_("This period")),
        Column(_("Previous period")),
        Column(pgettext("difference between two periods", "Change"), "change"),
    ]
    rows = [
        [str(figure.label), Cell(figure.current, figure.kind), Cell(figure.previous, figure.kind), figure]
        for figure in figures
    ]
    note = _(
        "Return rate: returns asked for in the period, less those rejected, per order placed in the period. "
        "Complaint rate: complaint tickets about an order opened in the period, per order placed in the "
        "period. Satisfaction: the share of the ratings given in the period that are 4 or 5 out of 5."
    )
    note += " " + _(
        "Gross margin: of the orders placed in the period that have been delivered, their goods' revenue "
        "(line totals, without shipping and order discounts) less what the goods cost the shop when the "
        "order was placed; the gross margin (%) is that margin over the revenue."
    )
    if filters.warehouse_id:
        note += " " + _(
            "Orders, GMV, payments, cancellations, returns, complaints and ratings belong to no single "
            "warehouse: they are for all warehouses. The warehouse filter applies to shipments and staff."
        )
    return Section(Table("figures", str(TITLES["figures"]), columns, rows, note=note))


def per_day_section(filters):
    days = selectors.per_day(filters)
    table = Table(
        "per_day",
        str(TITLES["per_day"]),
        [Column(_("Day"), "date"), Column(_("Orders"), "count"), Column(_("GMV"), "money")],
        [[row.day, row.orders, row.gmv] for row in days],
    )
    label = (lambda day: day.strftime("%m-%d")) if len(days) > 1 else (lambda day: day.isoformat())
    return Section(
        table,
        [
            (_("Orders"), charts.column_chart([(label(r.day), r.orders) for r in days], fmt=count_text), "columns"),
            (_("GMV"), charts.column_chart([(label(r.day), r.gmv) for r in days], fmt=_short_money), "columns"),
        ],
    )


def _short_money(value):
    return number_format(Decimal(value).quantize(Decimal(1)), 0, force_grouping=True)


def _share_section(key, heading, rows):
    table = Table(
        key,
        str(TITLES[key]),
        [Column(heading), Column(_("Orders"), "count"), Column(_("Share"), "percent"), Column(_("GMV"), "money")],
        [[row.label, row.orders, row.share, row.gmv] for row in rows],
    )
    chart = charts.bar_chart([(row.label, row.orders) for row in rows[:12]], fmt=count_text)
    return Section(table, [(_("Orders"), chart, "bars")] if rows else [])


def channels_section(filters):
    return _share_section("channels", _("Channel"), selectors.per_channel(filters))


def provinces_section(filters):
    section = _share_section("provinces", _("Province"), selectors.per_province(filters))
    if len(section.table.rows) > 12:
        section.table.note = _("The chart shows the 12 provinces with the most orders; the table shows all.")
    return section


def _products_section(filters, by):
    key = f"products_by_{by}"
    rows = selectors.top_products(filters, by=by)
    table = Table(
        key,
        str(TITLES[key]),
        [Column(_("SKU")), Column(_("Product")), Column(_("Quantity"), "count"), Column(_("Revenue"), "money")],
        [[row.sku, row.name, row.quantity, row.revenue] for row in rows],
    )
    fmt = count_text if by == "quantity" else money_text
    chart = charts.bar_chart([(f"{row.sku} {row.name}", getattr(row, by)) for row in rows], fmt=fmt, label_width=200)
    return Section(table, [(TITLES[key], chart, "bars")] if rows else [])


def products_by_quantity_section(filters):
    return _products_section(filters, "quantity")


def products_by_revenue_section(filters):
    return _products_section(filters, "revenue")


def funnel_section(filters, orders=None):
    rows = selectors.funnel(filters, orders=orders)
    table = Table(
        "funnel",
        str(TITLES["funnel"]),
        [Column(_("Stage")), Column(_("Orders"), "count"), Column(_("Share of placed orders"), "percent")],
        [[row.label, row.orders, row.share] for row in rows],
        note=_("Of the orders placed in the period, how many have reached each stage so far."),
    )
    chart = charts.bar_chart([(row.label, row.orders) for row in rows], fmt=count_text)
    return Section(table, [(TITLES["funnel"], chart, "bars")] if rows[0].orders else [])


def stages_section(filters):
    rows = selectors.stage_times(filters)
    table = Table(
        "stages",
        str(TITLES["stages"]),
        [
            Column(_("Status")),
            Column(_("Orders that left it"), "count"),
            Column(_("Average time in it"), "duration"),
            Column(_("Bottleneck")),
        ],
        [[row.label, row.stays, row.average_seconds, _("Bottleneck") if row.bottleneck else ""] for row in rows],
        note=_(
            "From the event log: how long orders stayed in each status they left during the period. "
            "The slowest is the bottleneck; time spent delivered, waiting for the customer to accept, "
            "is shown but never called one."
        ),
        highlighted_rows={index for index, row in enumerate(rows) if row.bottleneck},
    )
    chart = charts.bar_chart([(row.label, row.average_seconds, row.bottleneck) for row in rows], fmt=duration_text)
    return Section(table, [(TITLES["stages"], chart, "bars")] if rows else [])


def dispatch_deadlines_section(filters):
    rows = selectors.dispatch_deadlines(filters)
    table = Table(
        "dispatch_deadlines",
        str(TITLES["dispatch_deadlines"]),
        [
            Column(_("Channel")),
            Column(_("Dispatched with a ship-by time"), "count"),
            Column(_("On time"), "count"),
            Column(_("Late"), "count"),
            Column(_("On-time dispatch rate"), "percent"),
        ],
        [[row.label, row.dispatched, row.on_time, row.late, row.rate] for row in rows],
        note=_(
            "Orders whose first parcel left in the period and that had a ship-by time from their channel's "
            "deadline: on time when it left by that time. Orders of channels without a deadline are not "
            "counted, nor orders still waiting: the order list's Overdue tab shows those."
        ),
    )
    if filters.warehouse_id:
        table.note += " " + _(
            "An order's ship-by time is for all of it, whichever warehouse it left from: these are for all warehouses."
        )
    # A table only: bars drawn against the best channel's rate would make 60 % look full.
    return Section(table)


def staff_section(filters):
    people = selectors.staff(filters)
    columns = [Column(_("Person"))]
    for step in selectors.STAFF_STEPS:
        columns += [Column(str(step.label), "count"), Column(_("Median time"), "duration_range")]
    columns += [
        Column(_("Wrong-item returns"), "count"),
        Column(_("Refused scans per 100 units packed"), "number"),
        Column(_("Units packed per hour"), "number"),
    ]
    without_warehouse = set(selectors.STEPS_WITHOUT_WAREHOUSE) if filters.warehouse_id else set()
    rows = []
    for person in people:
        row = [person.name]
        for step in selectors.STAFF_STEPS:
            figures = person.steps[step]
            if step in without_warehouse:
                row += [None, None]
            else:
                row += [figures.handled, figures.median_range]
        row += [person.wrong_item_returns, person.refused_per_hundred_units, person.units_per_hour]
        rows.append(row)
    note = _(
        "Median time: how long the order or parcel had waited for the step before this person finished it "
        "(for review: since it was held; picking: since it was confirmed; packing: since its pick list; "
        "dispatch: since it was packed), to the nearest step of a fixed scale. Wrong-item returns: returned "
        "lines asked for in the period because the customer got the wrong item (rejected returns left out), "
        "counted for whoever packed the parcel the line left in. Refused scans per 100 units packed: scans "
        "the packing station refused to this person (not in the parcel, one too many) per hundred units of "
        "the parcels they closed in the period; units packed per hour: those units over the time from each "
        "parcel's first scan to its closing."
    )
    if filters.warehouse_id:
        note += " " + _("Reviews and picks concern whole orders, not one warehouse: they are left out here.")
    if filters.channel_id:
        note += " " + _("Staff figures are for all channels.")
    return Section(Table("staff", str(TITLES["staff"]), columns, rows, note=note))


def stock_value_section(filters):
    rows = selectors.stock_value(filters)
    table_rows = [[row.warehouse, row.on_hand, row.value] for row in rows]
    if len(rows) > 1:
        table_rows.append([_("All warehouses"), sum(row.on_hand for row in rows), sum(row.value for row in rows)])
    table = Table(
        "stock_value",
        str(TITLES["stock_value"]),
        [Column(_("Warehouse")), Column(_("Units on hand"), "count"), Column(_("Value at cost"), "money")],
        table_rows,
        note=_(
            "Now, whatever the period: the units on hand in each active warehouse (quarantined goods left "
            "out) at each product's cost."
        ),
    )
    chart = charts.bar_chart([(row.warehouse, row.value) for row in rows], fmt=_short_money)
    return Section(table, [(TITLES["stock_value"], chart, "bars")] if rows else [])


SECTIONS = {
    "per_day": per_day_section,
    "channels": channels_section,
    "provinces": provinces_section,
    "products_by_quantity": products_by_quantity_section,
    "products_by_revenue": products_by_revenue_section,
    "funnel": funnel_section,
    "stages": stages_section,
    "dispatch_deadlines": dispatch_deadlines_section,
    "staff": staff_section,
    "stock_value": stock_value_section,
}
TABLE_KEYS = ["figures", *SECTIONS]


@dataclass
class Dashboard:
    filters: object
    figures: list
    sections: dict


def describe(filters):
    """The filters in words, for a sheet's subtitle."""
    period, previous = filters.period, filters.period.previous()
    parts = [
        _("%(start)s to %(end)s (%(days)s days), compared with %(previous_start)s to %(previous_end)s")
        % {
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "days": period.days,
            "previous_start": previous.start.isoformat(),
            "previous_end": previous.end.isoformat(),
        }
    ]
    channel = selectors.channels().filter(pk=filters.channel_id).first() if filters.channel_id else None
    warehouse = selectors.warehouses().filter(pk=filters.warehouse_id).first() if filters.warehouse_id else None
    parts.append(_("Channel: %(channel)s") % {"channel": channel or _("all")})
    parts.append(_("Warehouse: %(warehouse)s") % {"warehouse": warehouse or _("all")})
    return " · ".join(str(part) for part in parts)


def build(filters, keys=None):
    """The dashboard (or only the tables named in `keys`) for the filters."""
    keys = list(keys or TABLE_KEYS)
    orders = selectors.order_totals(filters) if {"figures", "funnel"} & set(keys) else None
    sections, figures = {}, []
    if "figures" in keys:
        figures = selectors.key_figures(filters, orders=orders)
        sections["figures"] = figures_section(filters, figures)
    for key in keys:
        if key == "funnel":
            sections[key] = funnel_section(filters, orders=orders)
        elif key in SECTIONS:
            sections[key] = SECTIONS[key](filters)
    return Dashboard(filters, figures, sections)
