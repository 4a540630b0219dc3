"""Background work core runs for every app: `manage.py db_worker` runs it."""

from django_tasks import task

from .spreadsheets import exports, imports


@task()
def run_export(job_id):
    """Write an export too large to hand out while the operator waits into its job; the job page
    shows the progress and then the download link."""
    exports.run_export_job(job_id)


@task()
def check_import(job_id):
    """The dry run of a large upload of any import; the job shows its progress and then the preview."""
    job = imports.check(imports.declared_at(job_id), job_id, in_background=True)
    return job.status if job is not None else None


@task()
def run_import(job_id):
    """The confirmed import of a large upload, all or nothing."""
    job = imports.run(imports.declared_at(job_id), job_id, in_background=True)
    return job.status if job is not None else None
