"""The state of an import job (a BulkJob row): queued, running with its progress, checked and
waiting for confirmation, done or failed. Each function is one write; the import itself happens
in the importer, and a job's progress is written where others can see it while that runs."""

from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from core.actors import stored_user

from ..models import BulkJob

Status = BulkJob.Status


def create_job(*, kind, file_name, content, actor, total, parameters):
    return BulkJob.objects.create(
        kind=kind,
        status=Status.QUEUED,
        file_name=file_name[:255],
        source=content,
        total=total or 0,
        parameters=parameters,
        created_by=stored_user(actor),
    )


@transaction.atomic
def claim(job_id, *, stage):
    """Take a queued job of this stage for running; None when it is not waiting for that (a second
    worker, or a job someone already ran)."""
    job = BulkJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.status != Status.QUEUED or job.parameters.get("stage") != stage:
        return None
    job.status = Status.RUNNING
    job.processed = 0
    job.parameters = {**job.parameters, "phase": "reading"}
    job.save(update_fields=["status", "processed", "parameters"])
    return job


def set_phase(job, phase, *, total=None):
    job.parameters = {**job.parameters, "phase": phase}
    fields = ["parameters"]
    if total is not None:
        job.total, job.processed = total, 0
        fields += ["total", "processed"]
    job.save(update_fields=fields)


@contextmanager
def progress_reporter(job):
    """A function that records how many of the job's items are done. The import writes inside one
    transaction that others cannot see into until it ends, so on PostgreSQL the progress goes
    through a connection of its own; SQLite allows one writer at a time, so there the count is
    written with the import and shows when it ends."""
    table, quote = BulkJob._meta.db_table, connection.ops.quote_name
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


def finish(job, *, status, summary, errors):
    job.status = status
    job.summary = summary
    job.errors = errors
    job.processed = job.total if status in (Status.PREVIEWED, Status.DONE) else job.processed
    job.finished_at = timezone.now()
    job.parameters = {**job.parameters, "phase": ""}
    job.save(update_fields=["status", "summary", "errors", "processed", "finished_at", "parameters"])
    return job


@transaction.atomic
def queue_stage(job_id, *, stage, from_status, actor):
    """Move a job on to its next stage (the import after the check); None when it is not in
    `from_status` any more, so a double click queues it once."""
    job = BulkJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.status != from_status:
        return None
    job.status = Status.QUEUED
    confirmer = stored_user(actor)
    job.parameters = {**job.parameters, "stage": stage, "confirmed_by": confirmer.pk if confirmer else None}
    job.save(update_fields=["status", "parameters"])
    return job
