"""Periodic: cancel the orders still awaiting payment past their channel's payment time limit
(docs/architecture.md, "Orders that wait"). Cron or a systemd timer runs it every few minutes; it is
safe to run again at any time, and a payment recorded meanwhile wins."""

from django.core.management.base import BaseCommand

from orders.services import cancel_unpaid_orders


class Command(BaseCommand):
    help = "Cancel orders awaiting payment longer than their channel's payment time limit, releasing their stock."

    def handle(self, *args, **options):
        run = cancel_unpaid_orders()
        self.stdout.write(
            f"{len(run.cancelled)} unpaid orders cancelled, {len(run.skipped)} paid or changed meanwhile and left alone."
        )
        for number in run.cancelled:
            self.stdout.write(f"  {number}")
