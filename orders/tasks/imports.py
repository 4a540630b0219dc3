"""Background work for large order imports: `manage.py db_worker` runs it."""

from django_tasks import task

from core import jobs

from .. import importers


@task()
def check_order_import(job_id):
    """The dry run of an uploaded order file; the job shows its progress and then the preview."""
    job = importers.check_order_import(job_id, in_background=True)
    return job.status if job is not None else None


@task()
def import_order_file(job_id):
    """The confirmed import of an order file, all or nothing."""
    job = importers.import_order_file(job_id, in_background=True)
    return job.status if job is not None else None


def start_check(job):
    """Check an uploaded file: at once when it is small, otherwise by a worker."""
    if importers.runs_in_background(job):
        jobs.enqueue(job, check_order_import)
    else:
        importers.check_order_import(job.pk)


def start_import(job):
    """Import a confirmed file, where its check ran: at once when it is small, otherwise by a worker."""
    if importers.runs_in_background(job):
        jobs.enqueue(job, import_order_file)
    else:
        importers.import_order_file(job.pk)
