"""Exports too large to hand out while the operator waits: a worker (`manage.py db_worker`)
writes the file into its BulkJob, and the job page shows the progress and the download link."""

from django_tasks import task

from .. import exports


@task()
def run_export(job_id):
    exports.run_export_job(job_id)
