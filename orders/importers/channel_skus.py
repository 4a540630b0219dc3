"""The Excel (or CSV) upload of channels' own SKU codes: one row per code (channel, the channel's
code, our SKU, our units per item), checked, then saved all or none through
`services.channel_skus.save_channel_skus` (docs/architecture.md, "Bundles, gifts and channel SKUs")."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.jobs import JobKind
from core.permissions import Orders
from core.spreadsheets import cells, imports
from core.spreadsheets.columns import Column, Columns
from core.spreadsheets.exports import field_label
from core.spreadsheets.templates import Template

from ..models import ChannelSku
from ..services.channel_skus import save_channel_skus

MAX_ROWS = 20_000
LISTED_ROWS = 500

CHANNEL_SKU_COLUMNS = Columns(
    Column(
        "channel",
        "channel",
        "渠道",
        required=True,
        description=gettext_lazy("The channel's code, as on the channel's page."),
        title=field_label(ChannelSku, "channel"),
    ),
    Column(
        "code",
        "code",
        "渠道编码",
        required=True,
        description=gettext_lazy("The channel's own code for the item."),
        title=field_label(ChannelSku, "code"),
    ),
    Column(
        "sku",
        "sku",
        "SKU",
        required=True,
        description=gettext_lazy("Our SKU of the product (or bundle) the code stands for."),
        title=gettext_lazy("SKU"),
    ),
    Column(
        "quantity",
        "quantity",
        "数量",
        description=gettext_lazy("Our units in one of the channel's items (6 for a pack of six); empty for 1."),
        title=field_label(ChannelSku, "quantity"),
    ),
)


def _read(table, problems):
    rows, first_row_of = [], {}
    for number, values in table:
        channel = cells.text(values.get("channel"))
        code = cells.identifier(values.get("code")) if not cells.is_blank(values.get("code")) else ""
        sku = cells.identifier(values.get("sku")) if not cells.is_blank(values.get("sku")) else ""
        try:
            quantity = cells.whole_number(values.get("quantity"))
        except cells.CellError as error:
            problems.add(number, "quantity", error)
            continue
        if not code:
            problems.add(number, "code", _("Enter the channel's code."))
            continue
        if not sku:
            problems.add(number, "sku", _("Enter the product's SKU."))
            continue
        if (channel, code) in first_row_of:
            problems.add(
                number,
                "code",
                _("Code “%(code)s” is also in row %(row)s; a file holds each code of a channel once.")
                % {"code": code, "row": first_row_of[channel, code]},
            )
            continue
        first_row_of[channel, code] = number
        rows.append((number, (channel, code, sku, quantity)))
    return rows


def _apply(run):
    table = run.table(CHANNEL_SKU_COLUMNS, max_rows=MAX_ROWS)
    rows = _read(table, run.problems)
    run.phase("saving", total=len(rows))
    actions, preview = [], []
    with run.writing():
        outcomes = save_channel_skus([row for _number, row in rows], actor=run.actor)
        for (number, (channel, code, sku, _quantity)), outcome in zip(rows, outcomes, strict=True):
            if not isinstance(outcome, tuple):
                run.problems.add_refusal(number, outcome)
                continue
            action, _changes = outcome
            actions.append(action)
            if len(preview) < LISTED_ROWS:
                preview.append({"row": number, "action": action, "cells": [channel, code, sku]})
    counts = {action: actions.count(action) for action in ("new", "update", "skip")}
    return {"rows": table.count, **counts, "preview": preview}


CHANNEL_SKU_IMPORT = imports.SpreadsheetImport(
    kind=JobKind("import_channel_skus", gettext_lazy("Channel SKU import")),
    columns=CHANNEL_SKU_COLUMNS,
    permission=Orders.ADD_CHANNELSKU,
    refusal=gettext_lazy("Your role may not import channel SKUs."),
    apply=_apply,
    ready=lambda summary: bool(summary.get("new") or summary.get("update")),
    location="orders.importers.channel_skus.CHANNEL_SKU_IMPORT",
)


def channel_sku_template():
    return Template(CHANNEL_SKU_COLUMNS, title="channel skus", text=("channel", "code", "sku"), notes=()).workbook()
