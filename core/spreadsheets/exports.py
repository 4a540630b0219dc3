"""Excel and CSV exports of what a console list shows, written as a stream: rows come from the
list's queryset through `values_list(...).iterator()` and go straight into the file.

An `Export` says which columns a kind of export has; `ExportTable` binds one to a queryset and a
user (who may see less than another); `core.spreadsheets.writing` writes it. Large exports run in
the background as a job (`start_export`, `run_export_job`): the list's query travels to the worker
signed, and the finished file is kept in the job's row, so any app server can hand it out.

Every export is written to the personal-data access log with who wrote it and how many rows it has
(`record_export`; docs/architecture.md, "Personal data"), whether it is written at once or by a job.

Each app offers its exports by subscribing to `core.events.EXPORTS_OFFERED` in its
`AppConfig.ready()`; a worker finds the export of a job by asking that event."""

import base64
import pickle
from dataclasses import dataclass, field
from functools import lru_cache

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext

from .. import jobs
from ..actors import SYSTEM, Actor
from ..events import EXPORTS_OFFERED
from ..models import Job
from ..permissions import require
from ..privacy import Action, record, sight_of
from .writing import CHUNK_ROWS, Format, spooled_file, write_file

QUERY_SIGNING_SALT = "core.spreadsheets.exports.query"
STAGE = "export"


def field_label(model, name):
    return capfirst(model._meta.get_field(name).verbose_name)


def local_time():
    """Excel has no time zones: times are written as the shop's local time, to the second."""
    zone = timezone.get_current_timezone()
    return lambda value: value.astimezone(zone).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class ExportColumn:
    """One column of an export: the `values_list` path it reads, its heading, and how a value is
    shown. `converter` makes the function that turns a database value into a cell; it is made when
    an export starts, so labels come out in that export's language. `text` columns hold words from
    customers, channels or staff and are guarded against spreadsheet formulas."""

    path: str
    header: str
    converter: object = None
    text: bool = True


def text_column(model, name, *, path=None, header=None):
    return ExportColumn(path or name, header or field_label(model, name))


def plain_column(model, name, *, path=None, header=None):
    return ExportColumn(path or name, header or field_label(model, name), text=False)


def time_column(model, name, *, path=None, header=None):
    return ExportColumn(path or name, header or field_label(model, name), local_time, text=False)


def choice_column(model, name, choices, *, path=None, header=None):
    def labels():
        by_value = {value: str(label) for value, label in choices}
        return lambda value: by_value.get(value, value)

    return ExportColumn(path or name, header or field_label(model, name), labels, text=False)


def cached_column(model, name, show, *, path=None, header=None):
    """A column whose values are worked out by `show` (slow, and often the same value again):
    each distinct value is worked out once per export."""
    return ExportColumn(path or name, header or field_label(model, name), lambda: lru_cache(maxsize=4096)(show))


@dataclass(frozen=True)
class Export:
    """A kind of export: its job kind (a JobKind), the list's model, the name the export form
    offers it by, the permission it needs and its columns for a user. `then_by` orders rows within
    one row of the list (the lines of an order). `personal` says the columns hold customers' names,
    phones or addresses (masked or not by the user's role), for the access log."""

    kind: jobs.JobKind
    model: object
    label: str
    file_stem: str
    permission: str
    columns: object
    then_by: tuple = field(default=())
    personal: bool = False

    def file_name(self, file_format):
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return f"{self.file_stem}-{stamp}.{file_format}"

    def check_permission(self, actor: Actor) -> None:
        require(actor, self.permission, gettext("Your role may not export this list."))

    def rows_of(self, queryset, columns):
        """The list's rows, in the list's order, as tuples of the columns' values."""
        ordering = tuple(queryset.query.order_by) or tuple(queryset.model._meta.ordering)
        return queryset.order_by(*ordering, *self.then_by).values_list(*(column.path for column in columns))


def offered_exports() -> list[Export]:
    """Every export the apps offer (each app subscribes to EXPORTS_OFFERED)."""
    return [export for offered in EXPORTS_OFFERED.publish() for export in offered]


def export_of_kind(code: str) -> Export:
    """The export a job of this kind writes."""
    return next(export for export in offered_exports() if export.kind.code == code)


class ExportTable:
    """An export bound to a queryset and a user: headings (in the active language) and rows."""

    def __init__(self, export, queryset, user):
        export.check_permission(user)
        self.export = export
        self.title = export.label
        self.columns = export.columns(user)
        self.headers = [str(column.header) for column in self.columns]
        self.queryset = export.rows_of(queryset, self.columns)
        self.conversions = [
            (index, column.converter()) for index, column in enumerate(self.columns) if column.converter
        ]
        self.text_indexes = [index for index, column in enumerate(self.columns) if column.text]

    def count(self):
        return self.queryset.count()

    def more_rows_than(self, limit):
        """Whether the table has more than `limit` rows, counting no further than that."""
        return self.queryset.order_by()[: limit + 1].count() > limit

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


def record_export(table: ExportTable, actor: Actor, *, rows: int, file_name: str) -> None:
    """Log who exported which list with how many rows, and what of the customers' data they saw
    in full."""
    record(
        actor,
        Action.EXPORTED,
        subject=f"{table.title} · {file_name}",
        fields=sight_of(actor).fields if table.export.personal else (),
        rows=rows,
    )


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


def start_export(export: Export, queryset: QuerySet, *, file_format: str, actor: Actor, list_query: str = "") -> Job:
    """Queue an export of `queryset` (a console list's rows) for the background and return its job.
    The worker writes the file in the language active now. `list_query` is the list's query
    string, for the job page's link back to the list."""
    export.check_permission(actor)
    if file_format not in Format.CONTENT_TYPES:
        raise ValidationError({"file_format": gettext("Choose Excel (.xlsx) or CSV.")})
    # Defining a task sets up the task backend, so the task module is imported when first used.
    from ..tasks import run_export

    with transaction.atomic():
        job = jobs.create(
            export.kind,
            stage=STAGE,
            actor=actor,
            file_name=export.file_name(file_format),
            parameters={
                "format": file_format,
                "language": translation.get_language(),
                "query": freeze_query(queryset),
                "list_query": list_query,
            },
        )
        transaction.on_commit(lambda: jobs.enqueue(job, run_export))
    return job


def retry_export(export: Export, job_id: int, *, actor: Actor) -> Job | None:
    """Write a failed, cancelled or stale export again from the list's query kept in its job;
    returns the queued job, or None when it may not be retried."""
    export.check_permission(actor)
    from ..tasks import run_export

    job = jobs.retry(job_id, stage=STAGE, actor=actor)
    if job is not None:
        transaction.on_commit(lambda: jobs.enqueue(job, run_export))
    return job


def cancel_export(export: Export, job_id: int, *, actor: Actor) -> Job | None:
    """Cancel a queued or running export (a running one stops at its next progress check and keeps
    no file); None when it has finished already."""
    export.check_permission(actor)
    return jobs.cancel(job_id, actor=actor)


def _failure_message(error):
    if isinstance(error, PermissionDenied):
        return str(error)
    if isinstance(error, signing.BadSignature):
        return gettext("This export was queued before the application was updated; start it again.")
    return gettext("The export stopped with an error (%(error)s); start it again or ask an administrator.") % {
        "error": type(error).__name__,
    }


def run_export_job(job_id: int) -> None:
    """Write a queued export's file into its job, keeping `processed` of `total` rows up to date.
    A failure is recorded on the job (the operator sees it on the job page) and raised again."""
    job = jobs.claim(job_id, stage=STAGE)
    if job is None:
        return
    with translation.override(job.parameters.get("language")):
        try:
            # The file and the job's end are stored in one transaction: a worker stopped before it
            # commits leaves no file, and the sweep hands the export to another.
            with spooled_file() as out, jobs.progress_reporter(job) as report:
                table = _write_job_file(job, out, report)
                with transaction.atomic():
                    jobs.store_result_file(job.pk, out)
                    jobs.finish(job, status=jobs.Status.DONE, summary={"rows": job.total}, errors=[])
                    record_export(table, job.created_by or SYSTEM, rows=job.total, file_name=job.file_name)
        except jobs.Cancelled:
            jobs.cancelled(job)
        except Exception as error:
            jobs.fail(job, _failure_message(error))
            raise


def _write_job_file(job, out, report):
    export = export_of_kind(job.kind)
    table = ExportTable(export, thaw_query(export.model, job.parameters["query"]), job.created_by)
    jobs.set_phase(job, "writing", total=table.count())
    write_file(table, job.parameters["format"], out, progress=report)
    return table
