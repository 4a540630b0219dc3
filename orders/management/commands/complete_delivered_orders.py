"""Periodic: complete the orders whose acceptance window has passed. Cron or a systemd timer runs
it (daily is enough); it is safe to run again at any time."""

from django.conf import settings
from django.core.management.base import BaseCommand

from orders.services.acceptance import complete_delivered_orders


class Command(BaseCommand):
    help = "Complete orders delivered longer ago than ACCEPTANCE_WINDOW_DAYS that have no open return or complaint."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Orders read per query (default 500).")

    def handle(self, *args, batch_size, **options):
        run = complete_delivered_orders(batch_size=max(batch_size, 1))
        self.stdout.write(
            f"Acceptance window {settings.ACCEPTANCE_WINDOW_DAYS} days: {run.completed} completed, "
            f"{run.held_back} held back by an open return or complaint, "
            f"{run.skipped} changed meanwhile and left alone."
        )
