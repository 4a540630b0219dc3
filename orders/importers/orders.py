"""The Excel import of orders: one row per order line, rows with the same channel and channel
order id make one order. A file is first checked (everything is placed in a transaction that is
rolled back, so the preview shows exactly what the import will do: orders created, confirmed or
held, orders already imported, every error with its row and column), then imported on
confirmation, all of it or, if anything fails, nothing. Orders go through `place_orders`, intake's
path for many orders, so they meet the same validation, risk rules and reservation as any other."""

import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import jobs
from core.models import Job
from core.permissions import Orders
from core.spreadsheets import cells as sheet_cells
from core.spreadsheets import imports, reading
from core.spreadsheets.cells import comparable
from core.spreadsheets.problems import Problems

from .. import services
from ..models import Channel, ImportProfile, Order
from ..services import import_profiles
from ..services.addresses import read_address
from ..services.phones import normalize_phone
from . import cells, mapping, uploads
from .columns import LINE_COLUMNS, ORDER_COLUMNS

# The channel order id of the template's example row: a row with it is never imported.
EXAMPLE_ORDER_ID = "EXAMPLE-0001"
# Files with more rows than this are checked and imported by a background worker, with a progress
# bar; smaller ones (about a second's work) in the request. ORDER_IMPORT_BACKGROUND_ROWS overrides it.
BACKGROUND_ROWS = 1_000
# A job whose files fit no profile waits with this until a person maps their columns.
MAPPING_NEEDED = "needed"
# The most order lines one file may hold.
MAX_ROWS = 200_000
# How many orders the preview lists by name; the counts cover all of them.
LISTED_ORDERS = 200
PERMISSION = Orders.ADD_ORDER
KIND = jobs.JobKind("import_orders", gettext_lazy("Order import"))

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
    "express_requested": "express",
}
LINE_FIELD = re.compile(r"^lines\[(?P<number>\d+)\]\.(?P<field>\w+)$")
# Intake holds a new order with a missing address; in a file it is a mistake to correct.
REQUIRED_HERE = ("province", "city", "address")
# How each order-level column is read from its cell.
READERS = {
    "channel": sheet_cells.text,
    "channel_order_id": sheet_cells.identifier,
    "order_date": sheet_cells.moment,
    "payment_method": cells.payment_method,
    "shipping_fee": sheet_cells.number_text,
    "discount": sheet_cells.number_text,
    "paid_amount": sheet_cells.number_text,
    "phone": sheet_cells.identifier,
    "postcode": sheet_cells.identifier,
    "express": sheet_cells.yes_no,
}
ORDER_LEVEL = [column for column in ORDER_COLUMNS if column.key not in LINE_COLUMNS]


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
    """Read a file into orders with their rows, noting every problem the file itself has: missing
    columns, unreadable cells, rows of one order that disagree."""
    return _read(reading.Table(content, file_name, ORDER_COLUMNS, Problems(), max_rows=MAX_ROWS))


def _read(table):
    result = ReadFile(orders=[], problems=table.problems)
    by_key = {}
    for number, values in table:
        order = _order_of_row(number, values, by_key, table.problems, result)
        if order is not None:
            _read_row(number, values, order, table.problems)
    result.rows = table.count
    result.headers = table.names
    result.orders = list(by_key.values())
    return result


def _order_of_row(number, values, by_key, problems, result):
    try:
        channel_order_id = sheet_cells.identifier(values.get("channel_order_id"))
    except sheet_cells.CellError as error:
        problems.add(number, "channel_order_id", error)
        return None
    if channel_order_id == EXAMPLE_ORDER_ID:
        result.example_rows += 1
        return None
    if not channel_order_id:
        problems.add(number, "channel_order_id", _("Enter the channel order id; it tells which rows make one order."))
        return None
    key = (comparable(sheet_cells.text(values.get("channel"))), channel_order_id)
    if key not in by_key:
        by_key[key] = FileOrder(first_row=number)
    return by_key[key]


def _read_row(number, values, order, problems):
    for column in ORDER_LEVEL:
        raw = values.get(column.key)
        if sheet_cells.is_blank(raw):
            continue
        try:
            value = READERS.get(column.key, sheet_cells.text)(raw)
        except sheet_cells.CellError as error:
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
            sheet_cells.text(values.get("sku")),
            sheet_cells.number_text(values.get("quantity")),
            sheet_cells.number_text(values.get("unit_price")) or None,
        )
    )


def _channels():
    """Channels by code and by name, as a file may name them."""
    found = {}
    for channel in Channel.objects.all():
        found.setdefault(comparable(channel.name), channel)
        found[comparable(channel.code)] = channel
    return found


def order_inputs(read, problems):
    """The OrderInput of each order of the file. An order whose channel is unknown still gets one
    (without a channel), so intake reports its other mistakes too."""
    channels = _channels()
    inputs = []
    for order in read.orders:
        channel = channels.get(comparable(order.value("channel")))
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
                express_requested=bool(order.value("express", False)),
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


def _report_missing_address(order, problems):
    """A new order needs its address here, in its own columns or whole in the address column; one
    imported before is recognised without it."""
    place = read_address(order.value("province"), order.value("city"), order.value("district"), order.value("address"))
    found = {"province": place.province, "city": place.city, "address": place.street}
    for key in REQUIRED_HERE:
        if not found[key]:
            problems.add(
                order.first_row,
                key,
                _("The order cannot be delivered without its %(column)s.") % {"column": ORDER_COLUMNS[key].label},
            )


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
    counts = {"to_create": 0, "confirmed": 0, "held": 0, "awaiting_payment": 0, "skipped": 0}
    for order, outcome in zip(read.orders, outcomes, strict=True):
        refused = isinstance(outcome, ValidationError)
        if refused or outcome.created:
            _report_missing_address(order, problems)
        if refused:
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
        if placed.status == Order.Status.AWAITING_PAYMENT:
            # Unpaid prepaid rows (bank transfer, instalments, or paid_amount 0) wait for their payment.
            counts["awaiting_payment"] += 1
        else:
            counts["held" if placed.is_held else "confirmed"] += 1
        if any(reason.get("code") == "out_of_stock" for reason in placed.hold_reasons):
            short.append([placed.channel_id, placed.channel_order_id, order.first_row])
        if len(created) < LISTED_ORDERS:
            created.append(_described(order, placed))
    return {**counts, "created": created, "skipped_orders": skipped, "short": short}


def _apply(run):
    """Read the job's file and place its orders in the run's transaction. At the import, an order
    that would now go short of stock the check found is a problem: nothing is kept."""
    table = _table(run)
    read = _read(table)
    inputs = order_inputs(read, read.problems)
    run.phase("placing", total=len(inputs))
    placed = {}
    with run.writing():
        if inputs:
            placed = _place(read, inputs, run.actor, run.report)
        if not run.checking:
            _report_new_shortages(run, placed)
    return {
        "rows": read.rows,
        "orders": len(read.orders),
        "example_rows": read.example_rows,
        "profile": run.job.parameters.get("profile", {}).get("name", ""),
        "skipped_by_status": getattr(table, "skipped_by_status", {}),
        **placed,
    }


def _table(run):
    """The job's file read as our template, or through the profile its upload was mapped with."""
    profile = run.job.parameters.get("profile")
    if not profile:
        return run.table(ORDER_COLUMNS, max_rows=MAX_ROWS)
    table = mapping.MappedTable(
        uploads.files_of(run.job), profile, run.job.parameters["channel"], run.problems, max_rows=MAX_ROWS
    )
    run.headers = table.names
    return table


def _report_new_shortages(run, placed):
    previewed_short = {
        (channel_id, channel_order_id) for channel_id, channel_order_id, _row in run.job.summary.get("short", [])
    }
    for channel_id, channel_order_id, row in placed.get("short", []):
        if (channel_id, channel_order_id) not in previewed_short:
            run.problems.add(
                row,
                "",
                _(
                    "Stock ran out since the check: this order would now be held for missing stock. "
                    "Check the file again to see the orders as they stand now."
                ),
            )


ORDER_IMPORT = imports.SpreadsheetImport(
    kind=KIND,
    columns=ORDER_COLUMNS,
    permission=PERMISSION,
    refusal=gettext_lazy("Your role may not import orders."),
    apply=_apply,
    ready=lambda summary: summary.get("to_create", 0) > 0,
    location="orders.importers.orders.ORDER_IMPORT",
)


def start_order_import(*, file_name: str, content: bytes, actor, channel=None, more_files=()) -> Job:
    """Take an uploaded file (and, for a marketplace that splits its report, its second file) for
    checking; returns its job, whose file is kept in the database so any worker can read it. A file
    in our template is checked as it is; others are read through the profile that fits their headers
    (the channel's own, or a shipped marketplace one), and when none does, the job waits for its
    columns to be mapped (`needs_mapping`) instead of being checked."""
    ORDER_IMPORT.require(actor)
    files = [(file_name, content), *more_files]
    for name, _content in files:
        reading.file_format(name)
    parameters = {"channel": channel.code} if channel is not None else {}
    try:
        headers = [mapping.headers_of(content, name) for name, content in files]
    except reading.UnreadableFile:
        # The check says what is wrong with the file, as for any other.
        headers = None
    if headers is not None and not (len(files) == 1 and _in_our_template(headers[0])):
        found = import_profiles.profile_for(channel, headers)
        half = import_profiles.half_of_a_pair(channel, headers) if found is None else None
        if half is not None:
            return _refused_half(file_name, content, actor, *half)
        if found is not None and channel is not None:
            definition, saved = found
            parameters.update(profile=definition, profile_id=saved.pk if saved else None)
            if saved is not None:
                import_profiles.note_used(saved.pk)
        elif found is not None:
            parameters.update(mapping=MAPPING_NEEDED, suggested=found[0])
        else:
            # Near a profile but not quite: the page starts from it and says which columns went.
            near = import_profiles.nearest_profile(channel, headers)
            parameters.update(mapping=MAPPING_NEEDED, suggested=near[0] if near else None)
            if near is not None:
                definition, missing, saved = near
                # Saving the new mapping changes the channel's profile rather than adding a second one.
                parameters.update(missing_headers=missing, profile_id=saved.pk if saved else None)
    stored_name, stored, packed = uploads.pack(files)
    return jobs.create(
        KIND,
        stage=imports.CHECK,
        actor=actor,
        file_name=stored_name,
        content=stored,
        total=uploads.count_rows(files, stop_after=background_rows()),
        parameters={**parameters, **packed},
    )


def _refused_half(file_name, content, actor, definition, missing):
    """A marketplace's items report uploaded without its order report (or the other way round):
    the job fails at once, saying which file to add, before anything is read."""
    job = jobs.create(KIND, stage=imports.CHECK, actor=actor, file_name=file_name, content=content)
    other = _("the order report") if missing == mapping.ORDERS_FILE else _("the items report")
    return jobs.fail(
        job,
        _(
            "“%(file)s” is one of the two files of the %(profile)s. Upload it together with %(other)s of the same "
            "period, one file in each field."
        )
        % {"file": file_name, "profile": definition["name"], "other": other},
        summary={},
    )


def _in_our_template(header):
    """Whether a header row is our template's (in any language): it names the channel and the
    channel's order id, which no marketplace's report does."""
    positions, _names, _problems = ORDER_COLUMNS.read_header(header)
    return {"channel", "channel_order_id"} <= set(positions.values())


def needs_mapping(job: Job) -> bool:
    return job.parameters.get("mapping") == MAPPING_NEEDED and job.status == jobs.Status.QUEUED


def map_order_import(job_id: int, *, actor, channel, name: str, definition: dict) -> Job:
    """The operator mapped an upload's columns: the mapping is kept as the channel's profile (refused,
    with every problem named, when it is incomplete) and the job reads its files through it."""
    job = jobs.job_of(job_id, [KIND])
    if job is None or not needs_mapping(job):
        raise ValidationError(_("This upload has been mapped already."))
    suggested = job.parameters.get("suggested") or {}
    changed = job.parameters.get("profile_id")
    profile = import_profiles.save_profile(
        channel=channel,
        name=name,
        definition=definition,
        actor=actor,
        profile_id=changed if changed and ImportProfile.objects.filter(pk=changed, channel=channel).exists() else None,
        based_on=suggested.get("key", ""),
    )
    parameters = {
        key: value for key, value in job.parameters.items() if key not in ("mapping", "suggested", "missing_headers")
    }
    job.parameters = {**parameters, "channel": channel.code, "profile": profile.definition, "profile_id": profile.pk}
    job.save(update_fields=["parameters"])
    return job


def runs_in_background(job: Job) -> bool:
    """Whether the job is large enough for a worker."""
    return job.total > background_rows()


def check_order_import(job_id: int, *, in_background: bool = False) -> Job | None:
    """The dry run: place everything, note what happened, roll it all back."""
    return imports.check(ORDER_IMPORT, job_id, in_background=in_background)


def confirm_order_import(job_id: int, *, actor) -> Job | None:
    """The operator saw the preview and imports the file; returns the queued job, or None when it
    was confirmed already or cannot be (it has errors, or nothing to create)."""
    return imports.confirm(ORDER_IMPORT, job_id, actor=actor)


def import_order_file(job_id: int, *, in_background: bool = False) -> Job | None:
    """The import: place everything again and keep it, unless an order fails now or would go short
    of stock that the preview found; then nothing is kept and the job lists why."""
    return imports.run(ORDER_IMPORT, job_id, in_background=in_background)


def retry_order_import(job_id: int, *, actor) -> Job | None:
    """Check a failed, cancelled or stale order import's file again from the start; returns the
    queued job, or None when it may not be retried."""
    return imports.retry(ORDER_IMPORT, job_id, actor=actor)


def cancel_order_import(job_id: int, *, actor) -> Job | None:
    """Cancel a queued or running order import; a running one keeps no order."""
    return imports.cancel(ORDER_IMPORT, job_id, actor=actor)
