"""core.Job is the job model that was orders.BulkJob: the model moves, its table and rows stay.
This migration only tells Django's state that core has the model; orders 0009 renames the table
to core_job and removes BulkJob from orders' state, so an existing database keeps every job."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("orders", "0008_refunds_and_payment_statuses"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Job",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("kind", models.CharField(max_length=24, verbose_name="kind")),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("queued", "Queued"),
                                    ("running", "Running"),
                                    ("previewed", "Checked, waiting for confirmation"),
                                    ("done", "Done"),
                                    ("failed", "Failed"),
                                ],
                                default="queued",
                                max_length=12,
                                verbose_name="status",
                            ),
                        ),
                        ("file_name", models.CharField(max_length=255, verbose_name="file")),
                        ("source", models.BinaryField(blank=True, null=True, verbose_name="uploaded file")),
                        ("result_file", models.BinaryField(blank=True, null=True, verbose_name="result file")),
                        ("parameters", models.JSONField(blank=True, default=dict, verbose_name="parameters")),
                        ("total", models.PositiveIntegerField(default=0, verbose_name="rows in all")),
                        ("processed", models.PositiveIntegerField(default=0, verbose_name="rows done")),
                        ("summary", models.JSONField(blank=True, default=dict, verbose_name="summary")),
                        ("errors", models.JSONField(blank=True, default=list, verbose_name="errors")),
                        (
                            "created_at",
                            models.DateTimeField(default=django.utils.timezone.now, verbose_name="started at"),
                        ),
                        ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="finished at")),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="started by",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "import or export",
                        "verbose_name_plural": "imports and exports",
                        "ordering": ["-created_at", "-id"],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
