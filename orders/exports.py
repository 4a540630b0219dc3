"""Excel and CSV exports of what a console list shows, written as a stream: rows come from the
list's queryset through `values_list(...).iterator()` and go straight into the file, so an export
of 100,000 rows holds no more in memory than one of 1,000.

An `Export` says which columns a kind of export has; `ExportTable` binds one to a queryset and a
user (phone numbers are masked for staff who may not see them); `write_xlsx` and `csv_chunks`
write it. Large exports run in the background as a `BulkJob` (`start_export`, `run_export_job`):
the list's query travels to the worker signed, and the finished file is kept in the job's row, so
any app server can hand it out.

Apps register their exports here (`register`); logistics registers its shipment export, and a
worker finds it through `autodiscover_modules("exports")`."""

import base64
import csv
import io
import pickle
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.module_loading import autodiscover_modules
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from core.actors import stored_user
from core.permissions import Orders, require

from .models import BulkJob, Order, OrderLine, PaymentMethod
from .services.phones import format_phone, mask_phone

# Rows fetched from the database per round trip, and rows between two progress updates.
CHUNK_ROWS = 2_000
# Spreadsheet files stay in memory up to this size while they are written, then move to disk.
SPOOL_BYTES = 8 * 1024 * 1024
# A background export's file goes into its job row in parts of at least this size (PostgreSQL).
FILE_PART_BYTES = 4 * 1024 * 1024
QUERY_SIGNING_SALT = "orders.exports.query"


class Format:
    XLSX = "xlsx"
    CSV = "csv"
    CHOICES = [(XLSX, _("Excel (.xlsx)")), (CSV, _("CSV (UTF-8, opens in Excel)"))]
    CONTENT_TYPES = {
        XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        CSV: "text/csv; charset=utf-8",
    }


def field_label(model, name):
    return capfirst(model._meta.get_field(name).verbose_name)


def local_time():
    """Excel has no time zones: times are written as the shop's local time, to the second."""
    zone = timezone.get_current_timezone()
    return lambda value: value.astimezone(zone).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class Column:
    """One column: the `values_list` path it reads, its heading, and how a value is shown.
    `converter` makes the function that turns a database value into a cell; it is made when an
    export starts, so labels come out in that export's language. `text` columns hold words from
    customers, channels or staff and are guarded against spreadsheet formulas."""

    path: str
    header: str
    converter: object = None
    text: bool = True


def text_column(model, name, *, path=None, header=None):
    return Column(path or name, header or field_label(model, name))


def plain_column(model, name, *, path=None, header=None):
    return Column(path or name, header or field_label(model, name), text=False)


def time_column(model, name, *, path=None, header=None):
    return Column(path or name, header or field_label(model, name), local_time, text=False)


def choice_column(model, name, choices, *, path=None, header=None):
    def labels():
        by_value = {value: str(label) for value, label in choices}
        return lambda value: by_value.get(value, value)

    return Column(path or name, header or field_label(model, name), labels, text=False)


def phone_column(model, name, *, path=None, header=None, full):
    """The number grouped for reading, or masked (+86 138****8000) for staff who may not see it.
    Both parse the number, so each distinct number is worked out once per export."""
    shown = format_phone if full else mask_phone
    return Column(path or name, header or field_label(model, name), lambda: lru_cache(maxsize=4096)(shown))


@dataclass(frozen=True)
class Export:
    """A kind of export: its job kind, the list's model, the permission it needs and its columns
    for a user. `then_by` orders rows within one row of the list (the lines of an order)."""

    kind: str
    model: object
    label: str
    file_stem: str
    permission: str
    columns: object
    then_by: tuple = field(default=())

    def file_name(self, file_format):
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return f"{self.file_stem}-{stamp}.{file_format}"

    def check_permission(self, user):
        require(user, self.permission, gettext("Your role may not export this list."))

    def rows_of(self, queryset, columns):
        """The list's rows, in the list's order, as tuples of the columns' values."""
        ordering = tuple(queryset.query.order_by) or tuple(queryset.model._meta.ordering)
        return queryset.order_by(*ordering, *self.then_by).values_list(*(column.path for column in columns))


EXPORTS = {}


def register(export):
    EXPORTS[export.kind] = export
    return export


def export_of_kind(kind):
    """The export registered for a job kind. Each app's `exports` module registers its own, and a
    worker process may not have imported them yet."""
    autodiscover_modules("exports")
    return EXPORTS[kind]


# --- the order exports -------------------------------------------------------------------------


def _order_columns(full_phone):
    """What identifies an order and where it goes: the first columns of both order exports."""
    return [
        text_column(Order, "number"),
        Column("channel__name", field_label(Order, "channel")),
        text_column(Order, "channel_order_id"),
        choice_column(Order, "status", Order.Status.choices),
        time_column(Order, "placed_at"),
        text_column(Order, "recipient"),
        phone_column(Order, "phone", full=full_phone),
        text_column(Order, "province"),
        text_column(Order, "city"),
        text_column(Order, "district"),
        text_column(Order, "address"),
        text_column(Order, "postcode"),
        choice_column(Order, "payment_method", PaymentMethod.choices),
        choice_column(Order, "payment_status", Order.PaymentStatus.choices),
        text_column(Order, "currency"),
    ]


def order_columns(user):
    full_phone = user.has_perm(Orders.VIEW_CUSTOMER_PHONE)
    return _order_columns(full_phone) + [
        plain_column(Order, "subtotal"),
        plain_column(Order, "shipping_fee"),
        plain_column(Order, "discount"),
        plain_column(Order, "total"),
        plain_column(Order, "amount_paid"),
        plain_column(Order, "amount_refunded"),
        plain_column(Order, "refund_due"),
        plain_column(Order, "risk_score"),
        time_column(Order, "shipped_at"),
        time_column(Order, "delivered_at"),
        text_column(Order, "special_instructions"),
    ]


def order_line_columns(user):
    full_phone = user.has_perm(Orders.VIEW_CUSTOMER_PHONE)
    return _order_columns(full_phone) + [
        text_column(OrderLine, "sku", path="lines__sku"),
        text_column(OrderLine, "name", path="lines__name", header=field_label(OrderLine, "product")),
        plain_column(OrderLine, "quantity", path="lines__quantity"),
        plain_column(OrderLine, "unit_price", path="lines__unit_price"),
        plain_column(OrderLine, "line_total", path="lines__line_total"),
    ]


ORDERS = register(
    Export(
        kind=BulkJob.Kind.EXPORT_ORDERS,
        model=Order,
        label=_("One row per order"),
        file_stem="orders",
        permission=Orders.VIEW_ORDER,
        columns=order_columns,
    )
)
ORDER_LINES = register(
    Export(
        kind=BulkJob.Kind.EXPORT_ORDER_LINES,
        model=Order,
        label=_("One row per order line"),
        file_stem="order-lines",
        permission=Orders.VIEW_ORDER,
        columns=order_line_columns,
        then_by=("lines__id",),
    )
)


# --- writing -----------------------------------------------------------------------------------


class ExportTable:
    """An export bound to a queryset and a user: headings (in the active language) and rows."""

    def __init__(self, export, queryset, user):
        export.check_permission(user)
        self.export = export
        self.columns = export.columns(user)
        self.headers = [str(column.header) for column in self.columns]
        self.queryset = export.rows_of(queryset, self.columns)
        self.conversions = [
            (index, column.converter()) for index, column in enumerate(self.columns) if column.converter
        ]
        self.text_indexes = [index for index, column in enumerate(self.columns) if column.text]

    def count(self):
        return self.queryset.count()

    def rows(self, guard_text):
        """Each row as a list of cell values; `guard_text` makes free text safe for the format."""
        conversions, text_indexes = self.conversions, self.text_indexes
        for values in self.queryset.iterator(chunk_size=CHUNK_ROWS):
            row = list(values)
            for index, convert in conversions:
                if row[index] is not None:
                    row[index] = convert(row[index])
            for index in text_indexes:
                if row[index]:
                    row[index] = guard_text(row[index])
            yield row


def _counting(rows, progress):
    """Pass rows through, telling `progress` how many have gone every CHUNK_ROWS rows and at the end."""
    written = 0
    for row in rows:
        yield row
        written += 1
        if progress and written % CHUNK_ROWS == 0:
            progress(written)
    if progress and written % CHUNK_ROWS:
        progress(written)


def _xlsx_sheet(workbook, title, headers):
    """A write-only sheet with its bold header row, and the function that makes free text safe in it."""
    sheet = workbook.create_sheet(title=str(capfirst(title))[:31])
    sheet.freeze_panes = "A2"
    for index, header in enumerate(headers, 1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, min(40, 2 * len(header) + 4))
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)

    def xlsx_text(value):
        # Characters XML cannot hold are dropped; text starting with "=" stays text, not a formula.
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith("="):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            return cell
        return value

    return sheet, xlsx_text


def write_xlsx(table, out, *, progress=None):
    """Write the table to the binary file `out` with openpyxl's write-only mode: rows go to the
    sheet one by one and are never kept."""
    workbook = Workbook(write_only=True)
    sheet, xlsx_text = _xlsx_sheet(workbook, table.export.label, table.headers)
    for row in _counting(table.rows(xlsx_text), progress):
        sheet.append(row)
    workbook.save(out)


def write_xlsx_sheets(sheets, out):
    """Small tables worked out in Python (not a list's rows), one sheet each, to the binary file
    `out`: `sheets` holds (title, headers, rows). Every text cell is made safe as in write_xlsx."""
    workbook = Workbook(write_only=True)
    for title, headers, rows in sheets:
        sheet, xlsx_text = _xlsx_sheet(workbook, title, [str(header) for header in headers])
        for row in rows:
            sheet.append([xlsx_text(str(value)) if isinstance(value, Promise | str) else value for value in row])
    workbook.save(out)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value):
    """Spreadsheets run a cell that starts with = + - @ as a formula; a leading apostrophe keeps
    it text (OWASP's advice for CSV files)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_chunks(table, *, progress=None):
    """The table as CSV in UTF-8 with a byte-order mark (so Excel reads Chinese correctly), in
    chunks of bytes of about CHUNK_ROWS rows each."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.headers)
    yield "\ufeff".encode() + buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    for written, row in enumerate(_counting(table.rows(csv_text), progress), 1):
        writer.writerow(row)
        if written % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def write_file(table, file_format, out, *, progress=None):
    if file_format == Format.XLSX:
        write_xlsx(table, out, progress=progress)
    else:
        for chunk in csv_chunks(table, progress=progress):
            out.write(chunk)


def spooled_file():
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)


# --- background exports -------------------------------------------------------------------------


def freeze_query(queryset):
    """The queryset's query, pickled (Django supports this for rebuilding a queryset later) and
    signed, so a worker only ever unpickles what this application wrote."""
    pickled = base64.b64encode(pickle.dumps(queryset.query)).decode("ascii")
    return signing.Signer(salt=QUERY_SIGNING_SALT).sign(pickled)


def thaw_query(model, frozen):
    pickled = signing.Signer(salt=QUERY_SIGNING_SALT).unsign(frozen)
    queryset = model._default_manager.all()
    queryset.query = pickle.loads(base64.b64decode(pickled))
    return queryset


def start_export(export, queryset, *, file_format, actor, list_query=""):
    """Queue an export of `queryset` (a console list's rows) for the background and return its job.
    The worker writes the file in the language active now. `list_query` is the list's query
    string, for the job page's link back to the list."""
    export.check_permission(actor)
    if file_format not in Format.CONTENT_TYPES:
        raise ValidationError({"file_format": gettext("Choose Excel (.xlsx) or CSV.")})
    from .tasks.exports import run_export  # the task module imports this one

    with transaction.atomic():
        job = BulkJob.objects.create(
            kind=export.kind,
            file_name=export.file_name(file_format),
            parameters={
                "format": file_format,
                "language": translation.get_language(),
                "query": freeze_query(queryset),
                "list_query": list_query,
            },
            created_by=stored_user(actor),
        )
        transaction.on_commit(lambda: run_export.enqueue(job.pk))
    return job


def export_job(job_id, *, user, kinds):
    """The user's own export job (without its file), or None: an export holds what its creator
    was allowed to see, so nobody else may follow or download it."""
    return BulkJob.objects.defer("source", "result_file").filter(pk=job_id, kind__in=kinds, created_by=user).first()


def recent_export_jobs(*, user, kinds, limit):
    return list(
        BulkJob.objects.defer("source", "result_file")
        .filter(kind__in=kinds, created_by=user)
        .order_by("-created_at", "-id")[:limit]
    )


def export_file(job_id):
    return BulkJob.objects.values_list("result_file", flat=True).get(pk=job_id)


def _claim(job_id):
    """Mark a queued job running; None when it is gone or another worker has it already."""
    with transaction.atomic():
        job = BulkJob.objects.select_for_update().filter(pk=job_id, status=BulkJob.Status.QUEUED).first()
        if job is None:
            return None
        job.status = BulkJob.Status.RUNNING
        job.save(update_fields=["status"])
        return job


def _record_progress(job_id, processed):
    BulkJob.objects.filter(pk=job_id).update(processed=processed)


def _failure_message(error):
    if isinstance(error, PermissionDenied):
        return str(error)
    if isinstance(error, signing.BadSignature):
        return gettext("This export was queued before the application was updated; start it again.")
    return gettext("The export stopped with an error (%(error)s); start it again or ask an administrator.") % {
        "error": type(error).__name__,
    }


def run_export_job(job_id):
    """Write a queued export's file into its job, keeping `processed` of `total` rows up to date.
    A failure is recorded on the job (the operator sees it on the job page) and raised again."""
    job = _claim(job_id)
    if job is None:
        return
    with translation.override(job.parameters.get("language")):
        try:
            with spooled_file() as out:
                total = _write_job_file(job, out)
                with transaction.atomic():
                    _store_result_file(job.pk, out)
                    BulkJob.objects.filter(pk=job.pk).update(
                        status=BulkJob.Status.DONE,
                        processed=total,
                        finished_at=timezone.now(),
                        summary={"rows": total},
                    )
        except Exception as error:
            BulkJob.objects.filter(pk=job.pk).update(
                status=BulkJob.Status.FAILED,
                finished_at=timezone.now(),
                errors=[_failure_message(error)],
            )
            raise


def _write_job_file(job, out):
    export = export_of_kind(job.kind)
    table = ExportTable(export, thaw_query(export.model, job.parameters["query"]), job.created_by)
    total = table.count()
    BulkJob.objects.filter(pk=job.pk).update(total=total)
    write_file(table, job.parameters["format"], out, progress=lambda done: _record_progress(job.pk, done))
    return total


def _store_result_file(job_id, out):
    """Copy the finished file into the job's row. On PostgreSQL it goes a part at a time, so the
    worker never holds the whole file: Django binds parameters on the client, escaping bytes into
    the SQL text in several copies twice their size, so a part is sent through a server-side
    binding cursor instead, as it is. Each part is appended to what is stored, which rewrites it;
    parts of at least an eighth of the file keep that to a few times the file's size."""
    size = out.seek(0, io.SEEK_END)
    out.seek(0)
    if connection.vendor != "postgresql":
        BulkJob.objects.filter(pk=job_id).update(result_file=out.read())
        return
    import psycopg

    connection.ensure_connection()
    table, column = BulkJob._meta.db_table, BulkJob._meta.get_field("result_file").column
    part_bytes = max(FILE_PART_BYTES, size // 8 + 1)
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(f'UPDATE "{table}" SET "{column}" = %b WHERE id = %s', [b"", job_id])
        while part := out.read(part_bytes):
            cursor.execute(f'UPDATE "{table}" SET "{column}" = "{column}" || %b WHERE id = %s', [part, job_id])
