"""Periodic: anonymise the personal data of customers whose last order finished longer ago than
PERSONAL_DATA_RETENTION_DAYS (docs/architecture.md, "Personal data"). Cron or a systemd timer runs
it (daily is enough); it works in batches, and running it again, or after it was stopped half-way,
anonymises only who is still due."""

from django.conf import settings
from django.core.management.base import BaseCommand

from core.actors import SYSTEM
from orders.services.privacy import BATCH_CUSTOMERS, anonymise_expired, customers_due, retention_cutoff


class Command(BaseCommand):
    help = (
        "Anonymise customers whose last order finished longer ago than PERSONAL_DATA_RETENTION_DAYS, keeping "
        "their orders' figures (amounts, statuses, times, province)."
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
