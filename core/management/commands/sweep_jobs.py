from django.core.management.base import BaseCommand

from core import jobs


class Command(BaseCommand):
    help = (
        "Finds the background work a stopped worker left behind: running jobs silent for "
        "JOB_STALE_AFTER_SECONDS are queued again or failed with their reason, and each app recovers its "
        'own stuck work (docs/architecture.md, "Jobs"). Run it every few minutes.'
    )

    def handle(self, *args, **options):
        done = jobs.sweep()
        for line in done:
            self.stdout.write(line)
        if options["verbosity"] > 1 and not done:
            self.stdout.write("Nothing was left behind.")
