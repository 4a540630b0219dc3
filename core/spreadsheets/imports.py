"""Every spreadsheet import that keeps its upload as a job runs the same way: the uploaded file
becomes a job; the check runs the whole import in a transaction that is rolled back, so the preview
shows exactly what the import will do and every problem of the file, each with its row and
column; the operator confirms; the import runs again and keeps everything or, if anything is wrong
now, nothing. What the rows mean is the import's `apply`, which writes only through its app's
services; this module holds the stages around it."""

import logging
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from .. import jobs
from ..actors import Actor, actor_from
from ..models import Job
from ..permissions import require
from . import reading
from .problems import Problems

logger = logging.getLogger(__name__)

CHECK, IMPORT = "check", "import"


@dataclass(frozen=True)
class SpreadsheetImport:
    """One kind of import. `apply(run)` reads the job's file and does the work through the app's
    services inside `run.writing()`, notes every problem in `run.problems` and returns the summary
    the job page shows; `ready(summary)` says whether a checked file has anything to import;
    `refusal` is what a person without `permission` is told; `location` is the dotted path the
    import is declared at, where a worker finds it from the job."""

    kind: jobs.JobKind
    columns: object
    permission: str
    refusal: str
    apply: object
    ready: object
    location: str

    def require(self, actor: Actor) -> None:
        require(actor, self.permission, self.refusal)


class ImportRun:
    """One stage of one import job, as the import's `apply` sees it: the job, who acts, whether this
    is the check or the import, where problems go and how progress is reported."""

    def __init__(self, job, *, stage, actor, report):
        self.job, self.stage, self.actor, self.report = job, stage, actor, report
        self.problems = Problems()
        self.headers = {}

    @property
    def checking(self):
        return self.stage == CHECK

    def table(self, columns, *, max_rows):
        """The job's file read against `columns` (a `reading.Table`); its headers are kept for the
        summary, so the problems name columns as the file does."""
        table = reading.Table(bytes(self.job.source), self.job.file_name, columns, self.problems, max_rows=max_rows)
        self.headers = table.names
        return table

    def phase(self, phase, *, total=None):
        jobs.set_phase(self.job, phase, total=total)

    @contextmanager
    def writing(self):
        """The transaction the import writes in: always rolled back after the check, and after the
        import when it found a problem, so an import keeps all its rows or none."""
        with transaction.atomic():
            yield
            if self.checking or self.problems:
                transaction.set_rollback(True)


def start(
    spec: SpreadsheetImport,
    *,
    file_name: str,
    content: bytes,
    actor: Actor,
    count_up_to: int | None = None,
    parameters: dict | None = None,
) -> Job:
    """Take an uploaded file for checking; returns its job. The file is kept in the database, so any
    worker can read it; a file of another type is refused before anything is stored. The rows are
    counted up to `count_up_to`, which is all a caller deciding where to run the check needs;
    `parameters` are what the import needs besides the file (a remittance's carrier)."""
    spec.require(actor)
    reading.file_format(file_name)
    return jobs.create(
        spec.kind,
        stage=CHECK,
        actor=actor,
        file_name=file_name,
        content=content,
        total=reading.count_rows(content, file_name, stop_after=count_up_to),
        parameters={**(parameters or {}), "import": spec.location},
    )


def background_rows() -> int:
    """Files of more rows than this are checked and imported by a worker (IMPORT_BACKGROUND_ROWS)."""
    return settings.IMPORT_BACKGROUND_ROWS


def start_check(spec: SpreadsheetImport, job: Job) -> None:
    """Check an uploaded file: at once when it is small, otherwise by a worker."""
    _start(job, lambda: check(spec, job.pk), "check_import")


def start_run(spec: SpreadsheetImport, job: Job) -> None:
    """Import a confirmed file: at once when it is small, otherwise by a worker."""
    _start(job, lambda: run(spec, job.pk), "run_import")


def _start(job, at_once, task_name):
    if job.total <= background_rows():
        at_once()
        return
    # Defining a task sets up the task backend, so the tasks are imported only when one is queued.
    from .. import tasks

    jobs.enqueue(job, getattr(tasks, task_name))


def declared_at(job_id: int) -> SpreadsheetImport:
    """The import a job was started for, as a worker finds it."""
    return import_string(Job.objects.values_list("parameters", flat=True).get(pk=job_id)["import"])


def check(spec: SpreadsheetImport, job_id: int, *, in_background: bool = False) -> Job | None:
    """The dry run: do everything, note what happened, roll it all back. None when the job is not
    waiting for its check."""
    job = jobs.claim(job_id, stage=CHECK, phase="reading")
    if job is None:
        return None
    return _run(spec, job, actor=actor_from(job.created_by), in_background=in_background, done=jobs.Status.PREVIEWED)


def confirm(spec: SpreadsheetImport, job_id: int, *, actor: Actor) -> Job | None:
    """The operator saw the preview and imports the file; returns the queued job, or None when it
    was confirmed already or cannot be (it has errors, or nothing to import)."""
    spec.require(actor)
    job = jobs.job_of(job_id, [spec.kind])
    if job is None or not spec.ready(job.summary):
        return None
    return jobs.queue_stage(job_id, stage=IMPORT, from_status=jobs.Status.PREVIEWED, actor=actor)


def run(spec: SpreadsheetImport, job_id: int, *, in_background: bool = False) -> Job | None:
    """The import: do everything again and keep it, unless a problem turns up now; then nothing is
    kept and the job lists why. None when the job is not waiting to be imported."""
    job = jobs.claim(job_id, stage=IMPORT, phase="reading")
    if job is None:
        return None
    confirmed_by = job.parameters.get("confirmed_by")
    # The person who confirmed the import acts; the system only when nobody did.
    actor = actor_from(get_user_model().objects.get(pk=confirmed_by) if confirmed_by else None)
    return _run(spec, job, actor=actor, in_background=in_background, done=jobs.Status.DONE)


def retry(spec: SpreadsheetImport, job_id: int, *, actor: Actor) -> Job | None:
    """Check a failed, cancelled or stale import's file again from the start (the file is kept in
    the job), so the operator sees a fresh preview and confirms again; returns the queued job, or
    None when the job may not be retried."""
    spec.require(actor)
    if jobs.job_of(job_id, [spec.kind]) is None:
        return None
    return jobs.retry(job_id, stage=CHECK, actor=actor)


def cancel(spec: SpreadsheetImport, job_id: int, *, actor: Actor) -> Job | None:
    """Cancel a queued or running import (a running one stops at its next progress check, keeping
    nothing); None when it has finished already."""
    spec.require(actor)
    if jobs.job_of(job_id, [spec.kind]) is None:
        return None
    return jobs.cancel(job_id, actor=actor)


def _run(spec, job, *, actor, in_background, done):
    """Run a stage; whatever goes wrong unexpectedly fails the job (with nothing written) instead
    of leaving it running for ever, and a cancel seen at a progress check ends it cancelled."""
    try:
        with jobs.progress_reporter(job) as report:
            run = ImportRun(job, stage=job.parameters["stage"], actor=actor, report=report if in_background else None)
            summary = spec.apply(run)
    except jobs.Cancelled:
        return jobs.cancelled(job)
    except reading.UnreadableFile as error:
        return jobs.fail(job, error, summary={})
    except Exception:
        logger.exception("Import %s stopped", job.pk)
        return jobs.fail(
            job,
            _("The import stopped on an unexpected error; nothing was written. The error is in the server log."),
            summary={},
        )
    summary = {**summary, "headers": run.headers, "errors": run.problems.count}
    status = jobs.Status.FAILED if run.problems else done
    return jobs.finish(job, status=status, summary=summary, errors=run.problems.sorted())
