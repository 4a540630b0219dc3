"""The background job and its life (core.jobs): claimed once and only for the stage it waits for,
finished or failed with what it found, moved on to its next stage once however often it is
confirmed, the file it produced kept in its row, read only by the kinds and the person asked for;
and the move of the model from orders to core keeps every job an existing database holds."""

import io

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation
from django.utils.translation import gettext_lazy

from core import jobs
from core.actors import SYSTEM
from core.models import Job
from tests.factories import staff

pytestmark = pytest.mark.django_db

KIND = jobs.JobKind("import_things", "Thing import")
OTHER = jobs.JobKind("export_things", "Thing export")


def queued(kind=KIND, *, stage="check", actor=SYSTEM):
    return jobs.create(kind, stage=stage, actor=actor, file_name="things.xlsx", content=b"rows", total=3)


def test_a_queued_job_is_claimed_once_and_only_for_the_stage_it_waits_for():
    job = queued()

    assert jobs.claim(job.pk, stage="import") is None
    claimed = jobs.claim(job.pk, stage="check", phase="reading")
    assert (claimed.status, claimed.parameters, claimed.processed) == (
        Job.Status.RUNNING,
        {"stage": "check", "phase": "reading"},
        0,
    )
    assert jobs.claim(job.pk, stage="check") is None
    assert jobs.claim(job.pk + 1, stage="check") is None


def test_a_finished_stage_keeps_what_it_found_and_a_failure_says_why_in_one_sentence():
    checked = jobs.finish(
        jobs.claim(queued().pk, stage="check"), status=Job.Status.PREVIEWED, summary={"new": 3}, errors=[]
    )
    failed = jobs.fail(jobs.claim(queued().pk, stage="check"), "The file could not be read.")

    checked.refresh_from_db()
    failed.refresh_from_db()
    assert (checked.status, checked.summary, checked.processed, checked.parameters["phase"]) == (
        Job.Status.PREVIEWED,
        {"new": 3},
        3,
        "",
    )
    assert checked.finished_at is not None
    assert (failed.status, failed.errors) == (
        Job.Status.FAILED,
        [{"row": None, "column": "", "message": "The file could not be read."}],
    )
    assert failed.processed == 0


def test_a_checked_job_moves_on_to_its_import_once_however_often_it_is_confirmed():
    actor = staff("Manager")
    job = jobs.finish(jobs.claim(queued().pk, stage="check"), status=Job.Status.PREVIEWED, summary={}, errors=[])

    first = jobs.queue_stage(job.pk, stage="import", from_status=Job.Status.PREVIEWED, actor=actor)
    second = jobs.queue_stage(job.pk, stage="import", from_status=Job.Status.PREVIEWED, actor=actor)

    assert (first.status, first.parameters["stage"], first.parameters["confirmed_by"]) == (
        Job.Status.QUEUED,
        "import",
        actor.pk,
    )
    assert second is None
    assert jobs.claim(job.pk, stage="import") is not None


@pytest.mark.django_db(transaction=True)
def test_progress_is_written_to_the_job_row():
    """On PostgreSQL the progress goes through a connection of its own, so the job must be committed."""
    job = jobs.claim(queued().pk, stage="check")

    with jobs.progress_reporter(job) as report:
        report(2)

    assert Job.objects.get(pk=job.pk).processed == 2


def test_the_file_a_job_produced_is_kept_in_its_row():
    job = queued(OTHER, stage="export")

    jobs.store_result_file(job.pk, io.BytesIO(b"id,name\n1,tea\n"))

    assert jobs.result_file(job.pk) == b"id,name\n1,tea\n"


def test_jobs_are_read_by_kind_and_by_the_person_who_started_them():
    mine, theirs = staff("Manager"), staff("Manager")
    own = queued(actor=mine)
    other_kind = queued(OTHER, actor=mine)
    someone_elses = queued(actor=theirs)

    assert list(jobs.jobs_of([KIND])) == [someone_elses, own]
    assert list(jobs.jobs_of([KIND], user=mine)) == [own]
    assert jobs.job_of(other_kind.pk, [KIND]) is None
    assert jobs.job_of(someone_elses.pk, [KIND], user=mine) is None
    assert jobs.kind_label(other_kind, [KIND, OTHER]) == "Thing export"


@pytest.mark.django_db(transaction=True)
def test_moving_the_job_model_from_orders_to_core_keeps_every_job():
    orders_before = ("orders", "0008_refunds_and_payment_statuses")
    executor = MigrationExecutor(connection)
    executor.migrate([orders_before, ("core", None)])
    old = executor.loader.project_state(orders_before).apps
    user = old.get_model("auth", "User").objects.create(username="importer")
    BulkJob = old.get_model("orders", "BulkJob")
    imported = BulkJob.objects.create(
        kind="import_orders",
        status="previewed",
        file_name="orders.xlsx",
        source=b"PK\x03\x04",
        summary={"to_create": 2},
        created_by_id=user.pk,
    )
    failed = BulkJob.objects.create(
        kind="export_orders", status="failed", file_name="orders.csv", errors=["Your role may not export this list."]
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    kept = {job.pk: job for job in Job.objects.all()}
    assert set(kept) == {imported.pk, failed.pk}
    assert (kept[imported.pk].kind, bytes(kept[imported.pk].source), kept[imported.pk].created_by_id) == (
        "import_orders",
        b"PK\x03\x04",
        user.pk,
    )
    assert kept[imported.pk].summary == {"to_create": 2}
    assert kept[failed.pk].errors == [{"row": None, "column": "", "message": "Your role may not export this list."}]
    assert "orders_bulkjob" not in connection.introspection.table_names()
    assert queued().pk > failed.pk


def test_a_job_kind_is_found_by_its_code_in_every_language():
    kind = jobs.JobKind("import_orders", gettext_lazy("Order import"))
    with translation.override("en"):
        pages = {kind: "orders"}
    with translation.override("zh-hans"):
        assert pages[jobs.JobKind("import_orders", gettext_lazy("Order import"))] == "orders"


def test_every_console_import_is_found_by_a_worker_where_it_says_it_is_declared():
    from django.contrib import admin
    from django.utils.module_loading import import_string

    from core.spreadsheets.console import SpreadsheetImportMixin
    from orders.importers.orders import ORDER_IMPORT

    declared = [ORDER_IMPORT] + [
        model_admin.spreadsheet_import
        for model_admin in admin.site._registry.values()
        if isinstance(model_admin, SpreadsheetImportMixin)
    ]

    assert len(declared) >= 7
    for spec in declared:
        assert import_string(spec.location) is spec
