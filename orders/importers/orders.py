"""The Excel import of orders: one row per order line, rows with the same channel and channel
order id make one order. A file is first checked (everything is placed in a transaction that is
rolled back, so the preview shows exactly what the import will do: orders created, confirmed or
held, orders already imported, every error with its row and column), then imported on
confirmation, all of it or, if anything fails, nothing. Orders go through `place_orders`, intake's
path for many orders, so they meet the same validation, risk rules and reservation as any other."""

import logging
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.actors import actor_from
from core.permissions import Orders, require
from inventory.spreadsheets import cell_number, cell_text, comparable_header

from .. import services
from ..models import BulkJob, Channel
from ..services.phones import normalize_phone
from . import cells, jobs, reading
from .columns import COLUMNS_BY_KEY, ORDER_COLUMNS, is_header_row, read_header

logger = logging.getLogger(__name__)

# The channel order id of the template's example row: a row with it is never imported.
EXAMPLE_ORDER_ID = "EXAMPLE-0001"
# Files with more rows than this are checked and imported by a background worker, with a progress
# bar; smaller ones (about a second's work) in the request. ORDER_IMPORT_BACKGROUND_ROWS overrides it.
BACKGROUND_ROWS = 1_000
# The most order lines one file may hold, and the most errors kept for the preview and the errors file.
MAX_ROWS = 200_000
MAX_ERRORS = 20_000
# How many orders the preview lists by name; the counts cover all of them.
LISTED_ORDERS = 200

# place_order's field names, as the columns of the file.
COLUMN_OF_FIELD = {
    "channel": "channel",
    "channel_order_id": "channel_order_id",
    "placed_at": "order_date",
    "recipient": "recipient",
    "phone": "phone",
    "province": "province",
    "city": "city",
    "district": "district",
    "address": "address",
    "postcode": "postcode",
    "shipping_fee": "shipping_fee",
    "discount": "discount",
    "payment_method": "payment_method",
    "paid_amount": "paid_amount",
    "special_instructions": "note",
}
LINE_FIELD = re.compile(r"^lines\[(?P<number>\d+)\]\.(?P<field>\w+)$")
# Intake holds an order with a missing address; in a file it is a mistake to correct.
REQUIRED_HERE = ("province", "city", "address")
# How each order-level column is read from its cell.
READERS = {
    "channel": cell_text,
    "channel_order_id": cells.identifier,
    "order_date": cells.moment,
    "payment_method": cells.payment_method,
    "shipping_fee": cell_number,
    "discount": cell_number,
    "paid_amount": cell_number,
    "phone": cells.identifier,
    "postcode": cells.identifier,
}
ORDER_LEVEL = [column for column in ORDER_COLUMNS if not column.per_line]


def background_rows():
    return getattr(settings, "ORDER_IMPORT_BACKGROUND_ROWS", BACKGROUND_ROWS)


@dataclass
class FileOrder:
    """One order as the file has it: the rows it was read from and its values, each with its row."""

    first_row: int
    values: dict = field(default_factory=dict)
    lines: list = field(default_factory=list)

    def row_of(self, key):
        return self.values[key][1] if key in self.values else self.first_row

    def value(self, key, default=""):
        return self.values[key][0] if key in self.values else default

    def rows(self):
        return {self.first_row} | {row for row, *_line in self.lines} | {row for _value, row in self.values.values()}


class Problems:
    """Errors by row and column, each cell named once, at most MAX_ERRORS kept."""

    def __init__(self):
        self.items, self.cells, self.rows, self.count = [], set(), set(), 0

    def add(self, row, column, message):
        if (row, column) in self.cells:
            return
        self.cells.add((row, column))
        self.rows.add(row)
        self.count += 1
        if len(self.items) < MAX_ERRORS:
            self.items.append({"row": row, "column": column, "message": str(message)})

    def __bool__(self):
        return bool(self.count)

    def sorted(self):
        return sorted(self.items, key=lambda item: (item["row"] or 0, item["column"]))


@dataclass
class ReadFile:
    orders: list
    problems: Problems
    rows: int = 0
    example_rows: int = 0
    headers: dict = field(default_factory=dict)


def _comparable(key, value):
    """Two rows of one order agree when they mean the same: a phone however it is written, an
    amount however many zeros it has."""
    if key == "phone":
        return normalize_phone(value)[0]
    if key in ("shipping_fee", "discount", "paid_amount"):
        return value.rstrip("0").rstrip(".") if "." in value else value
    return value


def read_orders(content, file_name):
    """Read the file into orders (with their rows), noting every problem the file itself has:
    missing columns, unreadable cells, rows of one order that disagree, a missing address."""
    problems = Problems()
    result = ReadFile(orders=[], problems=problems)
    table = reading.rows(content, file_name)
    header_row, header = next(table, (None, None))
    if header is None:
        problems.add(None, "", _("The file is empty."))
        return result
    positions, header_problems = read_header(header, ORDER_COLUMNS)
    for key, message in header_problems:
        problems.add(header_row, key, message)
    if header_problems:
        return result
    result.headers = {key: str(header[position]).strip() for position, key in positions.items()}
    by_key = {}
    for number, row_cells in table:
        if number == header_row + 1 and is_header_row(row_cells, ORDER_COLUMNS):
            continue
        result.rows += 1
        if result.rows > MAX_ROWS:
            problems.add(
                number,
                "",
                _("A file may hold at most %(max)s rows; split it into several files.") % {"max": f"{MAX_ROWS:,}"},
            )
            break
        values = {key: row_cells[position] for position, key in positions.items() if position < len(row_cells)}
        order = _order_of_row(number, values, by_key, problems, result)
        if order is not None:
            _read_row(number, values, order, problems)
    result.orders = list(by_key.values())
    for order in result.orders:
        for key in REQUIRED_HERE:
            if not order.value(key):
                problems.add(
                    order.first_row,
                    key,
                    _("The order cannot be delivered without its %(column)s.") % {"column": COLUMNS_BY_KEY[key].label},
                )
    return result


def _order_of_row(number, values, by_key, problems, result):
    try:
        channel_order_id = cells.identifier(values.get("channel_order_id"))
    except cells.CellError as error:
        problems.add(number, "channel_order_id", error)
        return None
    if channel_order_id == EXAMPLE_ORDER_ID:
        result.example_rows += 1
        return None
    if not channel_order_id:
        problems.add(number, "channel_order_id", _("Enter the channel order id; it tells which rows make one order."))
        return None
    key = (comparable_header(cell_text(values.get("channel"))), channel_order_id)
    if key not in by_key:
        by_key[key] = FileOrder(first_row=number)
    return by_key[key]


def _read_row(number, values, order, problems):
    for column in ORDER_LEVEL:
        raw = values.get(column.key)
        if cells.is_blank(raw):
            continue
        try:
            value = READERS.get(column.key, cell_text)(raw)
        except cells.CellError as error:
            problems.add(number, column.key, error)
            continue
        if column.key not in order.values:
            order.values[column.key] = (value, number)
        elif order.values[column.key][0] != value and (
            _comparable(column.key, order.values[column.key][0]) != _comparable(column.key, value)
        ):
            first_value, first_row = order.values[column.key]
            problems.add(
                number,
                column.key,
                _("“%(value)s” differs from “%(first)s” in row %(row)s of the same order; an order has one %(column)s.")
                % {"value": value, "first": first_value, "row": first_row, "column": column.label},
            )
    order.lines.append(
        (
            number,
            cell_text(values.get("sku")),
            cell_number(values.get("quantity")),
            cell_number(values.get("unit_price")) or None,
        )
    )


def _channels():
    """Channels by code and by name, as a file may name them."""
    found = {}
    for channel in Channel.objects.all():
        found.setdefault(comparable_header(channel.name), channel)
        found[comparable_header(channel.code)] = channel
    return found


def order_inputs(read, problems):
    """The OrderInput of each order of the file. An order whose channel is unknown still gets one
    (without a channel), so intake reports its other mistakes too."""
    channels = _channels()
    inputs = []
    for order in read.orders:
        channel = channels.get(comparable_header(order.value("channel")))
        if channel is None and order.value("channel"):
            problems.add(
                order.row_of("channel"),
                "channel",
                _("Unknown channel “%(channel)s”: use the code or the name of a channel set up in the console.")
                % {"channel": order.value("channel")},
            )
        inputs.append(
            services.OrderInput(
                channel=channel,
                channel_order_id=order.value("channel_order_id"),
                recipient=order.value("recipient"),
                phone=order.value("phone"),
                province=order.value("province"),
                city=order.value("city"),
                district=order.value("district"),
                address=order.value("address"),
                postcode=order.value("postcode"),
                shipping_fee=order.value("shipping_fee"),
                discount=order.value("discount"),
                payment_method=order.value("payment_method"),
                paid_amount=order.value("paid_amount"),
                placed_at=order.value("order_date", None),
                special_instructions=order.value("note"),
                lines=[
                    services.LineInput(sku=sku, quantity=quantity, unit_price=price)
                    for _row, sku, quantity, price in order.lines
                ],
            )
        )
    return inputs


def _report_refusal(order, error, problems):
    """Put intake's refusal of an order on the rows and columns it came from."""
    for name, messages in error.message_dict.items():
        line = LINE_FIELD.match(name)
        if line and int(line["number"]) <= len(order.lines):
            row, column = order.lines[int(line["number"]) - 1][0], line["field"]
        elif name in COLUMN_OF_FIELD:
            row, column = order.row_of(COLUMN_OF_FIELD[name]), COLUMN_OF_FIELD[name]
        else:
            row, column = order.first_row, ""
        problems.add(row, column, " ".join(messages))


def _described(order, placed):
    return {
        "row": order.first_row,
        "channel": str(placed.channel),
        "channel_order_id": placed.channel_order_id,
        "number": placed.number,
        "recipient": placed.recipient,
        "lines": len(order.lines),
        "total": str(placed.total),
        "currency": placed.currency,
        "status": placed.status,
        "reasons": placed.hold_reasons,
    }


def _place(read, inputs, actor, report):
    """Place the file's orders; returns the summary of what happened."""
    problems = read.problems
    outcomes = services.place_orders(inputs, actor=actor, on_progress=report)
    created, skipped, short = [], [], []
    counts = {"to_create": 0, "confirmed": 0, "held": 0, "skipped": 0}
    for order, outcome in zip(read.orders, outcomes, strict=True):
        if isinstance(outcome, ValidationError):
            _report_refusal(order, outcome, problems)
            continue
        placed = outcome.order
        if order.rows() & problems.rows:
            continue
        if not outcome.created:
            counts["skipped"] += 1
            if len(skipped) < LISTED_ORDERS:
                skipped.append(_described(order, placed))
            continue
        counts["to_create"] += 1
        counts["held" if placed.is_held else "confirmed"] += 1
        if any(reason.get("code") == "out_of_stock" for reason in placed.hold_reasons):
            short.append([placed.channel_id, placed.channel_order_id, order.first_row])
        if len(created) < LISTED_ORDERS:
            created.append(_described(order, placed))
    return {**counts, "created": created, "skipped_orders": skipped, "short": short}


def _summary(read, placed):
    return {
        "rows": read.rows,
        "orders": len(read.orders),
        "example_rows": read.example_rows,
        "headers": read.headers,
        "errors": read.problems.count,
        **placed,
    }


def _place_file(job, *, actor, in_background, keep):
    """Read the job's file and place its orders in one transaction, kept only when `keep(read,
    placed)` says so. Returns (read, placed summary)."""
    read = read_orders(bytes(job.source), job.file_name)
    inputs = order_inputs(read, read.problems)
    jobs.set_phase(job, "placing", total=len(inputs))
    placed = {}
    with jobs.progress_reporter(job) as report, transaction.atomic():
        if inputs:
            placed = _place(read, inputs, actor, report if in_background else None)
        if not keep(read, placed):
            transaction.set_rollback(True)
    return read, placed


def _actor(user_id):
    """The person who confirmed the import, or the system when no person did."""
    return actor_from(get_user_model().objects.get(pk=user_id) if user_id else None)


def _require(actor):
    require(actor, Orders.ADD_ORDER, _("Your role may not import orders."))


def start_order_import(*, file_name, content, actor):
    """Take an uploaded file for checking; returns its job. The file is kept in the database, so
    any worker can read it."""
    _require(actor)
    reading.file_format(file_name)
    return jobs.create_job(
        kind=BulkJob.Kind.IMPORT_ORDERS,
        file_name=file_name,
        content=content,
        actor=actor,
        total=reading.count_rows(content, file_name),
        parameters={"stage": "check"},
    )


def runs_in_background(job):
    """Whether the job is large enough for a worker. A workbook that does not say how many rows it
    has counts as large."""
    return not job.total or job.total > background_rows()


def check_order_import(job_id, *, in_background=False):
    """The dry run: place everything, note what happened, roll it all back."""
    job = jobs.claim(job_id, stage="check")
    if job is None:
        return None
    return _guarded(job, _check, in_background)


def _check(job, in_background):
    read, placed = _place_file(
        job, actor=actor_from(job.created_by), in_background=in_background, keep=lambda *_: False
    )
    status = BulkJob.Status.FAILED if read.problems else BulkJob.Status.PREVIEWED
    return jobs.finish(job, status=status, summary=_summary(read, placed), errors=read.problems.sorted())


def confirm_order_import(job_id, *, actor):
    """The operator saw the preview and imports the file; returns the queued job, or None when it
    was confirmed already or cannot be (it has errors, or nothing to create)."""
    _require(actor)
    job = BulkJob.objects.filter(pk=job_id, kind=BulkJob.Kind.IMPORT_ORDERS).first()
    if job is None or not job.summary.get("to_create"):
        return None
    return jobs.queue_stage(job_id, stage="import", from_status=BulkJob.Status.PREVIEWED, actor=actor)


def import_order_file(job_id, *, in_background=False):
    """The import: place everything again and keep it, unless an order fails now or would go short
    of stock that the preview found; then nothing is kept and the job lists why."""
    job = jobs.claim(job_id, stage="import")
    if job is None:
        return None
    return _guarded(job, _import, in_background)


def _import(job, in_background):
    previewed_short = {(channel_id, channel_order_id) for channel_id, channel_order_id, _row in job.summary["short"]}

    def keep(read, placed):
        for channel_id, channel_order_id, row in placed.get("short", []):
            if (channel_id, channel_order_id) not in previewed_short:
                read.problems.add(
                    row,
                    "",
                    _(
                        "Stock ran out since the check: this order would now be held for missing stock. "
                        "Check the file again to see the orders as they stand now."
                    ),
                )
        return not read.problems

    read, placed = _place_file(
        job,
        actor=_actor(job.parameters.get("confirmed_by")),
        in_background=in_background,
        keep=keep,
    )
    summary = _summary(read, placed)
    if read.problems:
        return jobs.finish(job, status=BulkJob.Status.FAILED, summary=summary, errors=read.problems.sorted())
    return jobs.finish(job, status=BulkJob.Status.DONE, summary=summary, errors=[])


def _guarded(job, step, in_background):
    """Run a stage; whatever goes wrong unexpectedly fails the job (with nothing written) instead
    of leaving it running for ever."""
    try:
        return step(job, in_background)
    except reading.UnreadableFile as error:
        return jobs.finish(
            job, status=BulkJob.Status.FAILED, summary={}, errors=[{"row": None, "column": "", "message": str(error)}]
        )
    except Exception:
        logger.exception("Order import %s stopped", job.pk)
        return jobs.finish(
            job,
            status=BulkJob.Status.FAILED,
            summary={},
            errors=[
                {
                    "row": None,
                    "column": "",
                    "message": _(
                        "The import stopped on an unexpected error; nothing was written. "
                        "The error is in the server log."
                    ),
                }
            ],
        )
