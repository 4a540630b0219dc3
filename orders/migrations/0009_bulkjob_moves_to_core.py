"""orders.BulkJob becomes core.Job (core 0001): its table is renamed to core_job with every row
in it, and orders' state no longer has the model."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0008_refunds_and_payment_statuses"),
        ("core", "0001_job"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.AlterModelTable(name="BulkJob", table="core_job")],
            state_operations=[migrations.DeleteModel(name="BulkJob")],
        ),
    ]
