"""A real worker killed in the middle of its work (docs/architecture.md, "Jobs"): a `manage.py
db_worker` process on PostgreSQL gets SIGKILL while it places the orders of an import, or while it
sends a batch of customer messages. Nothing is half-written: the import keeps nothing and its job
falls silent, and after the sweep (`manage.py sweep_jobs`) and a restarted worker it ends done
(imported once) or, with no attempts left, failed with its reason; never running. Every message
ends sent, the one being sent when the worker died included."""

import csv
import io
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import connection

from core.models import Job
from inventory.models import StockLevel
from inventory.selectors import ledger_mismatches
from orders import importers
from orders.models import Notification, NotificationEvent, NotificationMedium, NotificationTemplate, Order
from orders.notifications.sms import LogSMSBackend
from orders.tasks import imports as import_tasks
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, place, staff, stock
from tests.test_import_orders import HEADERS, row

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ORDERS = 3_000
# Killed once this many orders were placed (progress is written every 500): well inside the import.
KILL_AT = 1_000
STALE_AFTER_SECONDS = 3
WAIT_SECONDS = 120


def order_file():
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADERS, extrasaction="ignore")
    writer.writeheader()
    for n in range(ORDERS):
        writer.writerow(row(f"KILL-{n}", "SOCKS", 1, phone=f"139{n:08d}", address=f"文三路 {n} 号"))
    return out.getvalue().encode()


def environment(**extra):
    """The test database, the database task queue and short job timings, for the child processes."""
    db = connection.settings_dict
    url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    return {
        **os.environ,
        "DATABASE_URL": url,
        "TASKS_BACKEND": "database",
        "JOB_HEARTBEAT_SECONDS": "0.5",
        "JOB_STALE_AFTER_SECONDS": str(STALE_AFTER_SECONDS),
        "CONN_MAX_AGE": "0",
        **extra,
    }


def manage(*args, env, log):
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def worker(env, log, *extra):
    return manage("db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.2", *extra, env=env, log=log)


def wait_for(condition, what):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"waited {WAIT_SECONDS}s for {what}")


def job_row(job):
    return Job.objects.values("status", "processed", "attempts", "errors").get(pk=job.pk)


def restart_until_finished(job, env, log):
    """A worker started again, until the job has ended (it goes on to send the orders' messages,
    which this test leaves aside), then stopped as a deploy stops it."""
    restarted = worker(env, log)
    try:
        wait_for(lambda: job_row(job)["status"] in (Job.Status.DONE, Job.Status.FAILED), "the job to end")
    finally:
        restarted.terminate()
        restarted.wait(30)


@pytest.fixture
def confirmed_import(settings):
    """A checked and confirmed order file of ORDERS orders, queued for a worker in the database."""
    settings.ORDER_IMPORT_BACKGROUND_ROWS = 10
    ChannelFactory(code="web", name="Web shop")
    stock(ProductFactory(sku="SOCKS", unit_price=Decimal("10.00")), WarehouseFactory(), ORDERS)
    clerk = staff("Customer service")
    job = importers.start_order_import(file_name="orders.csv", content=order_file(), actor=clerk)
    checked = importers.check_order_import(job.pk)
    assert checked.summary["to_create"] == ORDERS, checked.errors[:3]
    queued = importers.confirm_order_import(job.pk, actor=clerk)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    import_tasks.start_import(queued)
    return queued


def placing(job):
    """How many orders the running import has placed so far (0 until a worker has claimed it)."""
    now = job_row(job)
    return now["processed"] if now["status"] == Job.Status.RUNNING else 0


def kill_mid_import(job, env, log):
    first = worker(env, log)
    try:
        wait_for(lambda: placing(job) >= KILL_AT, f"the worker to place {KILL_AT} orders")
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    killed = job_row(job)
    assert killed["status"] == Job.Status.RUNNING
    assert killed["processed"] < ORDERS
    # Nothing half-written: the import's transaction died with its worker.
    assert Order.objects.count() == 0
    assert StockLevel.objects.get().reserved == 0
    time.sleep(STALE_AFTER_SECONDS + 1)


def test_an_import_whose_worker_was_killed_is_queued_again_by_the_sweep_and_imported_once(confirmed_import, tmp_path):
    env = environment()
    with open(tmp_path / "workers.log", "w") as log:
        kill_mid_import(confirmed_import, env, log)

        sweep = manage("sweep_jobs", env=env, log=log)
        assert sweep.wait(60) == 0
        assert job_row(confirmed_import)["status"] == Job.Status.QUEUED
        restart_until_finished(confirmed_import, env, log)

    done = job_row(confirmed_import)
    assert (done["status"], done["processed"], done["attempts"]) == (Job.Status.DONE, ORDERS, 2)
    assert Order.objects.count() == ORDERS
    assert StockLevel.objects.get().reserved == ORDERS
    assert not ledger_mismatches().exists()


def test_an_import_whose_worker_was_killed_with_no_attempts_left_ends_failed_with_its_reason(
    confirmed_import, tmp_path
):
    env = environment(JOB_MAX_ATTEMPTS="1")
    with open(tmp_path / "workers.log", "w") as log:
        kill_mid_import(confirmed_import, env, log)

        # A restarted worker sweeps first: the silent job is given up at once.
        restart_until_finished(confirmed_import, env, log)

    failed = job_row(confirmed_import)
    assert failed["status"] == Job.Status.FAILED
    [error] = failed["errors"]
    assert "it had been started 1 time, so it was given up" in error["message"]
    assert "Nothing of it was kept" in error["message"]
    assert Order.objects.count() == 0
    assert StockLevel.objects.get().reserved == 0


class SlowSMSBackend(LogSMSBackend):
    """A provider that takes its time, so the worker is killed while a message is being sent."""

    def send_messages(self, messages):
        time.sleep(0.3)
        return super().send_messages(messages)


MESSAGES = 12


def test_a_worker_killed_while_sending_messages_leaves_none_half_sent_and_the_sweep_sends_each(settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    # An earlier test's flush may have taken the default templates with it.
    for language in ("en", "zh-hans"):
        NotificationTemplate.objects.get_or_create(
            event=NotificationEvent.ORDER_CONFIRMED,
            medium=NotificationMedium.SMS,
            language=language,
            defaults={"body": "Order {{ order.number }} is confirmed."},
        )
    product = ProductFactory(sku="SOCKS")
    stock(product, WarehouseFactory(), MESSAGES)
    for n in range(MESSAGES):
        place(lines=[(product, 1)], phone=f"139{n:08d}", address=f"文三路 {n} 号")
    texts = Notification.objects.filter(medium="sms")
    assert texts.count() == MESSAGES
    env = environment(SMS_BACKEND="tests.test_job_kill.SlowSMSBackend")
    log_path = tmp_path / "workers.log"

    with open(log_path, "w") as log:
        first = worker(env, log)
        try:
            wait_for(lambda: texts.filter(status="sent").count() >= 3, "three messages to be sent")
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
        statuses = set(texts.values_list("status", flat=True))
        assert statuses <= {Notification.Status.QUEUED, Notification.Status.SENT}
        assert texts.filter(status="sent").count() < MESSAGES
        time.sleep(STALE_AFTER_SECONDS + 1)

        sweep = manage("sweep_jobs", env=env, log=log)
        assert sweep.wait(60) == 0
        restarted = worker(env, log)
        try:
            wait_for(lambda: not texts.exclude(status="sent").exists(), "every message to be sent")
        finally:
            restarted.terminate()
            restarted.wait(30)

    assert set(texts.values_list("attempts", flat=True)) == {1}
    sent_lines = [line for line in log_path.read_text().splitlines() if line.startswith("SMS to ")]
    # Each message once; one more only if the kill fell between the provider's answer and the commit.
    assert MESSAGES <= len(sent_lines) <= MESSAGES + 1
