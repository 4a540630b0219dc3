"""Periodic: anonymise the personal data of customers whose last order finished longer ago than
PERSONAL_DATA_RETENTION_DAYS (docs/architecture.md, "Personal data"). Cron or a systemd timer runs
it (daily is enough); it works in batches, and running it again, or after it was stopped half-way,
anonymises only who is still due. Then it deletes what is kept only for a while (core.privacy.
forget_expired): the files of jobs finished longer ago than JOB_FILES_KEPT_DAYS, and what the apps
keep for a short time, such as the public tracking page's failed lookups."""

from django.conf import settings
from django.core.management.base import BaseCommand

from core.actors import SYSTEM
from core.privacy import forget_expired
from orders.services.privacy import BATCH_CUSTOMERS, anonymise_expired, customers_due, retention_cutoff


class Command(BaseCommand):
    help = (
        "Anonymise customers whose last order finished longer ago than PERSONAL_DATA_RETENTION_DAYS, keeping "
        "their orders' figures (amounts, statuses, times, province); then empty the files of imports and exports "
        "finished longer ago than JOB_FILES_KEPT_DAYS and delete other personal data kept only for a while."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_CUSTOMERS,
            help=f"Customers per transaction (default {BATCH_CUSTOMERS}).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only say how many customers are due.")

    def handle(self, *args, batch_size, dry_run, **options):
        cutoff = retention_cutoff()
        if dry_run:
            due = customers_due(cutoff).count()
            self.stdout.write(f"{due} customers' last order finished before {cutoff:%Y-%m-%d}; nothing changed.")
            return
        anonymised = anonymise_expired(actor=SYSTEM, before=cutoff, batch_size=max(batch_size, 1))
        self.stdout.write(
            f"Retention {settings.PERSONAL_DATA_RETENTION_DAYS} days: {anonymised} customers whose last order "
            f"finished before {cutoff:%Y-%m-%d} anonymised."
        )
        for line in forget_expired():
            self.stdout.write(line)
