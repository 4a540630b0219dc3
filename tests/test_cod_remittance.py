"""Carriers' cash-on-delivery remittances (docs/architecture.md, "Cash-on-delivery remittance"):
delivery leaves the cash owed by the carrier; a remittance file records it per parcel, lists every
mismatch, is counted once per batch reference; what is not remitted yet is aged per carrier on the
reconciliation page; completion waits for the remittance."""

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from core import jobs
from core.actors import SYSTEM
from core.tasks import check_import, run_import
from logistics import services as logistics
from logistics.models import Carrier, CodRemittance, CodRemittanceLine, Shipment
from logistics.remittance_sheet import REMITTANCE_IMPORT
from orders import selectors
from orders import services as orders
from orders.models import Order, Payment
from orders.services.acceptance import complete_delivered_orders
from tests.factories import (
    CarrierFactory,
    ProductFactory,
    WarehouseFactory,
    advance,
    order_input,
    place_apart,
    staff,
    stock,
)

pytestmark = pytest.mark.django_db

Problem = CodRemittanceLine.Problem


@pytest.fixture
def product():
    item = ProductFactory(unit_price=Decimal("25.00"))
    stock(item, WarehouseFactory(), 50)
    return item


@pytest.fixture
def carrier():
    return CarrierFactory(cod_fee_percent=Decimal("1.00"), cod_fee_minimum=Decimal("2.00"))


@pytest.fixture
def finance():
    return staff("Finance")


def delivered(product, quantity=2, **overrides):
    """A cash-on-delivery order of `quantity` units at 25.00, delivered; returns its parcel."""
    order = advance(place_apart(lines=[(product, quantity)], **overrides), "delivered", remitted=False)
    return order.shipments.get()


def line(row, shipment_or_number, amount, fee="2.00", reference="SF-2026-001"):
    number = getattr(shipment_or_number, "tracking_number", shipment_or_number)
    return {
        "row": row,
        "tracking_number": number,
        "amount": Decimal(amount),
        "fee": Decimal(fee),
        "remitted_on": date(2026, 12, 1),
        "reference": reference,
    }


def fresh(order):
    return Order.objects.get(pk=order.pk)


def test_the_contract_fee_is_the_percentage_never_below_the_minimum():
    carrier = Carrier(cod_fee_percent=Decimal("1.50"), cod_fee_minimum=Decimal("2.00"))

    assert carrier.cod_fee_allowed(Decimal("100.00")) == Decimal("2.00")
    assert carrier.cod_fee_allowed(Decimal("1000.00")) == Decimal("15.00")
    assert carrier.cod_fee_allowed(Decimal("133.33")) == Decimal("2.00")
    assert carrier.cod_fee_allowed(Decimal("199.99")) == Decimal("3.00")


def test_delivery_leaves_the_cash_with_the_carrier_and_the_remittance_records_it(product, carrier, finance):
    parcel = delivered(product)
    assert fresh(parcel.order).amount_paid == 0

    recorded = logistics.record_remittance(carrier.pk, [line(2, parcel, "50.00")], file_name="sf.xlsx", actor=finance)

    [remittance] = recorded.remittances
    order = fresh(parcel.order)
    assert (order.payment_status, order.amount_paid) == (Order.PaymentStatus.PAID, Decimal("50.00"))
    [payment] = order.payments.all()
    assert (payment.method, payment.reference, payment.recorded_by) == ("cod", "SF-2026-001", finance)
    saved = CodRemittanceLine.objects.get()
    assert (saved.shipment_id, saved.recorded, saved.problem, saved.due, saved.fee_allowed) == (
        parcel.pk,
        True,
        "",
        Decimal("50.00"),
        Decimal("2.00"),
    )
    remittance.refresh_from_db()
    assert (remittance.line_count, remittance.mismatch_count, remittance.amount_total, remittance.fee_total) == (
        1,
        0,
        Decimal("50.00"),
        Decimal("2.00"),
    )
    assert (remittance.recorded_total, remittance.net_total, remittance.uploaded_by) == (
        Decimal("50.00"),
        Decimal("48.00"),
        finance,
    )


def test_every_kind_of_mismatch_is_listed_and_only_a_fee_above_the_contract_is_recorded(product, carrier, finance):
    good, short, dear, twice, earlier = (delivered(product) for _index in range(5))
    by_card = delivered(product, payment_method="card", paid_amount="50.00")
    on_the_way = advance(place_apart(lines=[(product, 2)]), "shipped").shipments.get()
    logistics.record_remittance(carrier.pk, [line(2, earlier, "50.00", reference="OLD")], file_name="a", actor=finance)

    logistics.record_remittance(
        carrier.pk,
        [
            line(2, good, "50.00"),
            line(3, short, "45.00"),
            line(4, dear, "50.00", fee="2.01"),
            line(5, "SF9999999999", "10.00"),
            line(6, twice, "50.00"),
            line(7, twice, "50.00"),
            line(8, earlier, "50.00"),
            line(9, by_card, "50.00"),
            line(10, on_the_way, "50.00"),
        ],
        file_name="b.xlsx",
        actor=finance,
    )

    lines = {
        saved.row: (saved.problem, saved.recorded)
        for saved in CodRemittanceLine.objects.filter(remittance__reference="SF-2026-001")
    }
    assert lines == {
        2: ("", True),
        3: (Problem.AMOUNT_DIFFERS, False),
        4: (Problem.FEE_ABOVE_CONTRACT, True),
        5: (Problem.UNKNOWN, False),
        6: ("", True),
        7: (Problem.DUPLICATE, False),
        8: (Problem.ALREADY_REMITTED, False),
        9: (Problem.NOT_COD, False),
        10: (Problem.NOT_DELIVERED, False),
    }
    details = dict(CodRemittanceLine.objects.exclude(problem="").values_list("row", "detail"))
    assert details[3] == "45.00 collected, 50.00 was due."
    assert details[4] == "Fee 2.01, the contract allows 2.00."
    assert details[7] == "Also on row 6 of this file."
    assert details[8] == "Remitted already in batch OLD."
    paid = {shipment.order_id: fresh(shipment.order).amount_paid for shipment in (good, short, dear, twice, earlier)}
    assert paid == {
        good.order_id: Decimal("50.00"),
        short.order_id: Decimal("0.00"),
        dear.order_id: Decimal("50.00"),
        twice.order_id: Decimal("50.00"),
        earlier.order_id: Decimal("50.00"),
    }
    assert Payment.objects.filter(order=twice.order).count() == 1
    remittance = CodRemittance.objects.get(reference="SF-2026-001")
    assert (remittance.line_count, remittance.mismatch_count, remittance.recorded_total) == (9, 7, Decimal("150.00"))


def test_the_same_batch_uploaded_again_is_refused_and_counts_nothing_twice(product, carrier, finance):
    parcel = delivered(product)
    lines = [line(2, parcel, "50.00")]
    logistics.record_remittance(carrier.pk, lines, file_name="sf.xlsx", actor=finance)

    with pytest.raises(logistics.UploadRefused) as refused:
        logistics.record_remittance(carrier.pk, lines, file_name="sf copy.xlsx", actor=finance)

    assert refused.value.problems[0][:2] == (2, "reference")
    assert "Batch SF-2026-001 of SF Express was recorded on" in refused.value.problems[0][2]
    assert "from sf.xlsx; a batch is counted once." in refused.value.problems[0][2]
    assert Payment.objects.filter(order=parcel.order).count() == 1
    assert CodRemittance.objects.count() == 1 and CodRemittanceLine.objects.count() == 1


def test_another_carrier_may_use_the_same_batch_reference(product, carrier, finance):
    zto = CarrierFactory(code="zto", name="ZTO Express")
    sf_parcel = delivered(product)
    logistics.record_remittance(carrier.pk, [line(2, sf_parcel, "50.00", reference="B1")], file_name="a", actor=finance)

    logistics.record_remittance(
        zto.pk, [line(2, "731234567890", "10.00", reference="B1")], file_name="b", actor=finance
    )

    assert CodRemittance.objects.filter(reference="B1").count() == 2
    assert CodRemittanceLine.objects.get(remittance__carrier=zto).problem == Problem.UNKNOWN


def test_a_file_of_two_batches_makes_two_remittances(product, carrier, finance):
    first, second = delivered(product), delivered(product, quantity=1)

    recorded = logistics.record_remittance(
        carrier.pk,
        [line(2, first, "50.00", reference="B1"), line(3, second, "25.00", reference="B2")],
        file_name="two.csv",
        actor=finance,
    )

    assert sorted((r.reference, r.line_count, r.recorded_total) for r in recorded.remittances) == [
        ("B1", 1, Decimal("50.00")),
        ("B2", 1, Decimal("25.00")),
    ]


def test_roles_other_than_finance_and_managers_may_not_record_remittances(product, carrier):
    parcel = delivered(product)
    for role in ("Warehouse operator", "Logistics coordinator", "Customer service"):
        with pytest.raises(PermissionDenied):
            logistics.record_remittance(carrier.pk, [line(2, parcel, "50.00")], file_name="a", actor=staff(role))
    logistics.record_remittance(carrier.pk, [line(2, parcel, "50.00")], file_name="a", actor=staff("Manager"))
    assert fresh(parcel.order).amount_paid == Decimal("50.00")


def test_cod_outstanding_is_aged_per_carrier_until_remitted(product, carrier, finance):
    zto = CarrierFactory(code="zto", name="ZTO Express")
    now = timezone.now()
    parcels = [delivered(product) for _index in range(4)]
    for parcel, days in zip(parcels, (1, 10, 20, 40), strict=True):
        Shipment.objects.filter(pk=parcel.pk).update(delivered_at=now - timedelta(days=days, hours=1))
    Shipment.objects.filter(pk=parcels[3].pk).update(carrier=zto)
    delivered(product, payment_method="card", paid_amount="50.00")

    rows = selectors.cod_outstanding(now)

    assert [(row["carrier"], row["currency"], row["parcels"], row["amount"]) for row in rows] == [
        ("SF Express", "CNY", 3, Decimal("150.00")),
        ("ZTO Express", "CNY", 1, Decimal("50.00")),
    ]
    assert rows[0]["ages"] == [(1, Decimal("50.00")), (1, Decimal("50.00")), (1, Decimal("50.00")), (0, 0)]
    assert rows[1]["ages"] == [(0, 0), (0, 0), (0, 0), (1, Decimal("50.00"))]

    logistics.record_remittance(carrier.pk, [line(2, parcels[0], "50.00")], file_name="a", actor=finance)

    assert [(row["carrier"], row["parcels"]) for row in selectors.cod_outstanding(now)] == [
        ("SF Express", 2),
        ("ZTO Express", 1),
    ]


def test_completion_waits_for_the_remittance(product, carrier, finance, settings):
    parcel = delivered(product)
    later = timezone.now() + timedelta(days=settings.ACCEPTANCE_WINDOW_DAYS + 1)

    run = complete_delivered_orders(now=later)

    assert (run.completed, run.held_back) == (0, 1)
    assert fresh(parcel.order).status == Order.Status.DELIVERED
    logistics.record_remittance(carrier.pk, [line(2, parcel, "50.00")], file_name="a", actor=finance)

    assert complete_delivered_orders(now=later).completed == 1
    assert fresh(parcel.order).status == Order.Status.COMPLETED


def test_a_merged_parcel_is_due_what_all_its_orders_owe(product, carrier, finance):
    buyer = {"phone": "13700000001", "address": "延安路 1 号"}
    first = orders.place_order(order_input(lines=[(product, 1)], **buyer), actor=SYSTEM).order
    second = orders.place_order(order_input(first.channel, lines=[(product, 2)], **buyer), actor=SYSTEM).order
    orders.merge_orders([first.pk, second.pk], actor=staff("Order reviewer"))
    parcel = advance(first, "delivered", remitted=False).shipments.get()

    logistics.record_remittance(carrier.pk, [line(2, parcel, "75.00")], file_name="a", actor=finance)

    assert (fresh(first).amount_paid, fresh(second).amount_paid) == (Decimal("25.00"), Decimal("50.00"))
    assert CodRemittanceLine.objects.get().order_numbers == f"{fresh(first).number}, {fresh(second).number}"


# The console ------------------------------------------------------------------------------------


def workbook(rows, headers=("运单号", "代收金额", "手续费", "日期", "批次号")):
    book = Workbook()
    sheet = book.active
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "remittance.xlsx"
    return out


def test_finance_uploads_previews_confirms_and_reads_the_batch_with_its_mismatches(product, carrier, finance):
    parcel, short = delivered(product), delivered(product)
    client = Client()
    client.force_login(finance)
    upload = reverse("admin:logistics_codremittance_import")

    assert client.get(upload).status_code == 200
    answer = client.post(
        upload,
        {
            "carrier": carrier.pk,
            "file": workbook(
                [
                    (parcel.tracking_number, 50, 2, "2026-12-01", "SF-B9"),
                    (short.tracking_number, "40.00", 2, "2026-12-01", "SF-B9"),
                ]
            ),
        },
    )
    job = jobs.jobs_of([REMITTANCE_IMPORT.kind]).first()
    assert answer.status_code == 302 and job.status == jobs.Status.PREVIEWED
    preview = client.get(answer.url).content.decode()
    assert "40.00 collected, 50.00 was due." in preview
    assert not Payment.objects.exists() and not CodRemittance.objects.exists()

    confirmed = client.post(reverse("admin:logistics_codremittance_import_confirm", args=[job.pk]))

    assert confirmed.status_code == 302
    remittance = CodRemittance.objects.get()
    assert (remittance.reference, remittance.line_count, remittance.mismatch_count) == ("SF-B9", 2, 1)
    assert fresh(parcel.order).amount_paid == Decimal("50.00")
    page = client.get(reverse("admin:logistics_codremittance_change", args=[remittance.pk])).content.decode()
    assert "Amount differs from what was due" in page and short.tracking_number in page
    excel = client.get(reverse("admin:logistics_codremittance_mismatches", args=[remittance.pk]))
    sheet = load_workbook(io.BytesIO(excel.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][1] == short.tracking_number and rows[1][9] == "Amount differs from what was due"


def test_a_large_file_is_checked_and_recorded_by_a_worker_while_the_page_follows_it(
    product, carrier, finance, settings
):
    settings.IMPORT_BACKGROUND_ROWS = 1
    # Queued tasks stay queued until the test runs them, as a worker would.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    parcels = [delivered(product), delivered(product)]
    client = Client()
    client.force_login(finance)
    rows = [(parcel.tracking_number, 50, 2, "2026-12-01", "SF-B7") for parcel in parcels]

    answer = client.post(
        reverse("admin:logistics_codremittance_import"), {"carrier": carrier.pk, "file": workbook(rows)}
    )

    job = jobs.jobs_of([REMITTANCE_IMPORT.kind]).get()
    assert (job.status, job.parameters["task"]) == (jobs.Status.QUEUED, "core.tasks.check_import")
    assert "Waiting for a worker to start" in client.get(answer.url).content.decode()
    status = client.get(reverse("admin:logistics_codremittance_import_status", args=[job.pk])).json()
    assert (status["status"], status["finished"]) == ("queued", False)

    check_import.call(job.pk)

    job.refresh_from_db()
    assert job.status == jobs.Status.PREVIEWED and not CodRemittance.objects.exists()
    assert client.get(reverse("admin:logistics_codremittance_import_status", args=[job.pk])).json()["finished"]
    client.post(reverse("admin:logistics_codremittance_import_confirm", args=[job.pk]))
    job.refresh_from_db()
    assert (job.status, job.parameters["task"]) == (jobs.Status.QUEUED, "core.tasks.run_import")
    assert fresh(parcels[0].order).amount_paid == 0

    run_import.call(job.pk)

    job.refresh_from_db()
    assert job.status == jobs.Status.DONE
    assert CodRemittance.objects.get().line_count == 2
    assert [fresh(parcel.order).amount_paid for parcel in parcels] == [Decimal("50.00"), Decimal("50.00")]


def test_the_same_file_uploaded_again_stops_at_its_preview(product, carrier, finance):
    parcel = delivered(product)
    client = Client()
    client.force_login(finance)
    rows = [(parcel.tracking_number, 50, 2, "2026-12-01", "SF-B9")]
    headers = ("tracking number", "amount collected", "fee", "date", "batch reference")
    upload = reverse("admin:logistics_codremittance_import")
    first = client.post(upload, {"carrier": carrier.pk, "file": workbook(rows, headers)})
    client.post(first.url + "confirm/")

    again = client.post(upload, {"carrier": carrier.pk, "file": workbook(rows, headers)})

    page = client.get(again.url).content.decode()
    assert "a batch is counted once" in page
    assert Payment.objects.count() == 1 and CodRemittance.objects.count() == 1


def test_a_cell_that_cannot_be_read_is_named_by_row_and_column(product, carrier, finance):
    client = Client()
    client.force_login(finance)
    answer = client.post(
        reverse("admin:logistics_codremittance_import"),
        {"carrier": carrier.pk, "file": workbook([("SF1", "fifty", 2, "2026-12-01", "B")])},
    )

    page = client.get(answer.url).content.decode()
    assert "Enter an amount such as 12.50." in page and "代收金额" in page
    assert not CodRemittance.objects.exists()


def test_a_batch_reference_longer_than_its_column_is_refused_on_its_cell(product, carrier, finance):
    client = Client()
    client.force_login(finance)
    answer = client.post(
        reverse("admin:logistics_codremittance_import"),
        {"carrier": carrier.pk, "file": workbook([("SF1", "50", 2, "2026-12-01", "B" * 101)])},
    )

    page = client.get(answer.url).content.decode()
    assert "Keep it to 100 characters at most." in page and "批次号" in page
    assert not CodRemittance.objects.exists()


def test_the_reconciliation_page_shows_cod_outstanding_per_carrier(product, carrier, finance):
    delivered(product)
    client = Client()
    client.force_login(finance)

    page = client.get(reverse("admin:orders_payment_changelist")).content.decode()

    assert 'class="oc-cod-outstanding"><td>SF Express</td><td>CNY</td>' in page


def test_warehouse_operators_see_no_remittances(carrier):
    client = Client()
    client.force_login(staff("Warehouse operator"))

    assert client.get(reverse("admin:logistics_codremittance_changelist")).status_code == 403
    assert client.get(reverse("admin:logistics_codremittance_import")).status_code == 403
