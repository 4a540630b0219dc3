from django.core.management.base import BaseCommand

from core.events import declared_events, describe, publishers


class Command(BaseCommand):
    help = (
        "Lists every domain event of every app with where it is published and who subscribes "
        '(docs/architecture.md, "Events").'
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--markdown", action="store_true", help="print the table docs/architecture.md holds, one row per event"
        )

    def handle(self, *args, markdown=False, **options):
        published_in = publishers()
        if markdown:
            self._table(published_in)
            return
        for event in declared_events():
            self.stdout.write(self.style.MIGRATE_HEADING(event.name))
            self.stdout.write(f"  {event.doc}")
            self.stdout.write(f"  payload: {', '.join(event.payload) or '(none)'}")
            for where in published_in.get(event.name, []):
                self.stdout.write(f"  published by {where}")
            if event.name not in published_in:
                self.stdout.write("  (published nowhere)")
            for handler in event.subscribers:
                self.stdout.write(f"  -> {describe(handler)}")
            if not event.subscribers:
                self.stdout.write("  (no subscribers)")

    def _table(self, published_in):
        def cell(names):
            return "<br>".join(f"`{name}`" for name in names) or "—"

        self.stdout.write("| event | published by | subscribers |")
        self.stdout.write("|---|---|---|")
        for event in declared_events():
            subscribers = [describe(handler) for handler in event.subscribers]
            self.stdout.write(f"| `{event.name}` | {cell(published_in.get(event.name, []))} | {cell(subscribers)} |")
