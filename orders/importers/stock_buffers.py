"""The Excel (or CSV) upload of channels' stock buffers: one row per channel and product (the
channel's code, our SKU, units or a percentage kept back; both empty removes the product's own
buffer), checked, then saved all or none through `services.stock_buffers.save_stock_buffers`
(docs/architecture.md, "Stock per channel")."""

from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.jobs import JobKind
from core.permissions import Orders
from core.spreadsheets import cells, imports
from core.spreadsheets.columns import Column, Columns
from core.spreadsheets.exports import field_label
from core.spreadsheets.templates import Template

from ..models import ChannelStockBuffer
from ..services.stock_buffers import BufferRow, save_stock_buffers

MAX_ROWS = 20_000
LISTED_ROWS = 500

STOCK_BUFFER_COLUMNS = Columns(
    Column(
        "channel",
        "channel",
        "渠道",
        required=True,
        description=gettext_lazy("The channel's code, as on the channel's page."),
        title=field_label(ChannelStockBuffer, "channel"),
    ),
    Column(
        "sku",
        "sku",
        "SKU",
        required=True,
        description=gettext_lazy("Our SKU of the product (not a bundle: its components keep its stock)."),
        title=gettext_lazy("SKU"),
    ),
    Column(
        "units",
        "units",
        "保留数量",
        description=gettext_lazy("Units kept back from the channel; or leave empty and give a percentage."),
        title=field_label(ChannelStockBuffer, "units"),
    ),
    Column(
        "percent",
        "percent",
        "保留比例",
        description=gettext_lazy(
            "Percentage of the available stock kept back (12.5 or 12.5%), rounded up to whole units. "
            "Both empty: the product takes the channel's default buffer."
        ),
        title=field_label(ChannelStockBuffer, "percent"),
    ),
)


def _percent(value):
    """A percentage as written (12.5, “12.5%”, “１２％”), or None for an empty cell."""
    written = cells.number_text(value).replace("%", "").replace("％", "").strip()
    if not written:
        return None
    amount = cells.amount(written)
    return amount if amount is None else Decimal(amount)


def _read(table, problems):
    rows, first_row_of = [], {}
    for number, values in table:
        channel = cells.text(values.get("channel"))
        sku = cells.identifier(values.get("sku")) if not cells.is_blank(values.get("sku")) else ""
        try:
            units = cells.whole_number(values.get("units"))
        except cells.CellError as error:
            problems.add(number, "units", error)
            continue
        try:
            percent = _percent(values.get("percent"))
        except cells.CellError:
            problems.add(number, "percent", _("Enter a percentage such as 10 or 12.5%."))
            continue
        if not channel:
            problems.add(number, "channel", _("Enter the channel's code."))
            continue
        if not sku:
            problems.add(number, "sku", _("Enter the product's SKU."))
            continue
        if (channel, sku) in first_row_of:
            problems.add(
                number,
                "sku",
                _("SKU “%(sku)s” of this channel is also in row %(row)s; a file holds each once.")
                % {"sku": sku, "row": first_row_of[channel, sku]},
            )
            continue
        first_row_of[channel, sku] = number
        rows.append((number, BufferRow(channel, sku, units, percent)))
    return rows


def _kept(row):
    if row.units is not None:
        return str(row.units)
    return "" if row.percent is None else f"{row.percent.normalize():f}%"


def _apply(run):
    table = run.table(STOCK_BUFFER_COLUMNS, max_rows=MAX_ROWS)
    rows = _read(table, run.problems)
    run.phase("saving", total=len(rows))
    actions, preview = [], []
    with run.writing():
        outcomes = save_stock_buffers([row for _number, row in rows], actor=run.actor)
        for (number, row), outcome in zip(rows, outcomes, strict=True):
            if not isinstance(outcome, tuple):
                run.problems.add_refusal(number, outcome)
                continue
            action, _changes = outcome
            actions.append(action)
            if len(preview) < LISTED_ROWS:
                preview.append({"row": number, "action": action, "cells": [row.channel, row.sku, _kept(row)]})
    counts = {action: actions.count(action) for action in ("new", "update", "remove", "skip")}
    return {"rows": table.count, **counts, "preview": preview}


STOCK_BUFFER_IMPORT = imports.SpreadsheetImport(
    kind=JobKind("import_stock_buffers", gettext_lazy("Channel stock buffer import")),
    columns=STOCK_BUFFER_COLUMNS,
    permission=Orders.CHANGE_CHANNELSTOCKBUFFER,
    refusal=gettext_lazy("Your role may not change channels' stock buffers."),
    apply=_apply,
    ready=lambda summary: bool(summary.get("new") or summary.get("update") or summary.get("remove")),
    location="orders.importers.stock_buffers.STOCK_BUFFER_IMPORT",
)


def stock_buffer_template():
    return Template(STOCK_BUFFER_COLUMNS, title="stock buffers", text=("channel", "sku"), notes=()).workbook()
