"""The Excel (or CSV) upload of where each carrier service delivers (docs/architecture.md,
"Reachability"): one row per area, a province, city or district, included or excluded; checked,
then saved all or none through `services.coverage.replace_coverage`. The file names the whole
coverage of each service it lists."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.jobs import JobKind
from core.permissions import Logistics
from core.spreadsheets import cells, imports
from core.spreadsheets.columns import Column, Columns
from core.spreadsheets.templates import Template

from .services.coverage import replace_coverage

MAX_ROWS = 50_000
LISTED_ROWS = 500

COVERAGE_COLUMNS = Columns(
    Column("carrier", "carrier", "快递公司", required=True, description=gettext_lazy("The carrier's code.")),
    Column("service", "service", "服务", required=True, description=gettext_lazy("The service's code.")),
    Column("province", "province", "省", required=True, description=gettext_lazy("Province: 广东 or 广东省.")),
    Column("city", "city", "市", description=gettext_lazy("City, for an area smaller than the province.")),
    Column("district", "district", "区", description=gettext_lazy("District, for an area smaller than the city.")),
    Column(
        "excluded",
        "excluded",
        "不送达",
        description=gettext_lazy("yes (是) for an area inside a covered one that the service does not reach."),
    ),
)


def _read(table, problems):
    rows, first_row_of = [], {}
    for number, values in table:
        carrier, service = cells.text(values.get("carrier")), cells.text(values.get("service"))
        area = tuple(cells.text(values.get(key)) for key in ("province", "city", "district"))
        try:
            excluded = bool(cells.yes_no(values.get("excluded")))
        except cells.CellError as error:
            problems.add(number, "excluded", error)
            continue
        key = (carrier, service, area)
        if key in first_row_of:
            problems.add(
                number,
                "province",
                _("This area of the service is also in row %(row)s; a file names each area once.")
                % {"row": first_row_of[key]},
            )
            continue
        first_row_of[key] = number
        rows.append((number, (carrier, service, *area, excluded)))
    return rows


def _apply(run):
    table = run.table(COVERAGE_COLUMNS, max_rows=MAX_ROWS)
    rows = _read(table, run.problems)
    run.phase("saving", total=len(rows))
    preview = []
    with run.writing():
        outcomes = replace_coverage([row for _number, row in rows], actor=run.actor)
        for (number, row), outcome in zip(rows, outcomes, strict=True):
            if not isinstance(outcome, tuple):
                run.problems.add_refusal(number, outcome)
            elif len(preview) < LISTED_ROWS:
                carrier, service, province, city, district, excluded = row
                area = " ".join(part for part in (province, city, district) if part)
                preview.append(
                    {"row": number, "action": "new", "cells": [carrier, service, area, "✕" if excluded else ""]}
                )
    return {"rows": table.count, "new": len(rows), "update": 0, "skip": 0, "preview": preview}


COVERAGE_IMPORT = imports.SpreadsheetImport(
    kind=JobKind("import_coverage", gettext_lazy("Carrier coverage import")),
    columns=COVERAGE_COLUMNS,
    permission=Logistics.CHANGE_CARRIERSERVICE,
    refusal=gettext_lazy("Your role may not change carrier services."),
    apply=_apply,
    ready=lambda summary: bool(summary.get("new")),
    location="logistics.coverage_sheet.COVERAGE_IMPORT",
)


def coverage_template():
    return Template(COVERAGE_COLUMNS, title="coverage", text=("carrier", "service"), notes=()).workbook()
