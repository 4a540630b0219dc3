from django.core.management.base import BaseCommand

from core.events import declared_events, describe


class Command(BaseCommand):
    help = 'Lists every domain event of every app with its subscribers (docs/architecture.md, "Events").'

    def handle(self, *args, **options):
        for event in declared_events():
            self.stdout.write(self.style.MIGRATE_HEADING(event.name))
            self.stdout.write(f"  {event.doc}")
            self.stdout.write(f"  payload: {', '.join(event.payload)}")
            for handler in event.subscribers or []:
                self.stdout.write(f"  -> {describe(handler)}")
            if not event.subscribers:
                self.stdout.write("  (no subscribers)")
