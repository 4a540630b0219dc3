"""The life of a background job (docs/architecture.md, "Jobs"), for every import and export: created
queued for a stage, claimed by one worker (the row is locked, so a second worker or a second click
finds it taken), its progress written where others can see it, finished (checked and waiting for
confirmation, or done) or failed with its errors, moved on to its next stage when someone confirms
it, and the file it produced kept in its row. What a job's work is belongs to the app that runs
it; each app declares its kinds of job as `JobKind`s beside the import or export that runs them."""

import io
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import QuerySet
from django.utils import timezone

from .actors import Actor, stored_user
from .models import Job

Status = Job.Status
FINISHED = (Status.PREVIEWED, Status.DONE, Status.FAILED)
# A produced file goes into its job row in parts of at least this size (PostgreSQL).
FILE_PART_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class JobKind:
    """A kind of job: the code its rows store and the name people read."""

    code: str
    label: str


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
    job.save(update_fields=["status", "processed", "parameters"])
    return job


def set_phase(job: Job, phase: str, *, total: int | None = None) -> None:
    """What the job is doing now, for its page; with `total`, how many items that part has."""
    job.parameters = {**job.parameters, "phase": phase}
    fields = ["parameters"]
    if total is not None:
        job.total, job.processed = total, 0
        fields += ["total", "processed"]
    job.save(update_fields=fields)


@contextmanager
def progress_reporter(job: Job) -> Iterator[Callable[[int], None]]:
    """A function that records how many of the job's items are done. The work may write inside one
    transaction that others cannot see into until it ends, so on PostgreSQL the progress goes
    through a connection of its own; SQLite allows one writer at a time, so there the count is
    written with the work and shows when it ends."""
    table, quote = Job._meta.db_table, connection.ops.quote_name
    statement = f"UPDATE {quote(table)} SET {quote('processed')} = %s WHERE {quote('id')} = %s"
    side = connections.create_connection(DEFAULT_DB_ALIAS) if connection.vendor == "postgresql" else None

    def report(done):
        with (side or connection).cursor() as cursor:
            cursor.execute(statement, [done, job.pk])

    try:
        yield report
    finally:
        if side is not None:
            side.close()


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


@transaction.atomic
def queue_stage(job_id: int, *, stage: str, from_status: str, actor: Actor) -> Job | None:
    """Move a job on to its next stage (the import after the check); None when it is not in
    `from_status` any more, so a double click queues it once."""
    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.status != from_status:
        return None
    job.status = Status.QUEUED
    job.parameters = {**job.parameters, "stage": stage, "confirmed_by": getattr(stored_user(actor), "pk", None)}
    job.save(update_fields=["status", "parameters"])
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
