"""`manage.py classify_products`: work out every product's ABC class and the inventory page's
figures (turnover, days of inventory, dead stock, stock value) from the sales and the stock ledger,
as the system. Run it nightly (cron or a systemd timer, docs/architecture.md "Jobs"); the page's
"Recompute now" does the same on demand."""

from django.core.management.base import BaseCommand

from core.actors import SYSTEM
from planning import services


class Command(BaseCommand):
    help = "Recompute the products' ABC classes and the inventory page's figures."

    def handle(self, *args, **options):
        snapshot = services.recompute_classification(actor=SYSTEM)
        counts = ", ".join(f"{figure.abc_class} {figure.products}" for figure in snapshot.classes.order_by("abc_class"))
        self.stdout.write(
            self.style.SUCCESS(
                f"Classified products ({counts}) over {snapshot.period_days} days and wrote "
                f"{snapshot.stock.count()} stock figures in {snapshot.seconds:.1f} s."
            )
        )
