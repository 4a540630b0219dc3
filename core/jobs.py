"""The life of a background job (docs/architecture.md, "Jobs"), for every import and export: created
queued for a stage, claimed by one worker (the row is locked, so a second worker or a second click
finds it taken), its progress and signs of life written where others can see it, finished (checked
and waiting for confirmation, or done), failed with its errors or cancelled, moved on to its next
stage when someone confirms it, and the file it produced kept in its row. A job whose worker
stopped is found by `sweep` and queued again or failed with its reason; a person may `retry` a
failed, cancelled or stale job and `cancel` a queued or running one. The files of a job finished
longer ago than JOB_FILES_KEPT_DAYS are emptied by `discard_old_files`; it stays as a record that may
not be retried. What a job's work is belongs to the app that runs it; each app declares its kinds of
job as `JobKind`s beside the import or export that runs them."""

import io
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.models import Q, QuerySet
from django.utils import formats, timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .actors import Actor, stored_user
from .events import STALE_WORK
from .models import Job

logger = logging.getLogger(__name__)

Status = Job.Status
FINISHED = (Status.PREVIEWED, Status.DONE, Status.FAILED, Status.CANCELLED)
# A produced file goes into its job row in parts of at least this size (PostgreSQL).
FILE_PART_BYTES = 4 * 1024 * 1024
# Jobs whose files are emptied in one transaction.
BATCH_JOBS = 100


@dataclass(frozen=True)
class JobKind:
    """A kind of job: the code its rows store and the name people read. A kind is its code: the
    name is translated, and a translated text hashes as the reader's language says, so a dict keyed
    by kinds and built in one language would miss them in another."""

    code: str
    label: str = field(compare=False)


class Cancelled(Exception):
    """Someone cancelled the running job: raised at its next progress check, so the transaction
    its work writes in rolls back and the job ends as cancelled."""


def stale_after() -> timedelta:
    """How long a running job may show no sign of life before the sweep takes its worker for
    stopped (JOB_STALE_AFTER_SECONDS)."""
    return timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)


def max_attempts() -> int:
    """How many times a stage is started in all before the sweep gives it up (JOB_MAX_ATTEMPTS)."""
    return settings.JOB_MAX_ATTEMPTS


def problem(row: int | None, column: str, message: Any) -> dict:
    """One error of a job, as every job stores it: the row as Excel numbers it (None for the file as
    a whole), the column's key ("" for none) and a sentence the operator understands."""
    return {"row": row, "column": column, "message": str(message)}


def create(
    kind: JobKind,
    *,
    stage: str,
    actor: Actor,
    file_name: str,
    content: bytes | None = None,
    total: int = 0,
    parameters: dict | None = None,
) -> Job:
    """A queued job of `kind` (a JobKind) waiting for its `stage` to be run."""
    return Job.objects.create(
        kind=kind.code,
        status=Status.QUEUED,
        file_name=file_name[:255],
        source=content,
        total=total or 0,
        parameters={**(parameters or {}), "stage": stage},
        created_by=stored_user(actor),
    )


@transaction.atomic
def claim(job_id: int, *, stage: str, phase: str = "") -> Job | None:
    """Take a queued job of this stage for running; None when it is not waiting for that (a second
    worker, or a job someone already ran)."""
    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.status != Status.QUEUED or job.parameters.get("stage") != stage:
        return None
    job.status = Status.RUNNING
    job.processed = 0
    job.parameters = {**job.parameters, "phase": phase}
    job.heartbeat_at = timezone.now()
    job.attempts += 1
    job.save(update_fields=["status", "processed", "parameters", "heartbeat_at", "attempts"])
    return job


def set_phase(job: Job, phase: str, *, total: int | None = None) -> None:
    """What the job is doing now, for its page; with `total`, how many items that part has. A new
    phase is a sign of life and a progress check: a job cancelled meanwhile stops here."""
    job.parameters = {**job.parameters, "phase": phase}
    job.heartbeat_at = timezone.now()
    fields = ["parameters", "heartbeat_at"]
    if total is not None:
        job.total, job.processed = total, 0
        fields += ["total", "processed"]
    job.save(update_fields=fields)
    if Job.objects.filter(pk=job.pk, cancel_requested_at__isnull=False).exists():
        raise Cancelled


@contextmanager
def progress_reporter(job: Job) -> Iterator[Callable[[int], None]]:
    """A function that records how many of the job's items are done, with the time as a sign of
    life, and raises `Cancelled` when someone cancelled the job. The work may write inside one
    transaction that others cannot see into until it ends, so on PostgreSQL the progress goes
    through a connection of its own, and a heartbeat (below) shows life between two reports;
    SQLite allows one writer at a time, so there the count is written with the work and shows when
    it ends."""
    table, quote = Job._meta.db_table, connection.ops.quote_name
    statement = (
        f"UPDATE {quote(table)} SET {quote('processed')} = %s, {quote('heartbeat_at')} = %s "
        f"WHERE {quote('id')} = %s RETURNING {quote('cancel_requested_at')}"
    )
    side = connections.create_connection(DEFAULT_DB_ALIAS) if connection.vendor == "postgresql" else None
    beat = _Heartbeat(job.pk) if side is not None else None

    def report(done):
        writer = side or connection
        with writer.cursor() as cursor:
            cursor.execute(statement, [done, writer.ops.adapt_datetimefield_value(timezone.now()), job.pk])
            row = cursor.fetchone()
        if row is not None and row[0] is not None:
            raise Cancelled

    if beat is not None:
        beat.start()
    try:
        yield report
    finally:
        if beat is not None:
            beat.stop()
        if side is not None:
            side.close()


class _Heartbeat(threading.Thread):
    """Writes the job's sign of life every JOB_HEARTBEAT_SECONDS while its stage runs, so a long
    part without progress reports (reading a large file, storing the file an export wrote) is not
    taken for a stopped worker. It runs beside the work in the same process, so it stops with it:
    a killed worker's job stops beating and the sweep finds it. The thread has its own connection
    and writes only this one column of a running job."""

    def __init__(self, job_id):
        super().__init__(name=f"job-{job_id}-heartbeat", daemon=True)
        self.job_id = job_id
        self.stopping = threading.Event()

    def run(self):
        try:
            while not self.stopping.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    Job.objects.filter(pk=self.job_id, status=Status.RUNNING).update(heartbeat_at=timezone.now())
                except DatabaseError:
                    # A missed beat is harmless while the next gets through; many in a row are a
                    # worker the sweep should find.
                    logger.warning("Job %s: its heartbeat could not be written", self.job_id, exc_info=True)
        finally:
            connections.close_all()

    def stop(self):
        self.stopping.set()
        self.join(timeout=settings.JOB_HEARTBEAT_SECONDS)


def finish(job: Job, *, status: str, summary: dict, errors: list[dict]) -> Job:
    """The job's stage has ended: checked (PREVIEWED), DONE or FAILED, with what it found."""
    job.status = status
    job.summary = summary
    job.errors = errors
    job.finished_at = timezone.now()
    job.parameters = {**job.parameters, "phase": ""}
    fields = ["status", "summary", "errors", "finished_at", "parameters"]
    if status in (Status.PREVIEWED, Status.DONE):
        job.processed = job.total
        fields.append("processed")
    job.save(update_fields=fields)
    return job


def fail(job: Job, message: Any, *, summary: dict | None = None) -> Job:
    """The job stopped for a reason about the job as a whole, told in one sentence."""
    return finish(
        job,
        status=Status.FAILED,
        summary=job.summary if summary is None else summary,
        errors=[problem(None, "", message)],
    )


def cancelled(job: Job) -> Job:
    """The running job saw that it was cancelled and rolled its work back: it ends so."""
    job.refresh_from_db(fields=["cancelled_by", "cancel_requested_at"])
    return finish(job, status=Status.CANCELLED, summary=job.summary, errors=[_cancel_problem(job.cancelled_by)])


def _cancel_problem(user):
    if user is None:
        return problem(None, "", _("Cancelled before it finished; nothing of it was kept."))
    return problem(
        None,
        "",
        _("Cancelled by %(person)s before it finished; nothing of it was kept.")
        % {"person": user.get_full_name() or user.get_username()},
    )


def is_stale(job: Job, *, now: datetime | None = None) -> bool:
    """Whether the job is running but has shown no sign of life for JOB_STALE_AFTER_SECONDS."""
    last = job.heartbeat_at or job.created_at
    return job.status == Status.RUNNING and last < (now or timezone.now()) - stale_after()


def may_retry(job: Job) -> bool:
    """Whether a person may start the job again: it failed, was cancelled, or its worker stopped,
    and its files are still kept."""
    return job.files_discarded_at is None and (job.status in (Status.FAILED, Status.CANCELLED) or is_stale(job))


def may_cancel(job: Job) -> bool:
    """Whether the job can still be cancelled: it waits, or runs and was not asked to stop yet."""
    return job.status == Status.QUEUED or (job.status == Status.RUNNING and job.cancel_requested_at is None)


@transaction.atomic
def cancel(job_id: int, *, actor: Actor) -> Job | None:
    """Cancel a job: a queued one at once, a running one at its next progress check, where its work
    rolls back. None when it has finished already. The caller checks that `actor` may do this."""
    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None or not may_cancel(job):
        return None
    job.cancel_requested_at, job.cancelled_by = timezone.now(), stored_user(actor)
    fields = ["cancel_requested_at", "cancelled_by"]
    if job.status == Status.QUEUED:
        job.status, job.finished_at, job.errors = Status.CANCELLED, timezone.now(), [_cancel_problem(job.cancelled_by)]
        job.parameters = {**job.parameters, "phase": ""}
        fields += ["status", "finished_at", "errors", "parameters"]
    job.save(update_fields=fields)
    return job


@transaction.atomic
def retry(job_id: int, *, stage: str, actor: Actor) -> Job | None:
    """Queue a failed, cancelled or stale job again for `stage`, from the file and parameters kept in
    its row; its errors and attempts start afresh. None when it may not be retried (it is running
    or finished well). The caller checks that `actor` may do this and hands the stage to a worker."""
    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None or not may_retry(job):
        return None
    job.status = Status.QUEUED
    job.parameters = {
        **_without_task(job.parameters),
        "stage": stage,
        "phase": "",
        "retried_by": getattr(stored_user(actor), "pk", None),
    }
    job.processed, job.attempts, job.errors, job.summary = 0, 0, [], {}
    job.heartbeat_at = job.finished_at = job.cancel_requested_at = job.cancelled_by = None
    job.save(
        update_fields=[
            "status",
            "parameters",
            "processed",
            "attempts",
            "errors",
            "summary",
            "heartbeat_at",
            "finished_at",
            "cancel_requested_at",
            "cancelled_by",
        ]
    )
    return job


def _without_task(parameters):
    """A job's parameters for a new stage: the task of the stage before is not this one's, and one
    run in a request has none (`enqueue` notes it when a worker is to run it)."""
    return {key: value for key, value in parameters.items() if key != "task"}


def enqueue(job: Job, task: Any) -> None:
    """Hand the job's queued stage to a worker through `task` (a django-tasks task taking the job's
    id). The task is noted in the job, so if that worker stops, the sweep hands the stage to
    another: only stages that keep all their work or none may come here."""
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        locked.parameters = {**locked.parameters, "task": task.module_path}
        locked.save(update_fields=["parameters"])
    job.parameters = locked.parameters
    task.enqueue(job.pk)


def sweep(*, now: datetime | None = None) -> list[str]:
    """Find the work whose worker stopped and recover it; returns a sentence for each thing done.
    A running job with no sign of life for JOB_STALE_AFTER_SECONDS is queued again for another
    worker when its stage was handed to one and has attempts left (its work was all or nothing,
    so nothing of the stopped attempt was kept), and failed with its reason otherwise; one that was
    being cancelled ends cancelled. Then each app recovers its own stuck work (STALE_WORK)."""
    stale_before = (now or timezone.now()) - stale_after()
    running_too_long = Job.objects.filter(status=Status.RUNNING).filter(
        Q(heartbeat_at__lt=stale_before) | Q(heartbeat_at__isnull=True, created_at__lt=stale_before)
    )
    done = [line for job_id in running_too_long.values_list("pk", flat=True) if (line := _sweep_job(job_id, now))]
    for lines in STALE_WORK.publish(stale_before=stale_before):
        done.extend(lines)
    return done


@transaction.atomic
def _sweep_job(job_id, now):
    # A job row locked now is being changed by someone alive: the next sweep sees it again.
    job = Job.objects.select_for_update(skip_locked=True).filter(pk=job_id).first()
    if job is None or not is_stale(job, now=now):
        return None
    last = formats.date_format(timezone.localtime(job.heartbeat_at or job.created_at), "SHORT_DATETIME_FORMAT")
    stage = job.parameters.get("stage", "")
    if job.cancel_requested_at is not None:
        cancelled(job)
        return _("Job %(id)s (%(kind)s, %(stage)s) had been cancelled; it ends cancelled.") % {
            "id": job.pk,
            "kind": job.kind,
            "stage": stage,
        }
    task = job.parameters.get("task")
    if task and job.attempts < max_attempts():
        job.status, job.processed, job.heartbeat_at = Status.QUEUED, 0, None
        job.parameters = {**job.parameters, "phase": ""}
        job.save(update_fields=["status", "processed", "heartbeat_at", "parameters"])
        transaction.on_commit(lambda: import_string(task).enqueue(job.pk))
        return _(
            "Job %(id)s (%(kind)s, %(stage)s) showed no sign of life since %(time)s; queued again "
            "(attempt %(attempt)s of %(attempts)s)."
        ) % {
            "id": job.pk,
            "kind": job.kind,
            "stage": stage,
            "time": last,
            "attempt": job.attempts + 1,
            "attempts": max_attempts(),
        }
    if task:
        reason = ngettext(
            "The worker running this job stopped (last sign of life %(time)s) and it had been started "
            "%(attempts)s time, so it was given up. Nothing of it was kept; retry it once the workers run again.",
            "The worker running this job stopped (last sign of life %(time)s) and it had been started "
            "%(attempts)s times, so it was given up. Nothing of it was kept; retry it once the workers run again.",
            job.attempts,
        ) % {"attempts": job.attempts, "time": last}
    else:
        reason = _(
            "The server running this job stopped (last sign of life %(time)s), probably restarted. "
            "Nothing of it was kept; retry it."
        ) % {"time": last}
    fail(job, reason)
    return _("Job %(id)s (%(kind)s, %(stage)s) failed: %(reason)s") % {
        "id": job.pk,
        "kind": job.kind,
        "stage": stage,
        "reason": reason,
    }


@transaction.atomic
def queue_stage(job_id: int, *, stage: str, from_status: str, actor: Actor) -> Job | None:
    """Move a job on to its next stage (the import after the check); None when it is not in
    `from_status` any more, so a double click queues it once."""
    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.status != from_status:
        return None
    job.status = Status.QUEUED
    job.parameters = {
        **_without_task(job.parameters),
        "stage": stage,
        "confirmed_by": getattr(stored_user(actor), "pk", None),
    }
    job.processed = job.attempts = 0
    job.save(update_fields=["status", "parameters", "processed", "attempts"])
    return job


def store_result_file(job_id: int, out: BinaryIO) -> None:
    """Copy the file the job produced (the binary file `out`) into its row. On PostgreSQL it goes a
    part at a time, so the worker never holds the whole file: Django binds parameters on the
    client, escaping bytes into the SQL text in several copies twice their size, so a part is sent
    through a server-side binding cursor instead, as it is. Each part is appended to what is
    stored, which rewrites it; parts of at least an eighth of the file keep that to a few times the
    file's size."""
    size = out.seek(0, io.SEEK_END)
    out.seek(0)
    if connection.vendor != "postgresql":
        Job.objects.filter(pk=job_id).update(result_file=out.read())
        return
    import psycopg

    connection.ensure_connection()
    table, column = Job._meta.db_table, Job._meta.get_field("result_file").column
    part_bytes = max(FILE_PART_BYTES, size // 8 + 1)
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(f'UPDATE "{table}" SET "{column}" = %b WHERE id = %s', [b"", job_id])
        while part := out.read(part_bytes):
            cursor.execute(f'UPDATE "{table}" SET "{column}" = "{column}" || %b WHERE id = %s', [part, job_id])


def result_file(job_id: int) -> bytes:
    return bytes(Job.objects.values_list("result_file", flat=True).get(pk=job_id))


# --- forgetting files ---------------------------------------------------------------------------


def files_kept_days() -> int:
    """How many days after a job finished its files are kept (JOB_FILES_KEPT_DAYS)."""
    return settings.JOB_FILES_KEPT_DAYS


def discarded_message() -> str:
    """What a job's page says once its files were emptied."""
    days = files_kept_days()
    return ngettext(
        "The file is no longer kept (files are kept %(days)s day).",
        "The file is no longer kept (files are kept %(days)s days).",
        days,
    ) % {"days": days}


def _files_due(before):
    # Previewed, queued and running jobs still need their file (to confirm, to run); a job that never
    # noted its end counts from its start.
    return Job.objects.filter(
        Q(finished_at__lt=before) | Q(finished_at__isnull=True, created_at__lt=before),
        status__in=(Status.DONE, Status.FAILED, Status.CANCELLED),
        files_discarded_at__isnull=True,
    )


def discard_old_files(*, now: datetime | None = None, batch_size: int = BATCH_JOBS) -> int:
    """Empty the uploaded file and the produced file of every job that finished (done, failed or
    cancelled) longer ago than JOB_FILES_KEPT_DAYS: uploads of orders and exports hold customers'
    names, phones and addresses (docs/architecture.md, "Personal data"). The job rows stay, with
    when their files went. `batch_size` jobs per transaction, in id order; running it again, or
    after it was stopped half-way, empties only what is still due. Returns how many jobs' files went."""
    now = now or timezone.now()
    before = now - timedelta(days=files_kept_days())
    discarded, after = 0, 0
    while ids := list(_files_due(before).filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch_size]):
        after = ids[-1]
        discarded += _discard_files(ids, before, now)
    return discarded


@transaction.atomic
def _discard_files(job_ids, before, now):
    # Checked again under the row locks: someone may have retried one of them meanwhile.
    locked = list(_files_due(before).select_for_update().filter(pk__in=job_ids).values_list("pk", flat=True))
    return Job.objects.filter(pk__in=locked).update(source=None, result_file=None, files_discarded_at=now)


# --- reading jobs -------------------------------------------------------------------------------


def jobs_of(kinds: Iterable[JobKind], *, user: Any = None) -> QuerySet[Job]:
    """Jobs of these kinds (JobKinds), newest first, without their files; only `user`'s own when given."""
    jobs = Job.objects.defer("source", "result_file").filter(kind__in=[kind.code for kind in kinds])
    if user is not None:
        jobs = jobs.filter(created_by=user)
    return jobs.select_related("created_by")


def job_of(job_id: int, kinds: Iterable[JobKind], *, user: Any = None) -> Job | None:
    """The job, if it is of one of these kinds (and `user`'s own when given); None otherwise."""
    return jobs_of(kinds, user=user).filter(pk=job_id).first()


def kind_label(job: Job, kinds: Iterable[JobKind]) -> str:
    """The name of the job's kind among `kinds`, or its code when it is none of them."""
    return next((kind.label for kind in kinds if kind.code == job.kind), job.kind)
