"""Periodic: move completed and cancelled orders finished more than ARCHIVE_AFTER_DAYS ago to the
archive, ARCHIVE_BATCH_SIZE orders per transaction (docs/architecture.md, "Archive"). Cron or a
systemd timer runs it (nightly is enough); killed at any moment, it loses nothing, and the next run
goes on where it stopped."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from core.actors import SYSTEM
from orders.services import archive_finished_orders


class Command(BaseCommand):
    help = "Move completed and cancelled orders finished longer ago than ARCHIVE_AFTER_DAYS to the archive."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=settings.ARCHIVE_BATCH_SIZE, help="Orders per transaction."
        )
        parser.add_argument(
            "--older-than-days",
            type=int,
            default=settings.ARCHIVE_AFTER_DAYS,
            help="Archive orders finished longer ago than this (default ARCHIVE_AFTER_DAYS).",
        )
        parser.add_argument("--max-batches", type=int, default=None, help="Stop after this many batches.")

    def handle(self, *args, batch_size, older_than_days, max_batches, **options):
        cutoff = timezone.now() - timedelta(days=older_than_days)
        done = 0

        def report(moved):
            nonlocal done
            done += moved
            self.stdout.write(f"{done} orders archived", ending="\n")
            self.stdout.flush()

        archive_finished_orders(
            actor=SYSTEM, cutoff=cutoff, batch_size=max(batch_size, 1), max_batches=max_batches, on_batch=report
        )
        self.stdout.write(f"Orders finished before {cutoff:%Y-%m-%d %H:%M}: {done} archived.")
