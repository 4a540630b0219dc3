"""Periodic: open the count sessions the ABC schedule makes due (docs/architecture.md, "Stock
counts"). Cron or a systemd timer runs it daily; it is safe to run again at any time."""

from django.core.management.base import BaseCommand

from inventory.services import open_due_count_sessions


class Command(BaseCommand):
    help = "Open a count session for each warehouse and ABC class whose count is due."

    def handle(self, *args, **options):
        opened = open_due_count_sessions()
        self.stdout.write(f"{len(opened)} count sessions opened.")
        for session in opened:
            self.stdout.write(f"  {session.number} {session.warehouse.code} class {session.abc_class}")
