"""Jobs whose worker stops (docs/architecture.md, "Jobs"): a running job shows signs of life; the
sweep queues again or fails one that fell silent, with a reason the operator understands, and hands
stuck customer messages to a worker again; a person retries a failed, cancelled or stale job and
cancels a queued or running one (which keeps nothing), on the job pages, with their permission."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from core import jobs
from core.actors import SYSTEM
from core.models import Job
from core.spreadsheets import exports
from inventory.models import StockLevel
from orders import importers
from orders.exports import ORDERS
from orders.models import Notification, NotificationEvent, NotificationMedium, Order
from orders.notifications import sms
from orders.services import notifications
from orders.tasks import imports as import_tasks
from orders.tasks.imports import import_order_file
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, place, staff, stock
from tests.test_import_orders import row, xlsx
from tests.test_import_stock_products import preview

pytestmark = pytest.mark.django_db

KIND = jobs.JobKind("import_things", "Thing import")
Status = Job.Status


@pytest.fixture
def shop():
    ChannelFactory(code="web", name="Web shop")
    socks = ProductFactory(sku="SOCKS", unit_price=Decimal("10.00"))
    stock(socks, WarehouseFactory(), 100)
    return socks


@pytest.fixture
def clerk():
    return staff("Customer service")


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run what is queued for after commit (the test never commits), the tasks it queues included."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def running(*, task="", silent_for=timedelta(0), attempts=1, actor=SYSTEM):
    job = jobs.create(KIND, stage="check", actor=actor, file_name="things.xlsx", content=b"rows", total=3)
    if task:
        Job.objects.filter(pk=job.pk).update(parameters={**job.parameters, "task": task})
    jobs.claim(job.pk, stage="check")
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - silent_for, attempts=attempts)
    job.refresh_from_db()
    return job


def silent(settings_seconds=120):
    return timedelta(seconds=settings_seconds + 1)


def checked_file(clerk, count=3, prefix="K"):
    content = xlsx([row(f"{prefix}-{n}", "SOCKS", 1, phone=f"139 0000 {n:04d}") for n in range(count)])
    job = importers.start_order_import(file_name="orders.xlsx", content=content, actor=clerk)
    return importers.check_order_import(job.pk)


# --- heartbeat ------------------------------------------------------------------------------------


def test_claiming_a_stage_is_a_sign_of_life_and_counts_an_attempt():
    job = jobs.create(KIND, stage="check", actor=SYSTEM, file_name="things.xlsx")

    claimed = jobs.claim(job.pk, stage="check")

    assert claimed.heartbeat_at is not None
    assert claimed.attempts == 1
    assert not jobs.is_stale(claimed)


# On PostgreSQL progress goes through a connection of its own, which sees only committed rows.
@pytest.mark.django_db(transaction=True)
def test_each_progress_report_and_phase_is_a_sign_of_life():
    job = running(silent_for=timedelta(hours=1))

    with jobs.progress_reporter(job) as report:
        report(2)
    job.refresh_from_db()
    assert (job.processed, jobs.is_stale(job)) == (2, False)

    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    jobs.set_phase(job, "placing")
    job.refresh_from_db()
    assert not jobs.is_stale(job)


# --- the sweep ------------------------------------------------------------------------------------


def test_the_sweep_leaves_alone_a_job_that_shows_life_and_one_that_finished():
    alive = running(silent_for=timedelta(seconds=30), task="orders.tasks.imports.check_order_import")
    finished = jobs.fail(running(silent_for=timedelta(hours=2)), "Stopped for a reason.")

    assert jobs.sweep() == []

    alive.refresh_from_db()
    finished.refresh_from_db()
    assert (alive.status, finished.status) == (Status.RUNNING, Status.FAILED)


def test_the_sweep_queues_a_silent_import_again_and_another_worker_imports_it_once(shop, clerk, on_commit):
    job = importers.confirm_order_import(checked_file(clerk).pk, actor=clerk)
    # A worker took the import and was killed: its transaction rolled back, its job stayed running.
    Job.objects.filter(pk=job.pk).update(parameters={**job.parameters, "task": import_order_file.module_path})
    jobs.claim(job.pk, stage="import")
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - silent())

    with on_commit():
        done = jobs.sweep()

    job.refresh_from_db()
    assert len(done) == 1
    assert "queued again (attempt 2 of 3)" in done[0]
    assert (job.status, job.attempts) == (Status.DONE, 2)
    assert Order.objects.count() == 3
    assert StockLevel.objects.get().reserved == 3


def test_the_sweep_fails_a_silent_job_that_has_no_attempts_left_and_says_why():
    job = running(task="orders.tasks.imports.check_order_import", silent_for=silent(), attempts=3)

    [line] = jobs.sweep()

    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert job.finished_at is not None
    [error] = job.errors
    assert error["row"] is None
    assert "it had been started 3 times, so it was given up" in error["message"]
    assert "Nothing of it was kept; retry it" in error["message"]
    assert f"Job {job.pk}" in line and "failed" in line


def test_the_sweep_fails_a_silent_job_run_in_a_request_which_no_worker_can_take_up():
    job = running(silent_for=silent())

    jobs.sweep()

    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "The server running this job stopped" in job.errors[0]["message"]


def test_the_sweep_ends_a_silent_job_that_was_being_cancelled_as_cancelled(clerk):
    job = running(task="orders.tasks.imports.check_order_import", silent_for=silent())
    jobs.cancel(job.pk, actor=clerk)

    jobs.sweep()

    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert "Cancelled by" in job.errors[0]["message"]


def test_an_import_run_in_a_request_after_a_check_run_by_a_worker_is_failed_not_handed_to_the_check_task(
    shop, clerk, settings
):
    settings.ORDER_IMPORT_BACKGROUND_ROWS = 2
    job = importers.start_order_import(
        file_name="orders.xlsx",
        content=xlsx([row(f"K-{n}", "SOCKS", 1, phone=f"139 0000 {n:04d}") for n in range(3)]),
        actor=clerk,
    )
    import_tasks.start_check(job)
    queued = importers.confirm_order_import(job.pk, actor=clerk)
    assert "task" not in queued.parameters
    # The import ran in a request whose server was killed.
    jobs.claim(job.pk, stage="import")
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - silent())

    jobs.sweep()

    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "The server running this job stopped" in job.errors[0]["message"]


def test_the_stale_time_is_a_setting(settings):
    settings.JOB_STALE_AFTER_SECONDS = 3600
    job = running(silent_for=timedelta(minutes=30))

    assert not jobs.is_stale(job)
    assert jobs.sweep() == []

    settings.JOB_STALE_AFTER_SECONDS = 60
    assert jobs.is_stale(job)


def test_manage_py_sweep_jobs_prints_what_it_did(capsys):
    job = running(silent_for=silent())

    call_command("sweep_jobs")

    assert f"Job {job.pk}" in capsys.readouterr().out


# --- cancel and retry -----------------------------------------------------------------------------


def test_a_queued_job_is_cancelled_at_once_with_who_cancelled_it(clerk):
    job = jobs.create(KIND, stage="check", actor=clerk, file_name="things.xlsx")

    cancelled = jobs.cancel(job.pk, actor=clerk)

    assert cancelled.status == Status.CANCELLED
    assert cancelled.finished_at is not None
    assert cancelled.errors[0]["message"] == (
        f"Cancelled by {clerk.get_username()} before it finished; nothing of it was kept."
    )
    assert jobs.claim(job.pk, stage="check") is None
    assert jobs.cancel(job.pk, actor=clerk) is None


# On PostgreSQL progress goes through a connection of its own, which sees only committed rows.
@pytest.mark.django_db(transaction=True)
def test_a_running_job_is_marked_and_stops_at_its_next_progress_report(clerk):
    job = running()

    marked = jobs.cancel(job.pk, actor=clerk)

    assert (marked.status, marked.cancelled_by) == (Status.RUNNING, clerk)
    assert not jobs.may_cancel(marked)
    with pytest.raises(jobs.Cancelled), jobs.progress_reporter(job) as report:
        report(1)
    with pytest.raises(jobs.Cancelled):
        jobs.set_phase(job, "placing")


# On PostgreSQL progress goes through a connection of its own, which sees only committed rows.
@pytest.mark.django_db(transaction=True)
def test_an_order_import_cancelled_while_it_runs_keeps_no_order(shop, clerk, monkeypatch):
    monkeypatch.setattr("orders.services.intake.BATCH_SIZE", 2)
    job = importers.confirm_order_import(checked_file(clerk, count=5).pk, actor=clerk)
    set_phase = jobs.set_phase

    def cancelled_once_placing_starts(job, phase, **kwargs):
        set_phase(job, phase, **kwargs)
        if phase == "placing":
            jobs.cancel(job.pk, actor=clerk)

    monkeypatch.setattr(jobs, "set_phase", cancelled_once_placing_starts)

    ended = importers.import_order_file(job.pk, in_background=True)

    assert ended.status == Status.CANCELLED
    assert Order.objects.count() == 0
    assert StockLevel.objects.get().reserved == 0
    assert ended.errors[0]["message"].startswith(f"Cancelled by {clerk.get_username()}")


# On PostgreSQL progress goes through a connection of its own, which sees only committed rows.
@pytest.mark.django_db(transaction=True)
def test_an_export_cancelled_while_it_is_written_keeps_no_file(shop, monkeypatch):
    monkeypatch.setattr("core.spreadsheets.writing.CHUNK_ROWS", 1)
    user = staff("Customer service")
    for n in range(3):
        place(lines=[(shop, 1)], phone=f"1390000{n:04d}", address=f"文三路 {n} 号")
    set_phase = jobs.set_phase

    def cancelled_once_writing_starts(job, phase, **kwargs):
        set_phase(job, phase, **kwargs)
        jobs.cancel(job.pk, actor=user)

    monkeypatch.setattr(jobs, "set_phase", cancelled_once_writing_starts)

    # Committed at once here, so the test backend runs the export as soon as it is queued.
    job = exports.start_export(ORDERS, Order.objects.all(), file_format="csv", actor=user)

    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert job.result_file is None


def test_a_failed_job_is_retried_from_its_kept_file_with_its_attempts_and_errors_afresh(clerk):
    job = jobs.fail(running(attempts=3), "Stopped.")

    retried = jobs.retry(job.pk, stage="check", actor=clerk)

    assert (retried.status, retried.attempts, retried.errors, retried.finished_at) == (Status.QUEUED, 0, [], None)
    assert bytes(Job.objects.get(pk=job.pk).source) == b"rows"
    assert jobs.claim(job.pk, stage="check") is not None


def test_a_job_that_runs_and_shows_life_or_finished_well_is_not_retried(clerk):
    alive = running()
    done = jobs.finish(running(), status=Status.DONE, summary={}, errors=[])

    assert jobs.retry(alive.pk, stage="check", actor=clerk) is None
    assert jobs.retry(done.pk, stage="check", actor=clerk) is None
    assert jobs.retry(running(silent_for=silent()).pk, stage="check", actor=clerk) is not None


def test_retrying_an_order_import_needs_the_import_permission(shop, clerk):
    job = jobs.fail(checked_file(clerk), "Stopped.")

    with pytest.raises(PermissionDenied):
        importers.retry_order_import(job.pk, actor=staff("Warehouse operator"))
    with pytest.raises(PermissionDenied):
        importers.cancel_order_import(job.pk, actor=staff("Warehouse operator"))

    assert importers.retry_order_import(job.pk, actor=clerk).status == Status.QUEUED


# --- the job pages ------------------------------------------------------------------------------


def test_the_order_import_page_retries_a_failed_import_into_a_fresh_preview(client, shop, clerk):
    job = jobs.fail(checked_file(clerk), "Stopped.")
    client.force_login(clerk)
    page = reverse("admin:orders_order_import_job", args=[job.pk])

    assert reverse("admin:orders_order_import_retry", args=[job.pk]) in client.get(page).text
    response = client.post(reverse("admin:orders_order_import_retry", args=[job.pk]))

    job.refresh_from_db()
    assert response["Location"] == page
    assert (job.status, job.summary["to_create"]) == (Status.PREVIEWED, 3)


def test_the_order_import_page_cancels_a_queued_import(client, shop, clerk):
    job = importers.confirm_order_import(checked_file(clerk).pk, actor=clerk)
    client.force_login(clerk)
    cancel_url = reverse("admin:orders_order_import_cancel", args=[job.pk])

    assert cancel_url in client.get(reverse("admin:orders_order_import_job", args=[job.pk])).text
    client.post(cancel_url)

    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    page = client.get(reverse("admin:orders_order_import_job", args=[job.pk])).text
    assert "Cancelled: nothing was imported." in page
    assert reverse("admin:orders_order_import_retry", args=[job.pk]) in page
    assert Order.objects.count() == 0


def test_the_order_import_page_says_when_its_worker_fell_silent(client, clerk):
    job = running(silent_for=silent(), actor=clerk)
    Job.objects.filter(pk=job.pk).update(kind=importers.KIND.code)
    client.force_login(clerk)

    page = client.get(reverse("admin:orders_order_import_job", args=[job.pk])).text

    assert "No sign of life from the worker since" in page
    assert reverse("admin:orders_order_import_retry", args=[job.pk]) in page


def test_retry_and_cancel_are_refused_to_a_role_that_may_not_import(client, shop, clerk):
    job = jobs.fail(checked_file(clerk), "Stopped.")
    client.force_login(staff("Warehouse operator"))

    assert client.post(reverse("admin:orders_order_import_retry", args=[job.pk])).status_code == 403
    assert client.post(reverse("admin:orders_order_import_cancel", args=[job.pk])).status_code == 403
    assert client.get(reverse("admin:orders_order_import_retry", args=[job.pk])).status_code in (403, 405)
    job.refresh_from_db()
    assert job.status == Status.FAILED


def test_an_export_is_retried_and_cancelled_only_by_its_author(client, shop, on_commit):
    author = staff("Customer service")
    place(lines=[(shop, 1)])
    job = exports.start_export(ORDERS, Order.objects.all(), file_format="csv", actor=author)
    jobs.cancel(job.pk, actor=author)
    client.force_login(staff("Customer service"))
    retry_url = reverse("admin:orders_order_export_retry", args=[job.pk])

    assert client.post(retry_url).status_code == 404

    client.force_login(author)
    assert retry_url in client.get(reverse("admin:orders_order_export_job", args=[job.pk])).text
    with on_commit():
        client.post(retry_url)
    job.refresh_from_db()
    assert (job.status, job.summary) == (Status.DONE, {"rows": 1})


# --- customer messages ------------------------------------------------------------------------------


@pytest.fixture
def sms_outbox(settings):
    settings.SMS_BACKEND = "orders.notifications.sms.LocmemSMSBackend"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


class KilledSMSBackend(sms.BaseSMSBackend):
    """The worker is killed while the provider is being asked (SystemExit is what a signal handler
    raises; a SIGKILL does not even get that far, and leaves the same rolled-back transaction)."""

    def send_messages(self, messages):
        raise SystemExit(1)


def queued_text(shop, *, due_ago):
    order = place(lines=[(shop, 1)])
    return Notification.objects.create(
        order=order,
        event=NotificationEvent.ORDER_CONFIRMED,
        medium=NotificationMedium.SMS,
        recipient=order.phone,
        language="en",
        body="Your order is confirmed.",
        next_attempt_at=timezone.now() - due_ago,
    )


def test_a_worker_killed_while_sending_leaves_the_message_queued_and_the_sweep_sends_it_once(
    shop, settings, sms_outbox, on_commit
):
    text = queued_text(shop, due_ago=timedelta(0))
    settings.SMS_BACKEND = "tests.test_job_faults.KilledSMSBackend"
    with pytest.raises(SystemExit):
        notifications.send_notification(text.pk)
    text.refresh_from_db()
    assert (text.status, text.attempts) == (Notification.Status.QUEUED, 0)

    settings.SMS_BACKEND = "orders.notifications.sms.LocmemSMSBackend"
    Notification.objects.filter(pk=text.pk).update(next_attempt_at=timezone.now() - silent())
    with on_commit():
        [line] = jobs.sweep()

    text.refresh_from_db()
    assert "1 customer message waiting since before" in line
    assert (text.status, text.attempts) == (Notification.Status.SENT, 1)
    assert [m.body for m in sms_outbox] == ["Your order is confirmed."]


def test_the_sweep_leaves_alone_messages_not_yet_due_or_waiting_for_their_next_try(shop, sms_outbox, on_commit):
    queued_text(shop, due_ago=timedelta(seconds=10))
    retrying = queued_text(shop, due_ago=-timedelta(minutes=5))
    Notification.objects.filter(pk=retrying.pk).update(status=Notification.Status.RETRYING, attempts=1)
    sms_outbox.clear()

    with on_commit():
        assert jobs.sweep() == []

    assert sms_outbox == []


def test_a_failed_send_sets_when_the_next_try_is_due(shop, settings, on_commit):
    text = queued_text(shop, due_ago=timedelta(0))
    settings.SMS_BACKEND = "tests.test_notifications.FailingSMSBackend"

    notifications.send_notification(text.pk)

    text.refresh_from_db()
    assert text.status == Notification.Status.RETRYING
    assert text.next_attempt_at > timezone.now() + timedelta(seconds=50)


def test_the_product_import_page_retries_and_cancels_through_the_shared_import_pages(client):
    manager = staff("Manager")
    client.force_login(manager)
    job = preview(client, "product", [["SKU", "Name", "Unit price"], ["TEA-1", "Green tea", "12.50"]]).context["job"]
    jobs.fail(job, "The worker stopped.")
    page = reverse("admin:inventory_product_import_job", args=[job.pk])

    assert reverse("admin:inventory_product_import_retry", args=[job.pk]) in client.get(page).text
    client.post(reverse("admin:inventory_product_import_retry", args=[job.pk]))
    job.refresh_from_db()
    assert (job.status, job.errors) == (Status.PREVIEWED, [])

    assert client.post(reverse("admin:inventory_product_import_cancel", args=[job.pk])).status_code == 302
    job.refresh_from_db()
    assert job.status == Status.PREVIEWED
    client.force_login(staff("Warehouse operator"))
    assert client.post(reverse("admin:inventory_product_import_retry", args=[job.pk])).status_code == 403
