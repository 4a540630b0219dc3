"""Periodic: recompute the demand snapshot, the replenishment suggestions and the run-out warnings
from the sales (docs/architecture.md, "Jobs"). Cron or a systemd timer runs it nightly, or every few
hours; it is safe to run again at any time, and two runs at once take turns."""

from django.core.management.base import BaseCommand

from core.actors import SYSTEM
from planning.services import plan_replenishment


class Command(BaseCommand):
    help = "Recompute demand, replenishment suggestions and run-out warnings from the sales."

    def handle(self, *args, **options):
        run = plan_replenishment(actor=SYSTEM)
        self.stdout.write(
            f"{run.demand_rows} products in warehouses, {run.suggestions} suggestions, "
            f"{run.warnings_raised} new run-out warnings, {run.warnings_cleared} recovered."
        )
