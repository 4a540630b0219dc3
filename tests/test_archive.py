"""Finished orders archived (docs/architecture.md, "Archive"): what moves and what stays, every row
in exactly one place even when a run is stopped half-way, the channel API and intake still knowing
archived orders, the rollups unchanged, and the console's Archived orders view."""

import csv
import io
import os
import signal
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from aftersales import services as aftersales
from aftersales.models import Outcome, ReturnReason, Ticket
from aftersales.services import tickets
from core.actors import SYSTEM
from orders import events as order_events
from orders import services as orders
from orders.models import ArchivedOrder, Order
from tests.factories import (
    ChannelFactory,
    ProductFactory,
    WarehouseFactory,
    advance,
    channel_client,
    order_input,
    place,
    staff,
    stock,
)

Status = Order.Status
LONG_AGO = timezone.now() - timedelta(days=600)
# Every table that holds rows of an order, by the label archived rows are kept under.
ORDER_TABLES = {
    "orders.order": "pk",
    "orders.orderline": "order_id",
    "orders.allocation": "line__order_id",
    "orders.payment": "order_id",
    "orders.refund": "order_id",
    "orders.orderevent": "order_id",
    "orders.ordernote": "order_id",
    "orders.notification": "order_id",
    "orders.ordertagging": "order_id",
    "logistics.shipment": "order_id",
    "logistics.shipmentline": "shipment__order_id",
    "logistics.trackingevent": "shipment__order_id",
    "logistics.carrierchoice": "order_id",
    "aftersales.returnrequest": "order_id",
    "aftersales.returnline": "return_request__order_id",
    "aftersales.returnevent": "return_request__order_id",
    "aftersales.returnrequest_refunds": "returnrequest__order_id",
    "aftersales.ticket": "order_id",
    "aftersales.ticketmessage": "ticket__order_id",
    "aftersales.ticketevent": "ticket__order_id",
    "aftersales.feedback": "order_id",
}


def live_rows(order_ids):
    return {
        (label, pk)
        for label, path in ORDER_TABLES.items()
        for pk in apps.get_model(label)._base_manager.filter(**{f"{path}__in": order_ids}).values_list("pk", flat=True)
    }


def archived_rows(order_ids):
    return [
        (label, row["id"])
        for archived in ArchivedOrder.objects.filter(pk__in=order_ids)
        for label, rows in archived.rows.items()
        for row in rows
    ]


def assert_each_row_in_one_place(order_ids, every_row):
    """Each row of these orders is live or archived, never both, never neither, never twice."""
    live, archived = live_rows(order_ids), archived_rows(order_ids)
    assert len(archived) == len(set(archived)), "a row was archived twice"
    assert not live & set(archived), f"rows both live and archived: {sorted(live & set(archived))}"
    assert live | set(archived) == every_row, f"rows lost: {sorted(every_row - live - set(archived))}"
    for archived_order in ArchivedOrder.objects.filter(pk__in=order_ids):
        assert not Order.objects.filter(pk=archived_order.pk).exists()


def finished_long_ago(*order_list):
    for order in order_list:
        field = "completed_at" if order.status == Status.COMPLETED else "cancelled_at"
        Order.objects.filter(pk=order.pk).update(**{field: LONG_AGO})


@pytest.fixture
def product():
    item = ProductFactory()
    stock(item, WarehouseFactory(), 500)
    return item


def completed_order(product, **overrides):
    return advance(place(lines=[(product, 1)], **overrides), "completed")


def order_with_everything(product):
    """A completed order with a parcel and its tracking, a note, a rejected return, a closed
    complaint with a reply, all through the services."""
    order = advance(place(lines=[(product, 2)], email="a@example.com"), "delivered")
    cs = staff("Customer service")
    orders.add_note(order.pk, author=cs, text="Customer called")
    case = aftersales.request_return(
        order.pk,
        actor=SYSTEM,
        wanted_outcome=Outcome.REFUND,
        lines=[aftersales.ReturnLineInput(order_line_id=order.lines.get().pk, quantity=1, reason=ReturnReason.QUALITY)],
    )
    aftersales.reject_return(case.pk, reason="Worn", actor=cs)
    ticket = tickets.open_ticket(
        subject="Late", category=Ticket.Category.DAMAGE, severity=Ticket.Severity.NORMAL, order_id=order.pk, actor=cs
    )
    tickets.reply(ticket.pk, text="Sorry about that", actor=cs)
    tickets.resolve(ticket.pk, root_cause="Rain", corrective_action="None", actor=cs)
    tickets.close(ticket.pk, actor=cs)
    orders.complete(order.pk, actor=SYSTEM)
    order.refresh_from_db()
    return order


# --- what moves ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_old_finished_order_moves_with_every_row_of_every_app(product):
    order = order_with_everything(product)
    finished_long_ago(order)
    every_row = live_rows([order.pk])
    kinds = {label for label, _pk in every_row}
    assert {
        "logistics.shipment",
        "logistics.trackingevent",
        "aftersales.returnrequest",
        "aftersales.ticket",
        "aftersales.ticketmessage",
        "orders.ordernote",
        "orders.allocation",
    } <= kinds

    moved = orders.archive_finished_orders(actor=SYSTEM)

    assert moved == 1
    assert live_rows([order.pk]) == set()
    assert sorted(archived_rows([order.pk])) == sorted(every_row)
    archived = ArchivedOrder.objects.get(pk=order.pk)
    assert (archived.number, archived.channel_order_id, archived.status) == (
        order.number,
        order.channel_order_id,
        Status.COMPLETED,
    )
    assert archived.rows_of("orders.orderline")[0]["quantity"] == 2


@pytest.mark.django_db
def test_recent_open_and_held_back_orders_stay_live(product):
    recent = completed_order(product)
    open_order = place(lines=[(product, 1)])
    with_open_return = advance(place(lines=[(product, 1)]), "delivered")
    aftersales.request_return(
        with_open_return.pk,
        actor=SYSTEM,
        wanted_outcome=Outcome.REFUND,
        lines=[
            aftersales.ReturnLineInput(
                order_line_id=with_open_return.lines.get().pk, quantity=1, reason=ReturnReason.QUALITY
            )
        ],
    )
    cancelled_with_refund_owed = place(lines=[(product, 1)], payment_method="e_wallet", paid_amount=product.unit_price)
    orders.cancel(cancelled_with_refund_owed.pk, reason="Changed mind", actor=SYSTEM)
    Order.objects.filter(pk__in=[open_order.pk, with_open_return.pk]).update(placed_at=LONG_AGO)
    Order.objects.filter(pk=with_open_return.pk).update(status=Status.COMPLETED, completed_at=LONG_AGO)
    finished_long_ago(Order.objects.get(pk=cancelled_with_refund_owed.pk))

    assert orders.archive_finished_orders(actor=SYSTEM) == 0
    assert Order.objects.filter(pk__in=[recent.pk, open_order.pk, with_open_return.pk]).count() == 3
    assert Order.objects.filter(pk=cancelled_with_refund_owed.pk).exists()


@pytest.mark.django_db
def test_cancelled_orders_are_archived_by_when_they_were_cancelled(product):
    cancelled = place(lines=[(product, 1)])
    orders.cancel(cancelled.pk, reason="Changed mind", actor=SYSTEM)
    assert orders.archive_finished_orders(actor=SYSTEM) == 0
    finished_long_ago(Order.objects.get(pk=cancelled.pk))
    assert orders.archive_finished_orders(actor=SYSTEM) == 1
    assert ArchivedOrder.objects.get().status == Status.CANCELLED


@pytest.mark.django_db
def test_only_the_system_and_those_allowed_may_archive(product):
    with pytest.raises(PermissionDenied):
        orders.archive_finished_orders(actor=staff("Customer service"))


@pytest.mark.django_db
def test_the_archiving_age_is_a_setting(product, settings):
    order = completed_order(product)
    Order.objects.filter(pk=order.pk).update(completed_at=timezone.now() - timedelta(days=40))
    assert orders.archive_finished_orders(actor=SYSTEM) == 0
    settings.ARCHIVE_AFTER_DAYS = 30
    assert orders.archive_finished_orders(actor=SYSTEM) == 1


# --- stopped half-way ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_run_that_fails_between_batches_keeps_the_batches_done_and_the_next_run_finishes(product):
    finished = [completed_order(product, phone=f"1370000{n:04d}", address=f"路 {n} 号") for n in range(5)]
    finished_long_ago(*finished)
    ids = [order.pk for order in finished]
    every_row = live_rows(ids)
    batches = []

    def fail_on_the_third_batch(*, order_ids):
        batches.append(order_ids)
        if len(batches) == 3:
            raise RuntimeError("killed")
        return {}

    order_events.ORDERS_ARCHIVING.subscribe(fail_on_the_third_batch)
    try:
        with pytest.raises(RuntimeError):
            orders.archive_finished_orders(actor=SYSTEM, batch_size=2)
    finally:
        order_events.ORDERS_ARCHIVING.subscribers.remove(fail_on_the_third_batch)

    assert ArchivedOrder.objects.count() == 4
    assert_each_row_in_one_place(ids, every_row)
    assert orders.archive_finished_orders(actor=SYSTEM, batch_size=2) == 1
    assert_each_row_in_one_place(ids, every_row)
    assert live_rows(ids) == set()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_archive_orders_killed_mid_way_loses_nothing_and_resumes(product):
    finished = [completed_order(product, phone=f"1370001{n:04d}", address=f"街 {n} 号") for n in range(40)]
    finished_long_ago(*finished)
    ids = [order.pk for order in finished]
    every_row = live_rows(ids)
    settings_dict = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"
        ),
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "archive_orders", "--batch-size", "1"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        for line in process.stdout:
            if line.startswith("5 orders archived"):
                break
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)

    archived = ArchivedOrder.objects.count()
    assert 5 <= archived < 40, "the run was not stopped half-way"
    assert_each_row_in_one_place(ids, every_row)
    call_command("archive_orders", "--batch-size", "7", stdout=StringIO())
    assert_each_row_in_one_place(ids, every_row)
    assert ArchivedOrder.objects.count() == 40


# --- identity across live and archive -----------------------------------------------------------


@pytest.mark.django_db
def test_a_channel_reposting_an_archived_order_gets_already_placed_with_its_number(product):
    channel = ChannelFactory()
    order = completed_order(product, channel=channel, channel_order_id="SHOP-1")
    finished_long_ago(order)
    orders.archive_finished_orders(actor=SYSTEM)
    client = channel_client(channel)

    response = client.post(
        "/api/v1/orders/",
        {
            "channel_order_id": "SHOP-1",
            "recipient": "王小明",
            "phone": "13800138000",
            "province": "浙江省",
            "city": "杭州市",
            "address": "文三路 90 号",
            "payment_method": "cod",
            "lines": [{"sku": product.sku, "quantity": 1}],
        },
        format="json",
    )

    assert response.status_code == 409, response.content
    assert response.json()["order_number"] == order.number
    assert Order.objects.filter(channel=channel).count() == 0


@pytest.mark.django_db
def test_an_excel_import_or_any_placement_of_an_archived_id_is_answered_not_placed(product):
    channel = ChannelFactory()
    order = completed_order(product, channel=channel, channel_order_id="XL-1")
    finished_long_ago(order)
    orders.archive_finished_orders(actor=SYSTEM)

    [outcome] = orders.place_orders([order_input(channel, lines=[(product, 1)], channel_order_id="XL-1")], actor=SYSTEM)
    single = orders.place_order(order_input(channel, lines=[(product, 1)], channel_order_id="XL-1"), actor=SYSTEM)

    assert not outcome.created and outcome.order.number == order.number
    assert not single.created and single.order.number == order.number
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_archiving_the_newest_order_never_lets_its_number_be_given_again(product):
    order = completed_order(product)
    finished_long_ago(order)
    orders.archive_finished_orders(actor=SYSTEM)

    newer = place(lines=[(product, 1)])

    assert newer.pk > order.pk
    assert newer.number != order.number


# --- the channel API ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_channel_api_answers_an_archived_order_as_before_and_lists_only_live_ones(product):
    channel = ChannelFactory()
    order = completed_order(product, channel=channel)
    client = channel_client(channel)
    finished_long_ago(order)
    before = client.get(f"/api/v1/orders/{order.number}/").json()
    orders.archive_finished_orders(actor=SYSTEM)

    after = client.get(f"/api/v1/orders/{order.number}/")
    listed = client.get("/api/v1/orders/").json()

    assert after.status_code == 200
    assert after.json() == before
    assert after.json()["shipments"], "the parcels went with the order"
    assert order.number not in [row["number"] for row in listed["results"]]


@pytest.mark.django_db
def test_another_channel_cannot_read_an_archived_order(product):
    order = completed_order(product)
    finished_long_ago(order)
    orders.archive_finished_orders(actor=SYSTEM)

    response = channel_client(ChannelFactory(code="app", name="App")).get(f"/api/v1/orders/{order.number}/")

    assert response.status_code == 404


# --- rollups ------------------------------------------------------------------------------------


def rebuild_check():
    out = StringIO()
    call_command("rebuild_rollups", "--check", stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_rebuild_rollups_gives_the_same_figures_after_archiving(product):
    from analytics.models import ROLLUPS

    finished = [order_with_everything(product), completed_order(product, phone="13700009999", address="另一条路 1 号")]
    cancelled = place(lines=[(product, 1)], phone="13700008888", address="第三条路")
    orders.cancel(cancelled.pk, reason="Changed mind", actor=SYSTEM)
    place(lines=[(product, 1)], phone="13700007777", address="第四条路")
    finished_long_ago(*finished, Order.objects.get(pk=cancelled.pk))
    assert "agreed" in rebuild_check()
    stored = {model: sorted(model.objects.values_list(*model.KEY, *model.amount_fields())) for model in ROLLUPS}

    assert orders.archive_finished_orders(actor=SYSTEM) == 3

    assert "agreed" in rebuild_check()
    call_command("rebuild_rollups", stdout=StringIO())
    assert {model: sorted(model.objects.values_list(*model.KEY, *model.amount_fields())) for model in ROLLUPS} == stored


# --- the console --------------------------------------------------------------------------------


@pytest.fixture
def archived(product):
    order = completed_order(product, channel_order_id="WEB-77", phone="13912345678", recipient="李四")
    finished_long_ago(order)
    orders.archive_finished_orders(actor=SYSTEM)
    return ArchivedOrder.objects.get(pk=order.pk)


def console(role="Customer service"):
    client = Client()
    client.force_login(staff(role))
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("term", ["number", "139 1234 5678", "WEB-77"])
def test_the_archived_orders_view_finds_an_order_by_number_phone_or_channel_order_id(archived, term):
    term = archived.number if term == "number" else term
    response = console().get(reverse("admin:orders_archivedorder_changelist"), {"q": term})
    assert response.status_code == 200
    assert archived.number in response.content.decode()


@pytest.mark.django_db
def test_the_archived_orders_view_finds_nothing_for_another_term(archived):
    response = console().get(reverse("admin:orders_archivedorder_changelist"), {"q": "WEB-78"})
    assert archived.number not in response.content.decode()


@pytest.mark.django_db
def test_a_role_that_sees_phones_masked_cannot_search_the_archive_by_phone(archived):
    response = console("Warehouse operator").get(
        reverse("admin:orders_archivedorder_changelist"), {"q": "139 1234 5678"}
    )
    assert archived.number not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_archived_orders_page_is_printable_with_its_lines_parcels_and_events(archived, language):
    client = console()
    client.cookies["django_language"] = language
    response = client.get(
        reverse("admin:orders_archivedorder_change", args=[archived.pk]), HTTP_ACCEPT_LANGUAGE=language
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert archived.number in page and "data-print" in page
    assert archived.rows_of("logistics.shipment")[0]["tracking_number"] in page
    assert archived.rows_of("orders.orderline")[0]["sku"] in page
    assert f'<html lang="{language}">' in page


@pytest.mark.django_db
def test_the_archived_order_list_exports_through_the_spreadsheet_pipeline(archived):
    response = console().post(
        reverse("admin:orders_archivedorder_export") + f"?q={archived.number}",
        {"kind": "export_archived_orders", "file_format": "csv"},
    )
    assert response.status_code == 200, response.content[:500]
    content = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert len(rows) == 2
    assert archived.number in rows[1] and "WEB-77" in rows[1]


@pytest.mark.django_db
def test_the_order_list_offers_its_search_in_the_archive(archived):
    response = console().get(reverse("admin:orders_order_changelist"), {"q": "WEB-77"})
    page = response.content.decode()
    assert archived.number not in page
    assert reverse("admin:orders_archivedorder_changelist") + "?q=WEB-77" in page


@pytest.mark.django_db
def test_the_dashboards_after_sales_and_wrong_item_figures_stay_the_same_after_archiving(product):
    from aftersales.models import ReturnRequest
    from aftersales.services.feedback import feedback_token, give_feedback
    from analytics import selectors as dashboard

    manager = staff("Manager")
    order = advance(place(lines=[(product, 1)]), "delivered", actor=manager)
    give_feedback(feedback_token(order), rating=5)
    case = aftersales.request_return(
        order.pk,
        actor=SYSTEM,
        wanted_outcome=Outcome.REFUND,
        lines=[
            aftersales.ReturnLineInput(order_line_id=order.lines.get().pk, quantity=1, reason=ReturnReason.WRONG_ITEM)
        ],
    )
    # Settled long ago: the steps between do not matter to the figures.
    ReturnRequest.objects.filter(pk=case.pk).update(status=ReturnRequest.Status.CLOSED)
    Order.objects.filter(pk=order.pk).update(status=Status.COMPLETED, completed_at=LONG_AGO)
    today = timezone.localdate()
    filters = dashboard.Filters(period=dashboard.Period(today, today))
    totals, wrong_items = dashboard.after_sales_totals(filters), dashboard.wrong_item_returns(filters)
    assert totals[0]["returns"] == 1 and totals[0]["ratings"] == 1 and wrong_items == {manager.pk: 1}

    assert orders.archive_finished_orders(actor=SYSTEM) == 1

    assert dashboard.after_sales_totals(filters) == totals
    assert dashboard.wrong_item_returns(filters) == wrong_items


@pytest.mark.django_db
def test_a_replacement_order_waits_for_the_return_that_points_at_it(product):
    from aftersales.models import ReturnRequest

    original = completed_order(product, phone="13700001111", address="换货路 1 号")
    replacement = completed_order(product, phone="13700002222", address="换货路 2 号")
    ReturnRequest.objects.create(
        order=original,
        replacement_order=replacement,
        wanted_outcome=Outcome.EXCHANGE,
        status=ReturnRequest.Status.CLOSED,
        window_days=7,
        within_window=True,
    )
    finished_long_ago(replacement)

    assert orders.archive_finished_orders(actor=SYSTEM) == 0
    finished_long_ago(original)
    assert orders.archive_finished_orders(actor=SYSTEM, batch_size=1) == 2
    assert set(ArchivedOrder.objects.values_list("pk", flat=True)) == {original.pk, replacement.pk}
