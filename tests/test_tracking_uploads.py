"""Uploads in the shipping console: a sheet of tracking numbers that dispatches packed parcels, and a
carrier's file of tracking events. Both are previewed with every problem by row and column (named
as the file's header names it, as every import names it), and applied all or nothing on
confirmation."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from core.actors import SYSTEM
from logistics import services
from logistics.models import Shipment, TrackingEvent
from orders.models import Order
from tests.factories import CarrierFactory, ProductFactory, WarehouseFactory, advance, place, staff, stock

pytestmark = pytest.mark.django_db

DISPATCH_UPLOAD = "admin:logistics_shipment_dispatch_upload"
EVENTS_UPLOAD = "admin:logistics_shipment_events_upload"


def xlsx(rows, name="upload.xlsx"):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def csv_file(rows, name="upload.csv", encoding="utf-8-sig"):
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return SimpleUploadedFile(name, text.getvalue().encode(encoding))


def upload(client, url_name, file):
    return client.post(reverse(url_name), {"file": file})


def confirm(client, url_name, preview):
    assert preview.context["payload"], preview.context["problems"]
    return client.post(reverse(url_name), {"payload": preview.context["payload"]})


def problems(response):
    return [(p["row"], str(p["column"]), p["message"]) for p in response.context["problems"]]


@pytest.fixture
def product():
    product = ProductFactory()
    stock(product, WarehouseFactory(), 50)
    return product


@pytest.fixture
def carrier():
    return CarrierFactory()


@pytest.fixture
def coordinator(client):
    user = staff("Logistics coordinator")
    client.force_login(user)
    return user


def packed_orders(product, count):
    return [advance(place(lines=[(product, 1)]), "packed") for _index in range(count)]


def status_of(order):
    order.refresh_from_db()
    return order.status


# Dispatch by upload -----------------------------------------------------------------------------


def test_a_clean_sheet_is_previewed_and_nothing_moves_until_it_is_confirmed(client, coordinator, product, carrier):
    first, second = packed_orders(product, 2)
    CarrierFactory(code="ems", name="EMS", tracking_url_template="")
    sheet = xlsx(
        [
            ["Order number", "Carrier", "Tracking number"],
            [first.number, "sf", "SF5550000000024"],
            [second.number, "EMS", 9812345678901],
        ]
    )

    preview = upload(client, DISPATCH_UPLOAD, sheet)

    assert preview.status_code == 200 and problems(preview) == []
    assert [row["planned"].shipment.order for row in preview.context["rows"]] == [first, second]
    assert (status_of(first), status_of(second)) == (Order.Status.PACKED, Order.Status.PACKED)

    response = confirm(client, DISPATCH_UPLOAD, preview)

    assert response.url == reverse("admin:logistics_shipment_changelist")
    assert (status_of(first), status_of(second)) == (Order.Status.SHIPPED, Order.Status.SHIPPED)
    assert second.shipments.get().tracking_number == "9812345678901"
    assert first.shipments.get().dispatched_by == coordinator


def test_a_sheet_with_chinese_headers_and_carrier_names_dispatches_too(client, coordinator, product, carrier):
    (order,) = packed_orders(product, 1)
    sheet = csv_file(
        [["订单号", "快递公司", "运单号"], [order.number.lower(), "sf express", "SF5550000000025"]], encoding="gb18030"
    )

    confirm(client, DISPATCH_UPLOAD, upload(client, DISPATCH_UPLOAD, sheet))

    parcel = order.shipments.get()
    assert (parcel.status, parcel.carrier, parcel.tracking_number) == (
        Shipment.Status.SHIPPED,
        carrier,
        "SF5550000000025",
    )


def test_a_number_of_another_carrier_or_of_no_carrier_is_refused_on_its_row_and_column(
    client, coordinator, product, carrier
):
    CarrierFactory(code="zto", name="ZTO Express", tracking_url_template="")
    first, second, third = packed_orders(product, 3)
    sheet = xlsx(
        [
            ["订单号", "快递公司", "运单号"],
            [first.number, "sf", "SF1234567890123"],
            [second.number, "sf", "731234567890"],
            [third.number, "sf", "SF12"],
        ]
    )

    preview = upload(client, DISPATCH_UPLOAD, sheet)

    assert problems(preview) == [
        (3, "运单号", "731234567890 is a ZTO Express tracking number, not SF Express."),
        (4, "运单号", "SF12 does not look like a SF Express tracking number: check it against the label."),
    ]
    assert not preview.context["payload"]
    assert status_of(first) == Order.Status.PACKED


def test_every_problem_is_named_by_row_and_column_and_nothing_is_dispatched(client, coordinator, product, carrier):
    good, other = packed_orders(product, 2)
    sheet = xlsx(
        [
            ["Order number", "Carrier", "Tracking number"],
            [good.number, "sf", "SF5550000000026"],
            ["OC000000-999999", "sf", "SF5550000000027"],
            [other.number, "Pigeon Post", "SF5550000000028"],
            [other.number, "sf", ""],
            [good.number, "sf", "SF5550000000026"],
        ]
    )

    preview = upload(client, DISPATCH_UPLOAD, sheet)

    found = problems(preview)
    assert [(row, column) for row, column, _message in found] == [
        (3, "Order number"),
        (4, "Carrier"),
        (5, "Tracking number"),
        (6, "Tracking number"),
    ]
    assert "There is no order OC000000-999999." in found[0][2]
    assert "No active carrier “Pigeon Post”" in found[1][2]
    assert "Row 2 already has this tracking number." in found[3][2]
    assert preview.context["payload"] == ""
    assert 'name="payload"' not in preview.content.decode()
    assert (status_of(good), status_of(other)) == (Order.Status.PACKED, Order.Status.PACKED)


def test_a_missing_column_is_reported_on_the_header_row(client, coordinator):
    preview = upload(client, DISPATCH_UPLOAD, xlsx([["Order number", "Tracking number"], ["OC1", "SF5550000000034"]]))

    assert problems(preview) == [(1, "carrier / 承运商", "The column “carrier / 承运商” is missing.")]


def test_a_row_failing_at_confirmation_undoes_the_whole_sheet(client, coordinator, product, carrier):
    first, second = packed_orders(product, 2)
    sheet = xlsx(
        [
            ["order number", "carrier", "tracking number"],
            [first.number, "sf", "SF5550000000029"],
            [second.number, "sf", "SF5550000000030"],
        ]
    )
    preview = upload(client, DISPATCH_UPLOAD, sheet)
    # Between preview and confirmation someone dispatches the second order from its page.
    services.dispatch(second.shipments.get().pk, carrier_id=carrier.pk, tracking_number="SF5550000000004", actor=SYSTEM)

    response = confirm(client, DISPATCH_UPLOAD, preview)

    assert response.status_code == 200
    assert [(row, column) for row, column, _message in problems(response)] == [(3, "order number")]
    assert status_of(first) == Order.Status.PACKED
    assert first.shipments.get().tracking_number == ""


def test_an_order_with_two_packed_parcels_takes_two_rows(client, coordinator, carrier):
    product = ProductFactory()
    stock(product, WarehouseFactory(), 2)
    stock(product, WarehouseFactory(), 2)
    order = advance(place(lines=[(product, 4)]), "packed")
    assert order.shipments.filter(status=Shipment.Status.PACKED).count() == 2
    header = ["Order number", "Carrier", "Tracking number"]

    one_row = upload(client, DISPATCH_UPLOAD, xlsx([header, [order.number, "sf", "SF5550000000001"]]))
    three_rows = upload(
        client,
        DISPATCH_UPLOAD,
        xlsx(
            [
                header,
                [order.number, "sf", "SF5550000000003"],
                [order.number, "sf", "SF5550000000005"],
                [order.number, "sf", "SF5550000000006"],
            ]
        ),
    )
    assert [(row, column) for row, column, _message in problems(three_rows)] == [(4, "Order number")]

    confirm(client, DISPATCH_UPLOAD, one_row)
    assert status_of(order) == Order.Status.PARTIALLY_SHIPPED
    confirm(
        client,
        DISPATCH_UPLOAD,
        upload(client, DISPATCH_UPLOAD, xlsx([header, [order.number, "sf", "SF5550000000007"]])),
    )
    assert status_of(order) == Order.Status.SHIPPED
    assert sorted(order.shipments.values_list("tracking_number", flat=True)) == ["SF5550000000001", "SF5550000000007"]


def test_a_parcel_given_its_number_ahead_is_dispatched_by_the_row_with_that_number(
    client, coordinator, product, carrier
):
    (order,) = packed_orders(product, 1)
    parcel = order.shipments.get()
    services.assign_tracking_number(parcel.pk, carrier.pk, "SF5550000000002", actor=SYSTEM)

    confirm(
        client,
        DISPATCH_UPLOAD,
        upload(
            client,
            DISPATCH_UPLOAD,
            xlsx([["Order number", "Carrier", "Tracking number"], [order.number, "sf", "SF5550000000002"]]),
        ),
    )

    parcel.refresh_from_db()
    assert (parcel.status, parcel.tracking_number) == (Shipment.Status.SHIPPED, "SF5550000000002")


def test_a_tampered_preview_is_refused(client, coordinator, product, carrier):
    (order,) = packed_orders(product, 1)
    preview = upload(
        client,
        DISPATCH_UPLOAD,
        xlsx([["Order number", "Carrier", "Tracking number"], [order.number, "sf", "SF5550000000031"]]),
    )

    response = client.post(reverse(DISPATCH_UPLOAD), {"payload": preview.context["payload"] + "x"})

    assert response.url == reverse(DISPATCH_UPLOAD)
    assert status_of(order) == Order.Status.PACKED


def test_the_dispatch_template_downloads_with_headers_in_the_persons_language(client, coordinator):
    english = client.get(reverse("admin:logistics_shipment_dispatch_template"))
    chinese = client.get(reverse("admin:logistics_shipment_dispatch_template"), HTTP_ACCEPT_LANGUAGE="zh-hans")

    def headers(response):
        return [cell.value for cell in next(load_workbook(io.BytesIO(response.content)).active.iter_rows())]

    assert headers(english) == ["order number", "carrier", "tracking number"]
    assert headers(chinese) == ["订单号", "承运商", "运单号"]


def test_customer_service_may_not_dispatch_by_upload(client, product):
    client.force_login(staff("Customer service"))

    assert client.get(reverse(DISPATCH_UPLOAD)).status_code == 403


# Tracking events by upload ----------------------------------------------------------------------


@pytest.fixture
def shipped(product, carrier):
    orders = packed_orders(product, 2)
    return [
        services.dispatch(
            order.shipments.get().pk, carrier_id=carrier.pk, tracking_number=f"SF{5550000000017 + index}", actor=SYSTEM
        )
        for index, order in enumerate(orders)
    ]


EVENT_HEADER_ZH = ["运单号", "承运商", "时间", "状态", "异常类型", "地点", "描述"]


def test_an_events_file_with_chinese_headers_moves_the_parcels(client, coordinator, shipped):
    first, second = shipped
    sheet = csv_file(
        [
            EVENT_HEADER_ZH,
            ["SF5550000000017", "sf", "2025-03-01 09:00", "in_transit", "", "杭州", "已揽收"],
            ["SF5550000000017", "sf", "2025/03/02 10:30", "delivered", "", "上海", "已签收"],
            ["SF5550000000018", "SF Express", "2025-03-02T08:00:00+08:00", "exception", "address_problem", "北京", ""],
        ]
    )

    preview = upload(client, EVENTS_UPLOAD, sheet)
    assert problems(preview) == []
    confirm(client, EVENTS_UPLOAD, preview)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status, second.exception_kind) == (
        Shipment.Status.DELIVERED,
        Shipment.Status.EXCEPTION,
        "address_problem",
    )
    assert status_of(first.order) == Order.Status.DELIVERED
    assert set(TrackingEvent.objects.values_list("source", flat=True)) == {TrackingEvent.Source.UPLOAD}
    assert first.events.get(status="in_transit").location == "杭州"


def test_events_already_known_are_shown_as_such_and_skipped(client, coordinator, shipped):
    first, _second = shipped
    header = ["tracking number", "carrier", "time", "status"]
    known = xlsx([header, ["SF5550000000017", "sf", "2025-03-01 09:00", "in_transit"]])
    confirm(client, EVENTS_UPLOAD, upload(client, EVENTS_UPLOAD, known))

    preview = upload(
        client,
        EVENTS_UPLOAD,
        xlsx(
            [
                header,
                ["SF5550000000017", "sf", "2025-03-01 09:00", "in_transit"],
                ["SF5550000000017", "sf", "2025-03-01 12:00", "out_for_delivery"],
                ["SF5550000000017", "sf", "2025-03-01 12:00", "out_for_delivery"],
            ]
        ),
    )
    assert [row["planned"].already_known for row in preview.context["rows"]] == [True, False, True]
    response = client.post(reverse(EVENTS_UPLOAD), {"payload": preview.context["payload"]}, follow=True)

    assert first.events.count() == 2
    texts = [str(message) for message in response.context["messages"]]
    assert "1 tracking event recorded." in texts
    assert "2 events were already known and were skipped." in texts


def test_a_bad_events_row_names_its_cell_and_nothing_is_recorded(client, coordinator, shipped):
    header = ["tracking number", "carrier", "time", "status", "exception kind"]
    sheet = xlsx(
        [
            header,
            ["SF5550000000017", "sf", "2025-03-01 09:00", "in_transit", ""],
            ["SF5550000000018", "sf", "yesterday", "in_transit", ""],
            ["SF5550000000018", "sf", "2025-03-01 09:00", "teleported", ""],
            ["SF5550000000018", "sf", "2025-03-01 10:00", "exception", ""],
            ["SF5550000000011", "sf", "2025-03-01 10:00", "in_transit", ""],
        ]
    )

    preview = upload(client, EVENTS_UPLOAD, sheet)

    assert [(row, column) for row, column, _message in problems(preview)] == [
        (3, "time"),
        (4, "status"),
        (5, "exception kind"),
        (6, "tracking number"),
    ]
    assert preview.context["payload"] == ""
    assert not TrackingEvent.objects.exists()


def test_an_events_file_is_all_or_nothing_at_confirmation(client, coordinator, shipped):
    first, second = shipped
    sheet = xlsx(
        [
            ["tracking number", "carrier", "time", "status"],
            ["SF5550000000017", "sf", "2025-03-01 09:00", "in_transit"],
            ["SF5550000000018", "sf", "2025-03-01 09:00", "in_transit"],
        ]
    )
    preview = upload(client, EVENTS_UPLOAD, sheet)
    # Before the confirmation the second parcel gets another label: row 3 no longer finds it.
    Shipment.objects.filter(pk=second.pk).update(tracking_number="SF5550000000015")

    response = confirm(client, EVENTS_UPLOAD, preview)

    assert [(row, column) for row, column, _message in problems(response)] == [(3, "tracking number")]
    assert not TrackingEvent.objects.exists()


def test_a_warehouse_operator_may_not_upload_tracking_events(client):
    client.force_login(staff("Warehouse operator"))

    assert client.get(reverse(EVENTS_UPLOAD)).status_code == 403
    assert client.get(reverse("admin:logistics_shipment_events_template")).status_code == 403
