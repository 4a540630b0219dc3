"""The Excel (or CSV) upload of tracking numbers a carrier gave the merchant in advance (docs/
architecture.md, "Printing in batches"): one row per number, or per range from start to end with a
prefix, for a carrier service; checked, then saved all or none through
`services.tracking_pools.import_tracking_numbers`."""

from django.utils.translation import gettext_lazy

from core.jobs import JobKind
from core.permissions import Logistics
from core.spreadsheets import cells, imports
from core.spreadsheets.columns import Column, Columns
from core.spreadsheets.templates import Template

from .services.tracking_pools import PoolRow, import_tracking_numbers

MAX_ROWS = 100_000
LISTED_ROWS = 500

POOL_COLUMNS = Columns(
    Column("carrier", "carrier", "快递公司", required=True, description=gettext_lazy("The carrier's code.")),
    Column("service", "service", "服务", required=True, description=gettext_lazy("The service's code.")),
    Column(
        "number",
        "tracking number",
        "运单号",
        description=gettext_lazy("One tracking number, or leave it empty and give a range."),
        aliases=("number", "单号"),
    ),
    Column(
        "start",
        "range start",
        "起始号",
        description=gettext_lazy("The first number of a range (digits)."),
        aliases=("start", "起始"),
    ),
    Column(
        "end",
        "range end",
        "结束号",
        description=gettext_lazy("The last number of a range, as many digits."),
        aliases=("end", "结束"),
    ),
    Column(
        "prefix",
        "prefix",
        "前缀",
        description=gettext_lazy("Letters before a range's digits, e.g. SF."),
    ),
)


def _read(table, problems):
    rows = []
    for number, values in table:
        try:
            row = PoolRow(
                carrier=cells.text(values.get("carrier")),
                service=cells.text(values.get("service")),
                number=cells.identifier(values.get("number")).upper(),
                start=cells.identifier(values.get("start")),
                end=cells.identifier(values.get("end")),
                prefix=cells.text(values.get("prefix")).upper(),
                line=number,
            )
        except cells.CellError as error:
            problems.add(number, "number", error)
            continue
        rows.append((number, row))
    return rows


def _apply(run):
    table = run.table(POOL_COLUMNS, max_rows=MAX_ROWS)
    rows = _read(table, run.problems)
    run.phase("saving", total=len(rows))
    preview, imported = [], 0
    with run.writing():
        outcomes = import_tracking_numbers([row for _number, row in rows], actor=run.actor)
        for (number, row), outcome in zip(rows, outcomes, strict=True):
            if not isinstance(outcome, int):
                run.problems.add_refusal(number, outcome)
                continue
            imported += outcome
            if len(preview) < LISTED_ROWS:
                given = row.number or f"{row.prefix}{row.start} – {row.prefix}{row.end}"
                preview.append({"row": number, "action": "new", "cells": [row.carrier, row.service, given, outcome]})
    return {"rows": table.count, "new": len(rows), "numbers": imported, "update": 0, "skip": 0, "preview": preview}


POOL_IMPORT = imports.SpreadsheetImport(
    kind=JobKind("import_tracking_numbers", gettext_lazy("Tracking-number import")),
    columns=POOL_COLUMNS,
    permission=Logistics.IMPORT_TRACKING_NUMBERS,
    refusal=gettext_lazy("Your role may not import tracking numbers."),
    apply=_apply,
    ready=lambda summary: bool(summary.get("new")),
    location="logistics.tracking_pool_sheet.POOL_IMPORT",
)


def pool_template():
    return Template(
        POOL_COLUMNS,
        title="tracking numbers",
        text=("carrier", "service", "number", "start", "end", "prefix"),
        notes=(),
    ).workbook()
