"""`manage.py rebuild_rollups`: recompute the dashboard's daily rollups from the orders, events,
payments and shipments (and the figures kept for archived orders, docs/architecture.md,
"Archive"), say whether they agreed with the rollups kept incrementally, and store the
recomputation. Run it nightly (cron or a systemd timer), at a quiet hour: changes to orders wait
while it reads them. `--check` only compares, and exits with status 1 when they disagree, so a
scheduler or a monitoring check notices."""

import time

from django.core.management.base import BaseCommand, CommandError

from analytics import services


class Command(BaseCommand):
    help = "Recompute the dashboard's daily rollups from scratch, report whether they agreed, and store them."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="compare only; change nothing")

    def handle(self, *args, check=False, **options):
        started = time.perf_counter()
        checks = services.rebuild(replace=not check)
        seconds = time.perf_counter() - started
        for result in checks:
            state = "agrees" if not result.differing else f"{result.differing} rows differed"
            self.stdout.write(f"{result.model._meta.db_table}: {result.rows} rows, {state}")
        differing = sum(result.differing for result in checks)
        if not differing:
            self.stdout.write(self.style.SUCCESS(f"The rollups agreed with the recomputation ({seconds:.1f} s)."))
        elif check:
            raise CommandError(
                f"The rollups disagreed with the recomputation in {differing} rows; nothing was changed ({seconds:.1f} s)."
            )
        else:
            self.stdout.write(
                self.style.WARNING(
                    f"The rollups disagreed with the recomputation in {differing} rows and were replaced by it ({seconds:.1f} s)."
                )
            )
