"""A carrier's cash-on-delivery remittance file (docs/architecture.md, "Cash-on-delivery
remittance"): one line per parcel whose cash the carrier paid over, with the tracking number, the
amount collected, the carrier's fee, the date and the batch reference; Excel or CSV, English or
Chinese headers. Checked (every line matched, rolled back) for the preview, then recorded all or
nothing through `services.record_remittance` once Finance confirms. The carrier is chosen on the
upload form and kept in the job's parameters, since carriers' files do not name themselves."""

from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.jobs import JobKind
from core.permissions import Logistics
from core.spreadsheets import cells, imports
from core.spreadsheets.columns import Column, Columns
from core.spreadsheets.templates import Template

from .services.remittances import record_remittance
from .services.uploads import UploadRefused

MAX_ROWS = 100_000
LISTED_ROWS = 500
# As long as the columns that keep them (CodRemittanceLine.tracking_number, CodRemittance.reference).
LONGEST = {"tracking_number": 64, "reference": 100}

REMITTANCE_COLUMNS = Columns(
    Column(
        "tracking_number",
        "tracking number",
        "运单号",
        required=True,
        title=gettext_lazy("Tracking number"),
        aliases=("快递单号", "物流单号", "tracking no", "waybill"),
        description=gettext_lazy("The parcel's tracking number, as on its label."),
    ),
    Column(
        "amount",
        "amount collected",
        "代收金额",
        required=True,
        title=gettext_lazy("Amount collected"),
        aliases=("代收货款", "货款", "amount", "cod amount"),
        description=gettext_lazy("The cash the carrier collected from the customer."),
    ),
    Column(
        "fee",
        "fee",
        "手续费",
        title=gettext_lazy("Fee"),
        aliases=("服务费", "代收手续费", "cod fee"),
        description=gettext_lazy("What the carrier kept for collecting it; empty is 0."),
    ),
    Column(
        "remitted_on",
        "date",
        "日期",
        title=gettext_lazy("Date"),
        aliases=("回款日期", "签收日期", "remitted on"),
        description=gettext_lazy("The day the carrier paid it over."),
    ),
    Column(
        "reference",
        "batch reference",
        "批次号",
        required=True,
        title=gettext_lazy("Batch reference"),
        aliases=("回款批次", "结算单号", "batch", "reference"),
        description=gettext_lazy("The carrier's reference of the payment; each batch is recorded once."),
    ),
)


def _money(number, key, value, problems):
    try:
        parsed = cells.amount(value)
    except cells.CellError as error:
        problems.add(number, key, error)
        return None
    if parsed is None:
        return Decimal("0")
    if parsed < 0 or parsed != parsed.quantize(Decimal("0.01")):
        problems.add(number, key, _("Enter an amount of 0 or more, to the cent at most."))
        return None
    return parsed.quantize(Decimal("0.01"))


def read_lines(table, problems):
    """The file's lines as dicts (row, tracking_number, amount, fee, remitted_on, reference), every
    cell that cannot be read a problem on its row and column."""
    lines = []
    for number, values in table:
        line = {"row": number}
        for key in ("tracking_number", "reference"):
            try:
                line[key] = cells.identifier(values.get(key)).replace(" ", "")
            except cells.CellError as error:
                problems.add(number, key, error)
                line[key] = ""
            if not line[key]:
                problems.add(number, key, _("This cell is empty."))
            elif len(line[key]) > LONGEST[key]:
                problems.add(number, key, _("Keep it to %(count)s characters at most.") % {"count": LONGEST[key]})
        line["amount"] = _money(number, "amount", values.get("amount"), problems)
        line["fee"] = _money(number, "fee", values.get("fee"), problems)
        line["remitted_on"] = None
        if not cells.is_blank(values.get("remitted_on")):
            try:
                line["remitted_on"] = cells.moment(values.get("remitted_on")).date()
            except cells.CellError as error:
                problems.add(number, "remitted_on", error)
        lines.append(line)
    return lines


def _apply(run):
    table = run.table(REMITTANCE_COLUMNS, max_rows=MAX_ROWS)
    lines = read_lines(table, run.problems)
    summary = {"rows": table.count, "new": 0, "update": 0, "skip": 0, "preview": []}
    if run.problems:
        return summary
    run.phase("matching", total=len(lines))
    with run.writing():
        try:
            recorded = record_remittance(
                run.job.parameters["carrier_id"], lines, file_name=run.job.file_name, actor=run.actor
            )
        except UploadRefused as refused:
            for row, column, message in refused.problems:
                run.problems.add(row, column, message)
            return summary
    for line in recorded.lines:
        # Recorded (a fee above the contract is recorded and listed), or only listed.
        summary["new" if line.recorded else "skip"] += 1
        if len(summary["preview"]) < LISTED_ROWS and (line.problem or len(summary["preview"]) < LISTED_ROWS // 2):
            summary["preview"].append(
                {
                    "row": line.values["row"],
                    "action": "new" if line.recorded else "skip",
                    "cells": [
                        line.values["tracking_number"],
                        line.order_numbers,
                        str(line.values["amount"]),
                        str(line.values["fee"]),
                        "" if line.due is None else str(line.due),
                        line.detail,
                    ],
                }
            )
    summary["batches"] = [remittance.pk for remittance in recorded.remittances]
    return summary


REMITTANCE_IMPORT = imports.SpreadsheetImport(
    kind=JobKind("import_cod_remittance", gettext_lazy("Cash-on-delivery remittance")),
    columns=REMITTANCE_COLUMNS,
    permission=Logistics.RECORD_COD_REMITTANCE,
    refusal=gettext_lazy("Your role may not record carriers' cash-on-delivery remittances."),
    apply=_apply,
    ready=lambda summary: bool(summary.get("new") or summary.get("skip")),
    location="logistics.remittance_sheet.REMITTANCE_IMPORT",
)


def remittance_template():
    return Template(REMITTANCE_COLUMNS, title="remittance", text=("tracking_number", "reference"), notes=()).workbook()
