"""Personal data kept only for a while: the files of finished imports and exports, and the public
tracking page's failed lookups (docs/architecture.md, "Personal data" and "Sign-in and security")."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from core import jobs
from core.actors import SYSTEM
from core.models import Job
from core.privacy import forget_expired
from core.spreadsheets import exports
from logistics.models import TrackingLookup
from logistics.services.public_tracking import forget_old_lookups
from orders.exports import ORDERS
from orders.models import Order
from tests.factories import place, staff
from tests.test_import_stock_products import preview
from tests.test_job_faults import checked_file, clerk, on_commit, shop  # noqa: F401

pytestmark = pytest.mark.django_db

KIND = jobs.JobKind("import_things", "Thing import")
Status = Job.Status
DISCARDED = "The file is no longer kept (files are kept 30 days)."


def job(status, *, finished_days_ago, result=b"names and phones"):
    made = jobs.create(KIND, stage="check", actor=SYSTEM, file_name="things.xlsx", content=b"orders with addresses")
    Job.objects.filter(pk=made.pk).update(
        status=status,
        result_file=result,
        finished_at=timezone.now() - timedelta(days=finished_days_ago) if status in jobs.FINISHED else None,
        created_at=timezone.now() - timedelta(days=finished_days_ago + 1),
    )
    return made.pk


def files(job_id):
    row = Job.objects.values("source", "result_file", "files_discarded_at").get(pk=job_id)
    return row["source"], row["result_file"], row["files_discarded_at"]


def age(job_id, days=31):
    Job.objects.filter(pk=job_id).update(finished_at=timezone.now() - timedelta(days=days))


# --- job files ----------------------------------------------------------------------------------


def test_files_of_jobs_that_finished_longer_ago_than_the_setting_are_emptied():
    old = [job(status, finished_days_ago=31) for status in (Status.DONE, Status.FAILED, Status.CANCELLED)]

    assert jobs.discard_old_files() == 3

    for job_id in old:
        source, result, discarded_at = files(job_id)
        assert (source, result) == (None, None)
        assert discarded_at is not None
    assert Job.objects.filter(pk__in=old).count() == 3


def test_recent_jobs_and_jobs_that_still_need_their_file_keep_it():
    recent = job(Status.DONE, finished_days_ago=29)
    waiting = [job(status, finished_days_ago=60) for status in (Status.PREVIEWED, Status.QUEUED, Status.RUNNING)]

    assert jobs.discard_old_files() == 0

    for job_id in [recent, *waiting]:
        source, result, discarded_at = files(job_id)
        assert (bytes(source), bytes(result), discarded_at) == (b"orders with addresses", b"names and phones", None)


def test_files_are_emptied_in_batches_and_a_second_run_finds_nothing_new():
    old = [job(Status.DONE, finished_days_ago=40) for _ in range(5)]

    assert jobs.discard_old_files(batch_size=2) == 5
    first = {job_id: files(job_id)[2] for job_id in old}
    assert jobs.discard_old_files(batch_size=2) == 0

    assert {job_id: files(job_id)[2] for job_id in old} == first


def test_how_long_files_are_kept_is_a_setting(settings):
    settings.JOB_FILES_KEPT_DAYS = 5
    week_old = job(Status.FAILED, finished_days_ago=7)

    jobs.discard_old_files()

    assert files(week_old)[0] is None
    assert jobs.discarded_message() == "The file is no longer kept (files are kept 5 days)."


def test_a_job_whose_files_went_may_not_be_retried():
    failed = job(Status.FAILED, finished_days_ago=31)
    jobs.discard_old_files()

    assert not jobs.may_retry(Job.objects.get(pk=failed))
    assert jobs.retry(failed, stage="check", actor=SYSTEM) is None
    assert Job.objects.get(pk=failed).status == Status.FAILED


# --- the job pages once the files went ------------------------------------------------------------


def test_the_order_import_page_says_the_file_went_and_offers_no_retry_or_errors_copy(client, shop, clerk):  # noqa: F811
    failed = jobs.finish(checked_file(clerk), status=Status.FAILED, summary={}, errors=[jobs.problem(2, "", "Bad")])
    age(failed.pk)
    jobs.discard_old_files()
    client.force_login(clerk)

    page = client.get(reverse("admin:orders_order_import_job", args=[failed.pk])).text

    assert DISCARDED in page
    assert reverse("admin:orders_order_import_retry", args=[failed.pk]) not in page
    assert reverse("admin:orders_order_import_errors", args=[failed.pk]) not in page
    assert client.get(reverse("admin:orders_order_import_errors", args=[failed.pk])).status_code == 404
    client.post(reverse("admin:orders_order_import_retry", args=[failed.pk]))
    assert Job.objects.get(pk=failed.pk).status == Status.FAILED


def test_the_order_import_page_of_a_recent_failed_import_still_offers_retry(client, shop, clerk):  # noqa: F811
    failed = jobs.fail(checked_file(clerk), "Stopped.")
    jobs.discard_old_files()
    client.force_login(clerk)

    page = client.get(reverse("admin:orders_order_import_job", args=[failed.pk])).text

    assert DISCARDED not in page
    assert reverse("admin:orders_order_import_retry", args=[failed.pk]) in page


def test_the_export_page_says_the_file_went_instead_of_a_download_link(client, shop, on_commit):  # noqa: F811
    author = staff("Customer service")
    place(lines=[(shop, 1)])
    with on_commit():
        export = exports.start_export(ORDERS, Order.objects.all(), file_format="csv", actor=author)
    download = reverse("admin:orders_order_export_download", args=[export.pk])
    client.force_login(author)
    assert download in client.get(reverse("admin:orders_order_export_job", args=[export.pk])).text

    age(export.pk)
    jobs.discard_old_files()
    page = client.get(reverse("admin:orders_order_export_job", args=[export.pk])).text

    assert DISCARDED in page
    assert download not in page
    assert client.get(download).status_code == 404


def test_the_shared_import_page_says_the_file_went_and_offers_no_retry(client):
    client.force_login(staff("Manager"))
    product_import = preview(client, "product", [["SKU", "Name", "Unit price"], ["TEA-1", "Green tea", "x"]])
    failed = jobs.fail(product_import.context["job"], "The worker stopped.")
    age(failed.pk)
    jobs.discard_old_files()

    page = client.get(reverse("admin:inventory_product_import_job", args=[failed.pk])).text

    assert DISCARDED in page
    assert reverse("admin:inventory_product_import_retry", args=[failed.pk]) not in page
    assert client.get(reverse("admin:inventory_product_import_errors", args=[failed.pk])).status_code == 404


def test_the_page_of_a_job_whose_files_went_shows_in_chinese_too(client, shop, clerk):  # noqa: F811
    failed = jobs.fail(checked_file(clerk), "Stopped.")
    age(failed.pk)
    jobs.discard_old_files()
    client.force_login(clerk)

    page = client.get(reverse("admin:orders_order_import_job", args=[failed.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert page.status_code == 200
    assert "data-job-files-discarded" in page.text


# --- failed tracking lookups --------------------------------------------------------------------


def lookup(hours_ago):
    return TrackingLookup.objects.create(
        client="203.0.113.7", order_number="OC-1", created_at=timezone.now() - timedelta(hours=hours_ago)
    ).pk


def test_failed_lookups_older_than_the_longest_limit_window_are_deleted():
    old, recent = lookup(25), lookup(23)

    assert forget_old_lookups(now=timezone.now()) == ["1 failed tracking lookup older than a day deleted."]

    assert list(TrackingLookup.objects.values_list("pk", flat=True)) == [recent]
    assert old != recent


def test_the_retention_run_empties_old_job_files_and_deletes_old_lookups():
    old_job, old_lookup, recent_lookup = job(Status.DONE, finished_days_ago=31), lookup(30), lookup(1)

    said = forget_expired()

    assert files(old_job)[0] is None
    assert list(TrackingLookup.objects.values_list("pk", flat=True)) == [recent_lookup]
    assert old_lookup != recent_lookup
    assert said == [
        "Files of 1 import or export finished more than 30 days ago emptied.",
        "1 failed tracking lookup older than a day deleted.",
    ]


def test_manage_py_anonymise_personal_data_also_forgets_what_is_kept_only_for_a_while():
    old_job = job(Status.CANCELLED, finished_days_ago=31)
    lookup(48)
    out = StringIO()

    call_command("anonymise_personal_data", stdout=out)

    assert files(old_job)[0] is None
    assert not TrackingLookup.objects.exists()
    assert "Files of 1 import or export finished more than 30 days ago emptied." in out.getvalue()
    assert "1 failed tracking lookup older than a day deleted." in out.getvalue()
