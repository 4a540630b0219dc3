"""The Excel import of orders: the file read (English or Chinese headers, Excel's numbers and
dates, Chinese payment methods, full-width phones), the dry run's preview, every error kind with
its row and column, all or nothing on confirmation, a second upload creating nothing, the
template, the errors copy, background jobs with their progress, and the batch intake path
deciding exactly as placing orders one at a time would."""

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, transaction
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from core import jobs
from core.actors import SYSTEM
from core.models import Job
from inventory.models import StockLevel, StockMovement
from inventory.selectors import ledger_mismatches
from orders import importers, services
from orders.importers import workbooks
from orders.models import Customer, IntakeSettings, Order, OrderEvent, OrderLine, Payment
from orders.services.checks import describe
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, order_input, place, staff, stock

pytestmark = pytest.mark.django_db

HEADERS = [
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
    "sku",
    "quantity",
    "unit_price",
    "shipping_fee",
    "discount",
    "payment_method",
    "paid_amount",
    "express",
    "note",
]
CHINESE = [
    "渠道",
    "渠道订单号",
    "下单时间",
    "收货人",
    "手机号",
    "省",
    "市",
    "区",
    "详细地址",
    "邮编",
    "SKU",
    "数量",
    "单价",
    "运费",
    "优惠",
    "支付方式",
    "已付金额",
    "加急",
    "备注",
]


def row(channel_order_id, sku, quantity, **values):
    """One order line as a dict of the file's columns, filled with a valid cash-on-delivery order."""
    base = {
        "channel": "web",
        "channel_order_id": channel_order_id,
        "order_date": "",
        "recipient": "王小明",
        "phone": "138 0013 8000",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "address": "文三路 90 号",
        "postcode": "310012",
        "sku": sku,
        "quantity": quantity,
        "unit_price": "",
        "shipping_fee": "",
        "discount": "",
        "payment_method": "cod",
        "paid_amount": "",
        "note": "",
    }
    base.update(values)
    return base


def xlsx(rows, headers=HEADERS, *, extra_header_rows=()):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for header_row in extra_header_rows:
        sheet.append(header_row)
    for values in rows:
        sheet.append([values.get(key) for key in HEADERS])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def check(content, *, actor, file_name="orders.xlsx"):
    job = importers.start_order_import(file_name=file_name, content=content, actor=actor)
    return importers.check_order_import(job.pk)


def confirm(job, *, actor):
    queued = importers.confirm_order_import(job.pk, actor=actor)
    assert queued is not None, job.errors
    return importers.import_order_file(queued.pk)


def errors_of(job):
    return {(error["row"], error["column"]): error["message"] for error in job.errors}


@pytest.fixture
def shop():
    ChannelFactory(code="web", name="Web shop")
    warehouse = WarehouseFactory()
    shirt = ProductFactory(sku="SHIRT", unit_price=Decimal("50.00"))
    socks = ProductFactory(sku="SOCKS", unit_price=Decimal("10.00"))
    stock(shirt, warehouse, 100)
    stock(socks, warehouse, 100)
    return {"shirt": shirt, "socks": socks, "warehouse": warehouse}


@pytest.fixture
def clerk():
    return staff("Customer service")


# --- the preview and the import ---------------------------------------------------------------


def test_the_check_previews_the_orders_to_create_and_writes_nothing(shop, clerk):
    content = xlsx([row("A-1", "SHIRT", 2), row("A-1", "SOCKS", 3), row("A-2", "SOCKS", 1, phone="139 0000 0001")])

    job = check(content, actor=clerk)

    assert job.status == Job.Status.PREVIEWED
    assert job.errors == []
    assert (job.summary["orders"], job.summary["rows"], job.summary["to_create"]) == (2, 3, 2)
    assert [(o["channel_order_id"], o["lines"], o["total"], o["status"]) for o in job.summary["created"]] == [
        ("A-1", 2, "130.00", "confirmed"),
        ("A-2", 1, "10.00", "confirmed"),
    ]
    assert not Order.objects.exists()
    assert not Customer.objects.exists()
    assert StockLevel.objects.filter(reserved__gt=0).count() == 0


def test_confirming_imports_every_order_with_its_lines_and_stock_reserved(shop, clerk):
    content = xlsx([row("A-1", "SHIRT", 2), row("A-1", "SOCKS", 3), row("A-2", "SOCKS", 1, phone="139 0000 0001")])
    job = check(content, actor=clerk)

    done = confirm(job, actor=clerk)

    assert done.status == Job.Status.DONE
    assert done.summary["to_create"] == 2 and done.summary["confirmed"] == 2
    first = Order.objects.get(channel_order_id="A-1")
    assert first.status == Order.Status.CONFIRMED
    assert [(line.sku, line.quantity) for line in first.lines.all()] == [("SHIRT", 2), ("SOCKS", 3)]
    assert first.created_by == clerk
    assert first.events.get().actor == clerk
    assert StockLevel.objects.get(product=shop["socks"]).reserved == 4
    assert not ledger_mismatches().exists()
    assert done.summary["created"][0]["number"] == first.number


def test_uploading_the_same_file_twice_creates_nothing_and_reports_the_orders_as_skipped(shop, clerk):
    content = xlsx([row("A-1", "SHIRT", 2), row("A-2", "SOCKS", 1, phone="139 0000 0001")])
    confirm(check(content, actor=clerk), actor=clerk)
    movements = StockMovement.objects.count()

    again = check(content, actor=clerk)

    assert again.summary["to_create"] == 0
    assert again.summary["skipped"] == 2
    assert {o["number"] for o in again.summary["skipped_orders"]} == set(Order.objects.values_list("number", flat=True))
    assert importers.confirm_order_import(again.pk, actor=clerk) is None
    assert Order.objects.count() == 2
    assert StockMovement.objects.count() == movements


def test_an_order_already_imported_is_skipped_while_the_new_ones_in_the_file_are_created(shop, clerk):
    confirm(check(xlsx([row("A-1", "SHIRT", 2)]), actor=clerk), actor=clerk)

    done = confirm(check(xlsx([row("A-1", "SHIRT", 2), row("A-3", "SOCKS", 1)]), actor=clerk), actor=clerk)

    assert (done.summary["to_create"], done.summary["skipped"]) == (1, 1)
    assert sorted(Order.objects.values_list("channel_order_id", flat=True)) == ["A-1", "A-3"]


def test_chinese_headers_with_other_case_and_surrounding_spaces_are_understood(shop, clerk):
    headers = [f"  {header} " for header in CHINESE]
    headers[10] = " sku "
    headers[1] = "Channel Order ID"

    job = check(xlsx([row("C-1", "SHIRT", 1)], headers=headers), actor=clerk)

    assert job.errors == []
    assert job.summary["to_create"] == 1


def test_the_templates_second_header_row_and_example_row_are_not_imported(shop, clerk):
    rows = [row(importers.EXAMPLE_ORDER_ID, "SHIRT", 1), row("T-1", "SOCKS", 2)]

    job = check(xlsx(rows, extra_header_rows=[CHINESE]), actor=clerk)

    assert job.errors == []
    assert job.summary["example_rows"] == 1
    assert [o["channel_order_id"] for o in job.summary["created"]] == ["T-1"]


def test_held_orders_are_previewed_with_their_reasons_and_imported_held(shop, clerk):
    IntakeSettings.objects.update_or_create(pk=1, defaults={"cod_limit": Decimal("100.00")})
    job = check(xlsx([row("H-1", "SHIRT", 3)]), actor=clerk)

    created = job.summary["created"][0]
    assert created["status"] == "on_hold"
    assert [describe(reason) for reason in created["reasons"]] == [
        "Cash on delivery of 150.00 is over the limit of 100.00."
    ]
    assert (job.summary["confirmed"], job.summary["held"]) == (0, 1)
    confirm(job, actor=clerk)
    assert Order.objects.get().status == Order.Status.ON_HOLD


# --- reading cells ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "１３８００１３８０００",
        "＋８６ １３８－００１３－８０００",
        13800138000,
        13800138000.0,
    ],
)
def test_phone_numbers_as_people_and_excel_write_them_are_understood(shop, clerk, written):
    existing = place(lines=[(shop["socks"], 1)], phone="+8613800138000", payment_method="cod")

    job = confirm(check(xlsx([row("P-1", "SHIRT", 1, phone=written)]), actor=clerk), actor=clerk)

    assert job.status == Job.Status.DONE
    imported = Order.objects.get(channel_order_id="P-1")
    assert imported.phone == "+8613800138000"
    assert imported.customer == existing.customer
    assert imported.status == Order.Status.CONFIRMED


@pytest.mark.parametrize(
    ("written", "method"),
    [
        ("银行卡", "card"),
        ("电子钱包", "e_wallet"),
        ("银行转账", "bank_transfer"),
        ("货到付款", "cod"),
        ("分期", "instalments"),
        ("COD", "cod"),
        (" Card ", "card"),
        ("Bank transfer", "bank_transfer"),
    ],
)
def test_payment_methods_are_read_by_code_or_by_chinese_or_english_name(shop, clerk, written, method):
    paid = "" if method == "cod" else "50"
    confirm(check(xlsx([row("M-1", "SHIRT", 1, payment_method=written, paid_amount=paid)]), actor=clerk), actor=clerk)

    order = Order.objects.get()
    assert order.payment_method == method
    assert order.status == Order.Status.CONFIRMED


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (datetime(2026, 3, 5, 14, 30), datetime(2026, 3, 5, 14, 30)),
        ("2026-03-05", datetime(2026, 3, 5)),
        ("2026-03-05 14:30", datetime(2026, 3, 5, 14, 30)),
        ("2026/3/5 14:30:15", datetime(2026, 3, 5, 14, 30, 15)),
        ("2026年3月5日", datetime(2026, 3, 5)),
        (46086.5, datetime(2026, 3, 5, 12, 0)),
    ],
)
def test_order_dates_are_read_from_excel_dates_and_iso_text_in_shop_time(shop, clerk, written, expected):
    confirm(check(xlsx([row("D-1", "SHIRT", 1, order_date=written)]), actor=clerk), actor=clerk)

    assert Order.objects.get().placed_at == timezone.make_aware(expected)


def test_an_iso_date_with_its_offset_keeps_it(shop, clerk):
    confirm(check(xlsx([row("D-2", "SHIRT", 1, order_date="2026-03-05T06:30:00+00:00")]), actor=clerk), actor=clerk)

    assert Order.objects.get().placed_at == datetime(2026, 3, 5, 6, 30, tzinfo=UTC)


def test_amounts_made_by_excel_formulas_are_read_to_the_cent(shop):
    manager = staff("Manager")
    content = xlsx(
        [
            row(
                "F-1",
                "SHIRT",
                2.0,
                unit_price=1.1 * 3,
                shipping_fee=10,
                discount=0.1 + 0.2,
                payment_method="card",
                paid_amount=16.3,
            )
        ]
    )

    confirm(check(content, actor=manager), actor=manager)

    order = Order.objects.get()
    assert (order.subtotal, order.shipping_fee, order.discount, order.total) == (
        Decimal("6.60"),
        Decimal("10.00"),
        Decimal("0.30"),
        Decimal("16.30"),
    )
    assert order.payment_status == Order.PaymentStatus.PAID
    assert Payment.objects.get().amount == Decimal("16.30")


def test_a_csv_file_saved_by_chinese_excel_is_read(shop, clerk):
    lines = [
        ",".join(CHINESE),
        "web,CSV-1,,王小明,13800138000,浙江省,杭州市,西湖区,文三路 90 号,310012,SHIRT,2,,,,货到付款,,",
    ]
    content = "\r\n".join(lines).encode("gb18030")

    job = confirm(check(content, actor=clerk, file_name="订单.csv"), actor=clerk)

    assert job.status == Job.Status.DONE
    assert Order.objects.get().recipient == "王小明"


# --- errors -----------------------------------------------------------------------------------------


ERROR_CASES = [
    # (row values, column of the error, part of the message)
    ({"sku": "NOPE"}, "sku", "Unknown SKU “NOPE”"),
    ({"sku": ""}, "sku", "Enter a SKU"),
    ({"quantity": 0}, "quantity", "whole number greater than zero"),
    ({"quantity": 2.5}, "quantity", "whole number greater than zero"),
    ({"quantity": "two"}, "quantity", "whole number greater than zero"),
    ({"quantity": -1}, "quantity", "whole number greater than zero"),
    ({"address": ""}, "address", "cannot be delivered without its address / 详细地址"),
    ({"city": " ", "district": ""}, "city", "cannot be delivered without its city / 市"),
    ({"recipient": ""}, "recipient", "Enter the recipient's name"),
    ({"phone": "n/a"}, "phone", "Enter the recipient's phone number"),
    ({"payment_method": "bitcoin"}, "payment_method", "Unknown payment method “bitcoin”"),
    ({"payment_method": ""}, "payment_method", "Choose one of"),
    ({"channel": "nowhere"}, "channel", "Unknown channel “nowhere”"),
    ({"order_date": "next tuesday"}, "order_date", "is not a date"),
    ({"order_date": "2026-02-30"}, "order_date", "is not a date"),
    ({"order_date": "2042-01-01"}, "order_date", "cannot be later than"),
    ({"order_date": "0001-01-01"}, "order_date", "cannot be earlier than"),
    ({"phone": "12345"}, "phone", "cannot be a phone number"),
    ({"shipping_fee": "ten"}, "shipping_fee", "Enter an amount"),
    ({"paid_amount": "-5"}, "paid_amount", "zero or more"),
    ({"unit_price": "12.345"}, "unit_price", "Your role may not set prices"),
    ({"discount": "5"}, "discount", "Your role may not give discounts"),
    ({"channel_order_id": ""}, "channel_order_id", "Enter the channel order id"),
    ({"channel_order_id": 1.2345678901234567e18}, "channel_order_id", "lost its last digits"),
    ({"channel_order_id": "X" * 65}, "channel_order_id", "at most 64 characters"),
    ({"recipient": "名" * 101}, "recipient", "at most 100 characters"),
]


@pytest.mark.parametrize(("values", "column", "message"), ERROR_CASES)
def test_every_error_is_reported_with_its_row_and_column_and_nothing_can_be_imported(
    shop, clerk, values, column, message
):
    content = xlsx([row("OK-1", "SHIRT", 1, phone="139 0000 0001"), {**row("E-1", "SOCKS", 1), **values}])

    job = check(content, actor=clerk)

    errors = errors_of(job)
    assert message in errors.get((3, column), ""), errors
    assert len(errors) == 1
    assert [order["channel_order_id"] for order in job.summary["created"]] == ["OK-1"]
    assert importers.confirm_order_import(job.pk, actor=clerk) is None
    assert not Order.objects.exists()


def test_order_values_that_differ_between_two_rows_of_one_order_are_errors_on_the_later_row(shop, clerk):
    content = xlsx(
        [
            row("E-1", "SHIRT", 1),
            row("E-1", "SOCKS", 1, address="人民路 1 号"),
            row("E-1", "SOCKS", 2, phone="+86 138-0013-8000", shipping_fee="", recipient=""),
        ]
    )

    job = check(content, actor=clerk)

    assert list(errors_of(job)) == [(3, "address")]
    assert errors_of(job)[3, "address"] == (
        "“人民路 1 号” differs from “文三路 90 号” in row 2 of the same order; an order has one address / 详细地址."
    )


def test_every_error_of_a_file_is_reported_at_once_in_row_order(shop, clerk):
    content = xlsx(
        [
            row("E-1", "NOPE", 0),
            row("E-2", "SHIRT", 1, address=""),
            row("E-3", "SHIRT", 1, payment_method="bitcoin"),
        ]
    )

    job = check(content, actor=clerk)

    assert [(error["row"], error["column"]) for error in job.errors] == [
        (2, "quantity"),
        (2, "sku"),
        (3, "address"),
        (4, "payment_method"),
    ]
    assert job.status == Job.Status.FAILED
    assert job.summary["errors"] == 4
    assert job.summary["to_create"] == 0


def test_a_missing_column_is_named_and_nothing_else_is_read(shop, clerk):
    headers = [header for header in HEADERS if header != "quantity"]

    job = check(xlsx([row("E-1", "SHIRT", 1)], headers=headers), actor=clerk)

    assert errors_of(job) == {(1, "quantity"): "The column “quantity / 数量” is missing."}
    assert job.summary["orders"] == 0


def test_a_file_that_is_not_a_workbook_fails_with_a_clear_message(clerk):
    job = check(b"not a zip", actor=clerk)

    assert job.status == Job.Status.FAILED
    assert job.errors[0]["message"] == "The file could not be opened as an Excel workbook (.xlsx)."


def test_another_file_type_is_refused_before_anything_is_stored(clerk):
    with pytest.raises(ValueError, match="save it as .xlsx"):
        importers.start_order_import(file_name="orders.xls", content=b"...", actor=clerk)
    assert not Job.objects.exists()


def test_staff_without_the_right_to_enter_orders_may_not_import(shop):
    with pytest.raises(PermissionDenied, match="may not import"):
        importers.start_order_import(file_name="o.xlsx", content=xlsx([]), actor=staff("Warehouse operator"))


# --- all or nothing ----------------------------------------------------------------------------


def test_stock_that_ran_out_since_the_check_fails_the_whole_import_and_names_the_order(shop, clerk):
    content = xlsx(
        [
            row("S-1", "SOCKS", 5),
            row("S-2", "SHIRT", 60, phone="139 0000 0001"),
            row("S-3", "SHIRT", 30, phone="139 0000 0002"),
        ]
    )
    job = check(content, actor=clerk)
    assert job.summary["confirmed"] == 3
    place(lines=[(shop["shirt"], 20)], phone="+8613900000009")

    failed = confirm(job, actor=clerk)

    assert failed.status == Job.Status.FAILED
    assert [(error["row"], error["message"][:26]) for error in failed.errors] == [(4, "Stock ran out since the ch")]
    assert Order.objects.count() == 1
    assert StockLevel.objects.get(product=shop["shirt"]).reserved == 20
    assert StockLevel.objects.get(product=shop["socks"]).reserved == 0


def test_an_order_short_of_stock_already_at_the_check_is_imported_held_as_previewed(shop, clerk):
    job = check(xlsx([row("S-1", "SOCKS", 150)]), actor=clerk)
    assert job.summary["held"] == 1

    done = confirm(job, actor=clerk)

    assert done.status == Job.Status.DONE
    assert Order.objects.get().hold_reasons[0]["code"] == "out_of_stock"


def test_a_product_withdrawn_since_the_check_fails_the_whole_import(shop, clerk):
    job = check(xlsx([row("W-1", "SHIRT", 1), row("W-2", "SOCKS", 1, phone="139 0000 0001")]), actor=clerk)
    shop["socks"].active = False
    shop["socks"].save()

    failed = confirm(job, actor=clerk)

    assert failed.status == Job.Status.FAILED
    assert errors_of(failed) == {(3, "sku"): "SKU “SOCKS” is no longer sold."}
    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()


def test_a_job_is_confirmed_once_however_often_the_button_is_pressed(shop, clerk):
    job = check(xlsx([row("A-1", "SHIRT", 1)]), actor=clerk)

    assert importers.confirm_order_import(job.pk, actor=clerk) is not None
    assert importers.confirm_order_import(job.pk, actor=clerk) is None


# --- the template and the errors copy -------------------------------------------------------------


def test_the_template_has_both_header_rows_an_example_and_drop_downs(shop):
    workbook = load_workbook(io.BytesIO(workbooks.template_workbook()))
    sheet = workbook["orders"]

    assert [cell.value for cell in sheet[1]] == HEADERS
    assert [cell.value for cell in sheet[2]] == CHINESE
    assert sheet["B3"].value == importers.EXAMPLE_ORDER_ID
    validations = {str(v.sqref).split(":")[0]: v for v in sheet.data_validations.dataValidation}
    assert validations["A3"].type == "list"
    assert validations["P3"].type == "list"
    assert validations["K3"].type == "list"
    assert validations["L3"].type == "whole"
    lists = workbook["lists"]
    assert lists.sheet_state == "hidden"
    assert [cell.value for cell in lists["A"][1:] if cell.value] == ["web"]
    assert "货到付款" in [cell.value for cell in lists["B"]]
    assert [cell.value for cell in lists["C"][1:] if cell.value] == ["SHIRT", "SOCKS"]
    assert workbook["help"]["A2"].value == "channel"


def test_the_template_as_downloaded_checks_clean_with_nothing_to_create(shop, clerk):
    job = check(workbooks.template_workbook(), actor=clerk)

    assert job.errors == []
    assert (job.summary["example_rows"], job.summary["orders"]) == (1, 0)


def test_the_errors_copy_has_an_errors_column_beside_the_rows_in_error(shop, clerk):
    content = xlsx([row("E-1", "SHIRT", 1), row("E-2", "NOPE", 1, address="")], headers=CHINESE)
    job = check(content, actor=clerk)

    copy, name = workbooks.errors_copy(job)

    sheet = load_workbook(io.BytesIO(copy)).active
    assert name == "orders-errors.xlsx"
    assert sheet.cell(row=1, column=20).value == "errors / 错误"
    assert sheet.cell(row=2, column=20).value is None
    assert sheet.cell(row=3, column=20).value == (
        "详细地址: The order cannot be delivered without its address / 详细地址.; SKU: Unknown SKU “NOPE”: it is neither a product nor a code of channel Web shop."
    )
    assert [cell.value for cell in sheet[3]][:3] == ["web", "E-2", None]


def test_the_errors_copy_of_a_csv_file_is_a_csv_file(shop, clerk):
    content = (
        "\n".join([",".join(HEADERS), "web,E-1,,王小明,13800138000,浙江省,杭州市,,文三路,,NOPE,1,,,,cod,,"])
    ).encode()
    job = check(content, actor=clerk, file_name="orders.csv")

    copy, name = workbooks.errors_copy(job)

    assert name == "orders-errors.csv"
    lines = copy.decode("utf-8-sig").splitlines()
    assert lines[0].endswith(",errors / 错误")
    assert lines[1].endswith(",sku: Unknown SKU “NOPE”: it is neither a product nor a code of channel Web shop.")


# --- the console ------------------------------------------------------------------------------------


def upload(client, content, name="orders.xlsx"):
    return client.post(reverse("admin:orders_order_import"), {"file": _named(content, name)})


def _named(content, name):
    file = io.BytesIO(content)
    file.name = name
    return file


def test_the_order_list_offers_the_import_to_staff_who_enter_orders(client, shop):
    client.force_login(staff("Customer service"))
    assert reverse("admin:orders_order_import") in client.get(reverse("admin:orders_order_changelist")).text
    client.force_login(staff("Warehouse operator"))
    assert reverse("admin:orders_order_import") not in client.get(reverse("admin:orders_order_changelist")).text
    assert client.get(reverse("admin:orders_order_import")).status_code == 403


def test_upload_preview_and_confirm_in_the_console(client, shop, clerk):
    client.force_login(clerk)

    response = upload(client, xlsx([row("A-1", "SHIRT", 2), row("A-2", "SOCKS", 1, phone="139 0000 0001")]))

    job = Job.objects.get()
    assert response.url == reverse("admin:orders_order_import_job", args=[job.pk])
    page = client.get(response.url).text
    assert "2 orders will be created: 2 confirmed with stock reserved, 0 held for review." in page
    assert not Order.objects.exists()

    response = client.post(reverse("admin:orders_order_import_confirm", args=[job.pk]))

    assert Order.objects.count() == 2
    page = client.get(response.url).text
    assert "2 orders created: 2 confirmed with stock reserved, 0 held for review." in page
    assert Order.objects.get(channel_order_id="A-1").number in page


def test_the_preview_lists_each_error_with_its_row_and_the_column_as_the_file_names_it(client, shop, clerk):
    client.force_login(clerk)

    response = upload(client, xlsx([row("E-1", "NOPE", 1)], headers=CHINESE))

    page = client.get(response.url).text
    assert (
        '<td class="oc-num">2</td><td>SKU</td><td>Unknown SKU “NOPE”: it is neither a product nor a code of channel Web shop.</td>'
        in page
    )
    assert reverse("admin:orders_order_import_errors", args=[Job.objects.get().pk]) in page
    assert reverse("admin:orders_order_import_confirm", args=[Job.objects.get().pk]) not in page


def test_a_file_of_another_type_is_refused_on_the_upload_form(client, clerk):
    client.force_login(clerk)

    response = upload(client, b"...", name="orders.numbers")

    assert response.status_code == 200
    assert "is not a file the import reads: save it as .xlsx (Excel) or .csv." in response.text
    assert not Job.objects.exists()


def test_the_template_and_the_errors_copy_are_downloaded_from_the_console(client, shop, clerk):
    client.force_login(clerk)
    template = client.get(reverse("admin:orders_order_import_template"))
    assert template["Content-Disposition"] == 'attachment; filename="order-import-template.xlsx"'
    assert load_workbook(io.BytesIO(template.content))["orders"]["A1"].value == "channel"

    upload(client, xlsx([row("E-1", "NOPE", 1)]))
    errors = client.get(reverse("admin:orders_order_import_errors", args=[Job.objects.get().pk]))

    assert errors["Content-Disposition"] == 'attachment; filename="orders-errors.xlsx"'


def test_a_large_file_runs_in_the_background_and_its_status_can_be_polled(client, shop, clerk, settings):
    settings.ORDER_IMPORT_BACKGROUND_ROWS = 2
    client.force_login(clerk)
    content = xlsx([row(f"B-{n}", "SOCKS", 1, phone=f"139 0000 {n:04d}") for n in range(3)])

    response = upload(client, content)

    job = Job.objects.get()
    assert importers.runs_in_background(job)
    # The test backend runs the queued task at once; a worker would do the same later.
    status = client.get(reverse("admin:orders_order_import_status", args=[job.pk])).json()
    assert status == {
        "status": "previewed",
        "status_label": "Checked, waiting for confirmation",
        "phase_label": "",
        "processed": 3,
        "total": 3,
        "percent": 100,
        "finished": True,
    }
    client.post(reverse("admin:orders_order_import_confirm", args=[job.pk]))
    assert client.get(reverse("admin:orders_order_import_status", args=[job.pk])).json()["status"] == "done"
    assert Order.objects.count() == 3
    assert "Past imports" in client.get(reverse("admin:orders_order_import_history")).text
    assert response.status_code == 302


def test_a_running_job_shows_a_progress_bar_that_polls_its_status(client, clerk):
    client.force_login(clerk)
    job = Job.objects.create(
        kind=importers.KIND.code,
        status=Job.Status.RUNNING,
        file_name="big.xlsx",
        total=200,
        processed=50,
        parameters={"phase": "placing"},
        created_by=clerk,
    )

    page = client.get(reverse("admin:orders_order_import_job", args=[job.pk])).text

    assert f'data-status-url="{reverse("admin:orders_order_import_status", args=[job.pk])}"' in page
    assert '<progress max="100" value="25"' in page
    assert "Checking and placing orders…" in page
    assert "50 of 200 orders" in page


def test_past_imports_list_each_upload_with_its_outcome(client, shop, clerk):
    confirm(check(xlsx([row("A-1", "SHIRT", 1)]), actor=clerk), actor=clerk)
    check(xlsx([row("E-1", "NOPE", 1)]), actor=clerk)
    client.force_login(clerk)

    page = client.get(reverse("admin:orders_order_import_history")).text

    assert "<td>1 order created, 0 skipped</td>" in page
    assert "<td>1 error</td>" in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_progress_is_visible_to_other_connections_while_the_import_transaction_is_open(clerk):
    job = Job.objects.create(
        kind=importers.KIND.code,
        status=Job.Status.RUNNING,
        file_name="big.xlsx",
        total=100,
        created_by=clerk,
    )
    observer = connections.create_connection("default")
    try:
        with jobs.progress_reporter(job) as report, transaction.atomic():
            report(40)
            with observer.cursor() as cursor:
                cursor.execute("SELECT processed FROM core_job WHERE id = %s", [job.pk])
                seen = cursor.fetchone()[0]
    finally:
        observer.close()
    assert seen == 40


# --- the batch path decides as one order at a time would -------------------------------------------


def test_placing_many_orders_counts_repeat_orders_within_the_list_as_one_at_a_time_would(shop):
    inputs = [order_input(lines=[(shop["socks"], 1)], phone="13900000077", address=f"人民路 {n} 号") for n in range(5)]

    outcomes = services.place_orders(inputs, actor=SYSTEM)

    assert [outcome.order.risk_score for outcome in outcomes] == [0, 0, 0, 30, 30]
    assert [r["code"] for r in outcomes[3].order.hold_reasons] == ["repeat_phone"]


def test_placing_many_orders_treats_only_the_first_order_of_a_new_customer_as_new(shop):
    IntakeSettings.objects.update_or_create(pk=1, defaults={"new_customer_value_threshold": Decimal("40.00")})
    inputs = [
        order_input(lines=[(shop["shirt"], 1)], phone="13900000088"),
        order_input(lines=[(shop["shirt"], 1)], phone="13900000088"),
    ]

    first, second = services.place_orders(inputs, actor=SYSTEM)

    assert [r["code"] for r in first.order.hold_reasons] == ["new_customer_high_value"]
    assert second.order.hold_reasons == []
    assert Customer.objects.filter(phone="+8613900000088").count() == 1


def test_placing_many_orders_reserves_in_turn_and_holds_the_one_that_finds_the_shelf_empty(shop):
    inputs = [order_input(lines=[(shop["socks"], 60)], phone=f"1390000010{n}") for n in range(2)]

    first, second = services.place_orders(inputs, actor=SYSTEM)

    assert first.order.status == Order.Status.CONFIRMED
    assert second.order.status == Order.Status.ON_HOLD
    assert second.order.hold_reasons[0]["code"] == "out_of_stock"
    assert StockLevel.objects.get(product=shop["socks"]).reserved == 60
    assert not ledger_mismatches().exists()


def test_placing_many_orders_answers_a_repeated_channel_order_id_with_the_first_order(shop):
    channel = ChannelFactory()
    first_input = order_input(channel, lines=[(shop["socks"], 1)], channel_order_id="R-1")
    again = order_input(channel, lines=[(shop["socks"], 1)], channel_order_id="R-1")
    bad = order_input(channel, lines=[("NOPE", 1)], channel_order_id="R-2")

    first, second, refused = services.place_orders([first_input, again, bad], actor=SYSTEM)

    assert first.created and not second.created
    assert second.order == first.order
    assert refused.message_dict == {
        "lines[1].sku": [f"Unknown SKU “NOPE”: it is neither a product nor a code of channel {channel.name}."]
    }
    assert Order.objects.count() == 1
    assert OrderEvent.objects.count() == 1
    assert StockLevel.objects.get(product=shop["socks"]).reserved == 1


def test_placing_more_orders_than_one_batch_keeps_their_order_and_writes_each_once(shop, monkeypatch):
    monkeypatch.setattr("orders.services.intake.BATCH_SIZE", 2)
    inputs = [
        order_input(lines=[(shop["socks"], 1)], phone=f"1390000020{n}", channel_order_id=f"K-{n}") for n in range(5)
    ]
    progress = []

    outcomes = services.place_orders(inputs, on_progress=progress.append, actor=SYSTEM)

    assert [o.order.channel_order_id for o in outcomes] == [f"K-{n}" for n in range(5)]
    assert progress == [2, 4, 5]
    assert len({o.order.number for o in outcomes}) == 5
    assert StockMovement.objects.filter(kind="reservation").count() == 5


def _what_happened(place_all):
    """Place orders with `place_all`, describe each outcome and the stock, then roll it all back."""
    with transaction.atomic():
        described = []
        for outcome in place_all():
            if isinstance(outcome, ValidationError):
                described.append(("refused", sorted(outcome.message_dict)))
                continue
            order = outcome.order
            described.append(
                (
                    outcome.created,
                    order.channel_order_id,
                    order.status,
                    order.risk_score,
                    [r["code"] for r in order.hold_reasons],
                    order.customer.phone,
                    [
                        (a.line.sku, a.stock_level_id, a.quantity)
                        for line in order.lines.all()
                        for a in line.allocations.all()
                    ],
                )
            )
        stock_now = sorted(StockLevel.objects.values_list("pk", "on_hand", "reserved"))
        transaction.set_rollback(True)
    return described, stock_now


def _one_at_a_time(inputs):
    for data in inputs:
        try:
            yield services.place_order(data, actor=SYSTEM)
        except ValidationError as error:
            yield error


def test_placing_many_orders_decides_each_order_as_placing_them_one_at_a_time_would(shop):
    from orders.services.blocklist import block_contact

    IntakeSettings.objects.update_or_create(pk=1, defaults={"new_customer_value_threshold": Decimal("90.00")})
    block_contact(kind="phone", reason="chargebacks", phone="13900000666", actor=SYSTEM)
    second_house = WarehouseFactory()
    stock(shop["shirt"], second_house, 5)
    channel = ChannelFactory()
    known = place(channel, lines=[(shop["socks"], 1)], phone="13900000111", channel_order_id="OLD-1")

    def inputs():
        def new(channel_order_id, lines, phone, **values):
            values.setdefault("address", f"长江路 {channel_order_id} 号")
            return order_input(channel, lines=lines, phone=phone, channel_order_id=channel_order_id, **values)

        same_place = {"address": "和平路 8 号"}
        return [
            new("N-1", [(shop["shirt"], 2)], "13900000111"),
            new("N-2", [(shop["shirt"], 2)], "13900000222"),
            new("N-3", [(shop["shirt"], 99), (shop["socks"], 1)], "13900000333"),
            new("N-4", [(shop["socks"], 1)], "13900000444", **same_place),
            new("N-5", [(shop["socks"], 1)], "13900000445", **same_place),
            new("N-6", [(shop["socks"], 1)], "13900000446", **same_place),
            new("N-7", [(shop["socks"], 1)], "13900000447", **same_place),
            new("N-8", [(shop["socks"], 1)], "13900000666"),
            new("N-9", [("NOPE", 1)], "13900000777"),
            new("OLD-1", [(shop["socks"], 1)], "13900000111"),
            new("N-2", [(shop["shirt"], 1)], "13900000222"),
            new("N-10", [(shop["shirt"], 3)], "13900000888", province="", city="", district=""),
            new("N-11", [(shop["socks"], 200)], "13900000999"),
            new("N-12", [(shop["shirt"], 98)], "13900001000", payment_method="card", paid_amount="4900.00"),
        ]

    one_by_one = _what_happened(lambda: list(_one_at_a_time(inputs())))
    together = _what_happened(lambda: services.place_orders(inputs(), actor=SYSTEM))

    assert together == one_by_one
    assert [(o[2], o[4]) if o[0] != "refused" else o for o in one_by_one[0]] == [
        ("confirmed", []),
        ("confirmed", ["new_customer_high_value"]),
        ("on_hold", ["new_customer_high_value", "cod_over_limit"]),
        ("confirmed", []),
        ("confirmed", []),
        ("confirmed", []),
        ("confirmed", ["repeat_address"]),
        ("on_hold", ["blocked_phone"]),
        ("refused", ["lines[1].sku"]),
        ("confirmed", []),
        ("confirmed", ["new_customer_high_value"]),
        ("on_hold", ["address_incomplete", "new_customer_high_value"]),
        ("on_hold", ["out_of_stock", "new_customer_high_value"]),
        ("confirmed", ["new_customer_high_value"]),
    ]
    split = one_by_one[0][-1][6]
    assert [(sku, quantity) for sku, _level, quantity in split] == [("SHIRT", 96), ("SHIRT", 2)]
    assert known.status == Order.Status.CONFIRMED
