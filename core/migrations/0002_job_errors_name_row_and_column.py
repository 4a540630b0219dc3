"""Every job's errors are now {"row", "column", "message"}, as imports always wrote them; exports
that failed before wrote a bare message, which becomes an error about the file as a whole."""

from django.db import migrations


def errors_as_problems(apps, schema_editor):
    Job = apps.get_model("core", "Job")
    for job in Job.objects.filter(kind__startswith="export_", status="failed").only("errors"):
        if any(isinstance(error, str) for error in job.errors):
            job.errors = [
                {"row": None, "column": "", "message": error} if isinstance(error, str) else error
                for error in job.errors
            ]
            job.save(update_fields=["errors"])


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_job"),
        ("orders", "0009_bulkjob_moves_to_core"),
    ]

    operations = [migrations.RunPython(errors_as_problems, migrations.RunPython.noop)]
