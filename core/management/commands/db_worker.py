import logging

from django_tasks_db.management.commands import db_worker

from core import jobs

logger = logging.getLogger(__name__)


class Command(db_worker.Command):
    help = (
        "Runs the database background worker, after sweeping what a stopped worker left behind "
        '(docs/architecture.md, "Jobs").'
    )

    def handle(self, *args, **options):
        # One indexed query when nothing is stale: cheap enough for every start, and a worker started
        # after a crash picks up at once what has been silent long enough.
        for line in jobs.sweep():
            logger.warning("%s", line)
        super().handle(*args, **options)
