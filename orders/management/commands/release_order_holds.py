"""Periodic: release the manual holds whose end date has come (docs/architecture.md, "Orders that
wait"). Cron or a systemd timer runs it every few minutes; it is safe to run again at any time."""

from django.core.management.base import BaseCommand

from orders.services import release_due_holds


class Command(BaseCommand):
    help = "Release orders held by hand whose hold has reached its end date."

    def handle(self, *args, **options):
        run = release_due_holds()
        self.stdout.write(f"{len(run.done)} held orders released.")
        for number in run.done:
            self.stdout.write(f"  {number}")
