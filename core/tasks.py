"""Background work core runs for every app: `manage.py db_worker` runs it."""

from django_tasks import task

from .spreadsheets import exports


@task()
def run_export(job_id):
    """Write an export too large to hand out while the operator waits into its job; the job page
    shows the progress and then the download link."""
    exports.run_export_job(job_id)
