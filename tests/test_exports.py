"""Excel and CSV exports of the order and shipment lists: what the filtered list shows, in the
operator's language, with phone numbers masked for roles that may not see them, small files at
once and large ones through a background job."""

import csv
import io
from contextlib import contextmanager
from datetime import datetime

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core import jobs
from core.actors import SYSTEM
from core.models import Job
from core.spreadsheets import exports, writing
from logistics.exports import SHIPMENTS
from orders import services
from orders.admin.order import OrderAdmin
from orders.exports import ORDER_LINES, ORDERS
from orders.models import Order
from tests.factories import ProductFactory, WarehouseFactory, advance, place, place_apart, staff, stock

pytestmark = pytest.mark.django_db

ORDER_LIST = reverse("admin:orders_order_changelist")
ORDER_EXPORT = reverse("admin:orders_order_export")
SHIPMENT_EXPORT = reverse("admin:logistics_shipment_export")
BOM = "\ufeff".encode()


@pytest.fixture
def product():
    product = ProductFactory(sku="TEA-001", name="Longjing tea")
    stock(product, WarehouseFactory(), 500)
    return product


def signed_in(client, role=None):
    user = staff(role)
    client.force_login(user)
    return user


def new_order(product, n, quantity=1, **overrides):
    return place_apart(lines=[(product, quantity)], **{"channel_order_id": f"EXP-{n}", **overrides})


def export(client, url=ORDER_EXPORT, *, query="", file_format="csv", kind=ORDERS.kind.code, **headers):
    return client.post(f"{url}?{query}" if query else url, {"file_format": file_format, "kind": kind}, **headers)


def csv_rows(response):
    content = b"".join(response.streaming_content)
    assert content.startswith(BOM)
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def xlsx_rows(content):
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def column(rows, header):
    index = rows[0].index(header)
    return [row[index] for row in rows[1:]]


# --- what is exported ----------------------------------------------------------------------------


def test_export_holds_every_row_the_filtered_list_shows_in_its_order_on_all_pages(client, product, monkeypatch):
    signed_in(client, "Customer service")
    monkeypatch.setattr(OrderAdmin, "list_per_page", 1)
    first, second, third = (new_order(product, n) for n in range(3))
    services.cancel(second.pk, actor=SYSTEM, reason="customer changed mind")

    everything = csv_rows(export(client))
    cancelled = csv_rows(export(client, query="status__exact=cancelled"))
    searched = csv_rows(export(client, query=f"q={third.number}"))

    assert column(everything, "Order number") == [third.number, second.number, first.number]
    assert column(cancelled, "Order number") == [second.number]
    assert column(cancelled, "Status") == ["Cancelled"]
    assert column(searched, "Order number") == [third.number]


def test_csv_starts_with_a_byte_order_mark_so_excel_reads_chinese(client, product):
    signed_in(client, "Customer service")
    order = new_order(product, 1, recipient="王小明", province="浙江省")

    response = export(client)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'attachment; filename="orders-' in response["Content-Disposition"]
    rows = csv_rows(response)
    assert column(rows, "Recipient") == ["王小明"]
    assert column(rows, "Province") == ["浙江省"]
    assert column(rows, "Total") == [str(order.total)]


def test_headers_and_labels_follow_the_operators_language(client, product):
    signed_in(client, "Customer service")
    order = new_order(product, 1)

    rows = csv_rows(export(client, HTTP_ACCEPT_LANGUAGE="zh-hans"))

    assert rows[0][:3] == ["订单号", "渠道", "渠道订单号"]
    assert column(rows, "订单号") == [order.number]
    assert column(rows, "状态") == ["已确认"]


def test_line_export_has_one_row_per_order_line(client, product):
    signed_in(client, "Customer service")
    other = ProductFactory(sku="CUP-002", name="Tea cup")
    stock(other, WarehouseFactory(), 50)
    older = new_order(product, 1, quantity=2)
    newer = place(lines=[(product, 1), (other, 3)], phone="13900009999", address="文三路 99 号")

    rows = csv_rows(export(client, kind=ORDER_LINES.kind.code))

    assert column(rows, "Order number") == [newer.number, newer.number, older.number]
    assert column(rows, "SKU") == ["TEA-001", "CUP-002", "TEA-001"]
    assert column(rows, "Product") == ["Longjing tea", "Tea cup", "Longjing tea"]
    assert column(rows, "Quantity") == ["1", "3", "2"]


def test_xlsx_holds_numbers_as_numbers_and_times_in_local_time(client, product):
    signed_in(client, "Customer service")
    order = new_order(product, 1, quantity=3)

    response = export(client, file_format="xlsx")

    assert response["Content-Type"] == writing.Format.CONTENT_TYPES["xlsx"]
    assert 'filename="orders-' in response["Content-Disposition"]
    rows = xlsx_rows(b"".join(response.streaming_content))
    assert column(rows, "Total") == [float(order.total)]
    placed = timezone.localtime(order.placed_at).replace(tzinfo=None, microsecond=0)
    assert column(rows, "Placed at") == [placed]
    assert isinstance(column(rows, "Placed at")[0], datetime)


def test_phone_numbers_are_masked_for_roles_that_may_not_see_them(client, product):
    new_order(product, 1, phone="13800138000")

    signed_in(client, "Warehouse operator")
    masked = csv_rows(export(client))
    signed_in(client, "Customer service")
    whole = csv_rows(export(client))

    # A leading apostrophe keeps the + from being read as a formula by spreadsheets.
    assert column(masked, "Phone") == ["'+86 138****8000"]
    assert column(whole, "Phone") == ["'+86 138 0013 8000"]


def test_text_that_looks_like_a_formula_stays_text(client, product):
    signed_in(client, "Customer service")
    formula = '=HYPERLINK("http://evil.example","click")'
    new_order(product, 1, special_instructions=formula)

    as_csv = csv_rows(export(client))
    as_xlsx = export(client, file_format="xlsx")

    assert column(as_csv, "Special instructions") == ["'" + formula]
    sheet = load_workbook(io.BytesIO(b"".join(as_xlsx.streaming_content))).worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    cell = sheet.cell(row=2, column=headers.index("Special instructions") + 1)
    assert (cell.value, cell.data_type) == (formula, "s")


def test_export_costs_the_same_queries_for_few_or_many_orders(client, product):
    signed_in(client, "Customer service")

    def queries_for_export():
        with CaptureQueriesContext(connection) as captured:
            csv_rows(export(client, kind=ORDER_LINES.kind.code))
        return len(captured)

    new_order(product, 1)
    few = queries_for_export()
    for n in range(2, 12):
        new_order(product, n)
    many = queries_for_export()

    assert few == many


# --- who may export ------------------------------------------------------------------------------


def test_export_needs_permission_to_view_orders(client, product):
    new_order(product, 1)
    client.force_login(User.objects.create_user(username="no_role", password="pw", is_staff=True))

    assert export(client).status_code == 403
    assert client.get(reverse("admin:orders_order_export")).status_code == 403


def test_order_list_offers_the_export_menu_with_the_lists_filters(client, product):
    signed_in(client, "Warehouse operator")
    new_order(product, 1)

    response = client.get(ORDER_LIST, {"status__exact": "confirmed"})

    assert response.context["export_action"] == f"{ORDER_EXPORT}?status__exact=confirmed"
    assert f'action="{ORDER_EXPORT}?status__exact=confirmed"' in response.content.decode()


def test_unreadable_list_filters_export_nothing(client, product):
    signed_in(client, "Customer service")

    response = export(client, query="no_such_field=1")

    assert response.status_code == 302
    assert response["Location"] == ORDER_LIST
    assert Job.objects.count() == 0


# --- large exports in the background -------------------------------------------------------------


@pytest.fixture
def small_limit(settings):
    settings.EXPORT_BACKGROUND_ABOVE_ROWS = 1


def test_large_export_runs_in_the_background_and_offers_the_file(
    client, product, small_limit, django_capture_on_commit_callbacks
):
    user = signed_in(client, "Customer service")
    orders = [new_order(product, n) for n in range(3)]

    with django_capture_on_commit_callbacks(execute=True):
        response = export(client, file_format="xlsx", HTTP_ACCEPT_LANGUAGE="zh-hans")

    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:orders_order_export_job", args=[job.pk])
    assert (job.kind, job.status, job.created_by, job.processed, job.total) == (
        ORDERS.kind.code,
        Job.Status.DONE,
        user,
        3,
        3,
    )
    page = client.get(response["Location"])
    download_url = reverse("admin:orders_order_export_download", args=[job.pk])
    assert download_url in page.content.decode()
    download = client.get(download_url)
    assert f'filename="{job.file_name}"' in download["Content-Disposition"]
    rows = xlsx_rows(download.content)
    assert column(rows, "订单号") == [order.number for order in reversed(orders)]


def test_background_export_keeps_the_lists_filters_and_search(
    client, product, small_limit, django_capture_on_commit_callbacks
):
    signed_in(client, "Customer service")
    elsewhere = ProductFactory(sku="POT-003")
    far_warehouse = WarehouseFactory()
    stock(elsewhere, far_warehouse, 50)
    new_order(product, 1)
    wanted = [new_order(elsewhere, n) for n in (2, 3)] + [new_order(elsewhere, 4, recipient="李四")]

    with django_capture_on_commit_callbacks(execute=True):
        export(client, query=f"warehouse={far_warehouse.pk}&o=3")  # sorted by time placed, oldest first

    job = Job.objects.get()
    rows = list(csv.reader(io.StringIO(bytes(job.result_file).decode("utf-8-sig"))))
    assert column(rows, "Order number") == [order.number for order in wanted]
    searched = csv_rows(export(client, query=f"warehouse={far_warehouse.pk}&q=李四"))
    assert column(searched, "Recipient") == ["李四"]
    job_page = client.get(reverse("admin:orders_order_export_job", args=[job.pk])).content.decode()
    assert f"{ORDER_LIST}?warehouse={far_warehouse.pk}&amp;o=3" in job_page


def test_background_export_of_the_shipment_list(client, product, small_limit, django_capture_on_commit_callbacks):
    signed_in(client, "Logistics coordinator")
    for n in range(2):
        advance(new_order(product, n), "shipped")

    with django_capture_on_commit_callbacks(execute=True):
        response = export(client, SHIPMENT_EXPORT, kind=SHIPMENTS.kind.code)

    job = Job.objects.get()
    assert (job.kind, job.status, job.total) == (SHIPMENTS.kind.code, Job.Status.DONE, 2)
    download = client.get(reverse("admin:logistics_shipment_export_download", args=[job.pk]))
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert len(rows) == 3
    assert response["Location"] == reverse("admin:logistics_shipment_export_job", args=[job.pk])


def test_export_job_is_seen_and_downloaded_only_by_its_creator(
    client, product, small_limit, django_capture_on_commit_callbacks
):
    signed_in(client, "Customer service")
    for n in range(2):
        new_order(product, n)
    with django_capture_on_commit_callbacks(execute=True):
        export(client)
    job = Job.objects.get()

    assert job.file_name in client.get(ORDER_EXPORT).content.decode()

    signed_in(client, "Manager")

    assert client.get(reverse("admin:orders_order_export_job", args=[job.pk])).status_code == 404
    assert client.get(reverse("admin:orders_order_export_download", args=[job.pk])).status_code == 404
    assert job.file_name not in client.get(ORDER_EXPORT).content.decode()


def test_job_records_why_an_export_failed(product):
    user = staff("Customer service")
    new_order(product, 1)
    job = exports.start_export(ORDERS, Order.objects.all(), file_format="csv", actor=user)
    user.groups.clear()

    with pytest.raises(Exception, match="may not export"):
        exports.run_export_job(job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.errors == [{"row": None, "column": "", "message": "Your role may not export this list."}]
    assert job.result_file is None


def test_a_job_is_written_once(product):
    user = staff("Customer service")
    new_order(product, 1)
    job = exports.start_export(ORDERS, Order.objects.all(), file_format="csv", actor=user)

    exports.run_export_job(job.pk)
    first = Job.objects.get(pk=job.pk)
    exports.run_export_job(job.pk)

    assert Job.objects.get(pk=job.pk).finished_at == first.finished_at


def test_a_tampered_job_query_is_refused(product):
    user = staff("Customer service")
    job = exports.start_export(ORDERS, Order.objects.all(), file_format="csv", actor=user)
    Job.objects.filter(pk=job.pk).update(parameters={**job.parameters, "query": "forged:value"})

    with pytest.raises(Exception, match="Signature"):
        exports.run_export_job(job.pk)

    assert Job.objects.get(pk=job.pk).status == Job.Status.FAILED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_background_export_reports_progress_and_stores_the_file_in_parts_on_postgresql(monkeypatch):
    product = ProductFactory()
    stock(product, WarehouseFactory(), 100)
    user = staff("Customer service")
    for n in range(5):
        new_order(product, n)
    monkeypatch.setattr(writing, "CHUNK_ROWS", 2)
    monkeypatch.setattr(jobs, "FILE_PART_BYTES", 1024)  # the file reaches its row in several parts
    seen = []
    reporter = jobs.progress_reporter

    @contextmanager
    def watched_reporter(job):
        with reporter(job) as report:
            yield lambda done: (seen.append(done), report(done))

    monkeypatch.setattr(jobs, "progress_reporter", watched_reporter)

    job = exports.start_export(ORDER_LINES, Order.objects.all(), file_format="xlsx", actor=user)

    job.refresh_from_db()
    assert seen == [2, 4, 5]
    assert (job.status, job.processed, job.total) == (Job.Status.DONE, 5, 5)
    assert len(job.result_file) > 3 * 1024
    rows = xlsx_rows(bytes(job.result_file))
    assert column(rows, "Order number") == list(Order.objects.values_list("number", flat=True))


# --- in the browser ------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_operator_downloads_the_filtered_order_list_from_the_export_menu(browser, live_server, tmp_path):
    product = ProductFactory(sku="TEA-001")
    stock(product, WarehouseFactory(), 100)
    kept, cancelled = new_order(product, 1), new_order(product, 2)
    services.cancel(cancelled.pk, actor=SYSTEM, reason="customer changed mind")
    user = staff("Customer service")
    context = browser.new_context(
        base_url=live_server.url, locale="en-US", accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{ORDER_LIST}?status__exact=cancelled")
    page.locator("summary", has_text="Export").click()
    page.get_by_label("Format").select_option("csv")
    page.get_by_label("Rows").select_option(ORDER_LINES.kind.code)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    context.close()

    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert saved.name.startswith("order-lines-") and saved.suffix == ".csv"
    assert column(rows, "Order number") == [cancelled.number]
    assert kept.number not in saved.read_text(encoding="utf-8-sig")
