"""The one spreadsheet pipeline under every import and export: an order-lines export, in English or
Chinese, as Excel or CSV, uploads again as an order import with no errors and every order
recognised as imported before; the console's own workbooks (written without their dimensions) are
sized by reading them; cells are read the same way in every import; and the apps offer their
exports through core.events."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook, load_workbook

from core.events import EXPORTS_OFFERED
from core.models import Job
from core.spreadsheets import reading
from core.spreadsheets.exports import export_of_kind
from inventory.exports import PURCHASE_ORDER_LINES
from logistics.exports import CLAIMS, SHIPMENTS
from orders import importers
from orders.exports import ARCHIVED_ORDERS, ORDER_LINES, ORDERS
from orders.importers.columns import ORDER_COLUMNS
from orders.models import Order
from tests.factories import CarrierFactory, ProductFactory, WarehouseFactory, advance, place, staff, stock

pytestmark = pytest.mark.django_db

ORDER_EXPORT = reverse("admin:orders_order_export")
ORDER_IMPORT = reverse("admin:orders_order_import")


@pytest.fixture
def shop():
    warehouse = WarehouseFactory()
    tea, cup = ProductFactory(sku="TEA-001", name="龙井茶"), ProductFactory(sku="CUP-002", name="Tea cup")
    stock(tea, warehouse, 100)
    stock(cup, warehouse, 100)
    return {"tea": tea, "cup": cup}


@pytest.fixture
def clerk(client):
    user = staff("Customer service")
    client.force_login(user)
    return user


def named(content, name):
    file = io.BytesIO(content)
    file.name = name
    return file


def exported(client, file_format, language):
    """The order list exported one row per order line, as the console hands it out."""
    response = client.post(
        ORDER_EXPORT,
        {"file_format": file_format, "kind": ORDER_LINES.kind.code},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def uploaded(client, content, file_name):
    """The file uploaded as an order import in the console; returns its checked job."""
    response = client.post(ORDER_IMPORT, {"file": named(content, file_name)})
    job = Job.objects.get(kind=importers.KIND.code)
    assert response.url == reverse("admin:orders_order_import_job", args=[job.pk])
    return job


# --- the round trip -------------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_order_lines_export_uploads_again_with_no_errors_and_every_order_already_imported(
    client, shop, clerk, file_format, language
):
    two_lines = place(
        lines=[(shop["tea"], 2), (shop["cup"], 1)],
        phone="13900000001",
        address="文三路 1 号",
        payment_method="cod",
    )
    one_line = place(lines=[(shop["cup"], 3)], phone="13900000002", address="文三路 2 号", payment_method="card")
    content = exported(client, file_format, language)

    job = uploaded(client, content, f"order-lines.{file_format}")

    assert job.errors == []
    assert job.status == Job.Status.PREVIEWED
    assert (job.summary["rows"], job.summary["orders"], job.summary["to_create"]) == (3, 2, 0)
    assert job.summary["skipped"] == 2
    assert {order["number"] for order in job.summary["skipped_orders"]} == {two_lines.number, one_line.number}
    assert importers.confirm_order_import(job.pk, actor=clerk) is None
    assert Order.objects.count() == 2
    page = client.get(reverse("admin:orders_order_import_job", args=[job.pk])).text
    assert "Nothing to import: every order in the file was imported before." in page


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_heading_of_the_order_lines_export_the_import_reads_is_its_own_column(shop, language):
    manager = staff("Manager")
    place(lines=[(shop["tea"], 1)])
    with translation.override(language):
        headers = [str(column.header) for column in ORDER_LINES.columns(manager)]

    positions, names, problems = ORDER_COLUMNS.read_header(headers)

    assert problems == []
    assert names == {key: headers[index] for index, key in positions.items()}
    assert set(positions.values()) == {
        "channel",
        "channel_order_id",
        "order_date",
        "recipient",
        "phone",
        "province",
        "city",
        "district",
        "address",
        "postcode",
        "payment_method",
        "sku",
        "quantity",
        "unit_price",
    }


def test_a_csv_export_guards_a_leading_plus_and_the_import_takes_the_guard_off(client, shop, clerk):
    place(lines=[(shop["tea"], 1)], phone="13800138000")
    content = exported(client, "csv", "en")
    written = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))

    read = [cells for _number, cells in reading.rows(content, "order-lines.csv")]

    phone = written[0].index("Phone")
    assert written[1][phone] == "'+86 138 0013 8000"
    assert read[1][phone] == "+86 138 0013 8000"


# --- reading ------------------------------------------------------------------------------------------


def test_the_consoles_own_export_is_sized_by_reading_it_and_checked_at_once(client, shop, clerk, settings):
    settings.ORDER_IMPORT_BACKGROUND_ROWS = 5
    for n in range(3):
        place(lines=[(shop["tea"], 1)], phone=f"1390000000{n}", address=f"文三路 {n} 号")
    content = exported(client, "xlsx", "en")
    assert load_workbook(io.BytesIO(content), read_only=True).worksheets[0].max_row is None

    job = importers.start_order_import(file_name="order-lines.xlsx", content=content, actor=clerk)

    assert job.total == 4
    assert not importers.runs_in_background(job)


def test_a_workbook_without_dimensions_is_counted_no_further_than_asked(shop):
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for n in range(50):
        sheet.append([n])
    output = io.BytesIO()
    workbook.save(output)

    assert reading.count_rows(output.getvalue(), "big.xlsx") == 50
    assert reading.count_rows(output.getvalue(), "big.xlsx", stop_after=10) == 11


def test_full_width_characters_are_folded_in_the_logistics_uploads_as_in_the_order_import(client):
    product = ProductFactory()
    stock(product, WarehouseFactory(), 5)
    order = advance(place(lines=[(product, 1)]), "packed")
    client.force_login(staff("Logistics coordinator"))
    CarrierFactory()
    full_width = order.number.translate({code: code + 0xFEE0 for code in range(0x21, 0x7F)})
    workbook = Workbook()
    workbook.active.append(["Ｏｒｄｅｒ　ｎｕｍｂｅｒ", "carrier", "tracking number"])
    workbook.active.append([full_width, "ｓｆ", "ＳＦ５５５００００００００３２"])
    output = io.BytesIO()
    workbook.save(output)

    preview = client.post(
        reverse("admin:logistics_shipment_dispatch_upload"), {"file": named(output.getvalue(), "sheet.xlsx")}
    )

    assert preview.context["problems"] == []
    assert [row["cells"] for row in preview.context["rows"]] == [[order.number, "sf", "SF5550000000032"]]


# --- exports offered through core.events ---------------------------------------------------------------


def test_each_app_offers_its_exports_through_the_event_and_jobs_find_them_by_kind():
    offered = [export for exports in EXPORTS_OFFERED.publish() for export in exports]

    assert offered == [PURCHASE_ORDER_LINES, ORDERS, ORDER_LINES, ARCHIVED_ORDERS, SHIPMENTS, CLAIMS]
    assert export_of_kind("export_purchase_orders") is PURCHASE_ORDER_LINES
    assert export_of_kind("export_shipments") is SHIPMENTS
    assert export_of_kind("export_carrier_claims") is CLAIMS
    assert export_of_kind("export_order_lines") is ORDER_LINES
