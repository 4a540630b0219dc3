"""Importing the catalogue and stock counts from Excel or CSV in the console (the core spreadsheet
pipeline): a preview that writes nothing, English or Chinese headers, errors named with their row
as Excel numbers it and their column, all rows or none, and every count booked through the stock
ledger."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from core.models import Job
from inventory.models import Product, StockLevel, StockMovement
from inventory.selectors import ledger_mismatches
from tests.factories import ProductFactory, WarehouseFactory, place, staff, stock

pytestmark = pytest.mark.django_db

XLSX, CSV = "xlsx", "csv"


def workbook(rows):
    book = Workbook()
    for cells in rows:
        book.active.append(cells)
    output = io.BytesIO()
    book.save(output)
    output.seek(0)
    output.name = "upload.xlsx"
    return output


def preview(client, model, rows, *, file_format=XLSX):
    """Upload the rows and follow the console to the import's preview."""
    upload = workbook(rows) if file_format == XLSX else _csv(rows)
    return client.post(reverse(f"admin:inventory_{model}_import"), {"file": upload}, follow=True)


def _named(content, name):
    file = io.BytesIO(content)
    file.name = name
    return file


def _csv(rows):
    output = io.BytesIO("\n".join(",".join(str(cell) for cell in cells) for cells in rows).encode("utf-8"))
    output.name = "upload.csv"
    return output


def confirm(client, model, previewed):
    url = previewed.context["confirm_url"]
    assert url, previewed.context["job"].errors
    return client.post(url)


def invalid(previewed):
    """{(row, column): messages} of the problems the preview found."""
    found = {}
    for error in previewed.context["job"].errors:
        found.setdefault((error["row"], error["column"]), []).append(error["message"])
    return found


def actions(previewed):
    return [row["action"] for row in previewed.context["preview"]]


@pytest.fixture
def manager(client):
    user = staff("Manager")
    client.force_login(user)
    return user


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="HZ")


# --- products ---------------------------------------------------------------------------------


def test_a_product_file_with_chinese_headers_adds_new_skus_and_updates_known_ones(client, manager):
    ProductFactory(sku="SHIRT", name="Old name", unit_price=Decimal("40.00"))
    rows = [
        ["SKU", " 名称 ", "条码", "单价", "成本", "重量", "易碎", "在售"],
        ["SHIRT", "T恤", "6900000000017", 59.9, 20, 0.3, "否", "是"],
        [1001, "杯子", "", "12.5", "4", "0.4", "是", "yes"],
    ]

    previewed = preview(client, "product", rows)

    assert actions(previewed) == ["update", "new"]
    assert Product.objects.get(sku="SHIRT").name == "Old name"
    assert not Product.objects.filter(sku="1001").exists()

    confirm(client, "product", previewed)

    shirt, cup = Product.objects.get(sku="SHIRT"), Product.objects.get(sku="1001")
    assert (shirt.name, shirt.unit_price, shirt.barcode, shirt.fragile) == (
        "T恤",
        Decimal("59.90"),
        "6900000000017",
        False,
    )
    assert (cup.name, cup.unit_price, cup.barcode, cup.fragile, cup.active) == (
        "杯子",
        Decimal("12.50"),
        None,
        True,
        True,
    )


def test_product_rows_in_error_are_named_with_their_column_and_nothing_can_be_confirmed(client, manager):
    ProductFactory(sku="TAKEN", barcode="6900000000024")
    rows = [
        ["sku", "name", "barcode", "unit_price", "cost", "weight_kg", "fragile", "active"],
        ["OK", "Fine", "", "10", "5", "0.1", "no", "yes"],
        ["NEG", "Negative", "", "-1", "5", "0.1", "no", "yes"],
        ["DUP", "Same barcode", "6900000000024", "10", "5", "0.1", "no", "yes"],
        ["ODD", "Odd flag", "", "10", "5", "0.1", "maybe", "yes"],
    ]

    previewed = preview(client, "product", rows)

    errors = invalid(previewed)
    assert errors[3, "unit_price"] == ["Ensure this value is greater than or equal to 0."]
    assert errors[4, "barcode"] == ["Product with this Barcode already exists."]
    assert errors[5, "fragile"] == ["Write yes or no (是 / 否)."]
    assert previewed.context["confirm_url"] == ""
    assert not Product.objects.filter(sku="OK").exists()


def test_columns_a_product_file_leaves_out_keep_the_products_values(client, manager):
    ProductFactory(sku="OLD", name="Old", active=False, unit_price=Decimal("9.00"))

    confirm(client, "product", preview(client, "product", [["sku", "name", "unit_price"], ["OLD", "Renamed", "9"]]))

    product = Product.objects.get(sku="OLD")
    assert (product.name, product.active) == ("Renamed", False)


def test_only_staff_who_may_add_products_import_them(client):
    client.force_login(staff("Warehouse operator"))

    assert client.get(reverse("admin:inventory_product_import")).status_code == 403
    assert (
        reverse("admin:inventory_product_import") not in client.get(reverse("admin:inventory_product_changelist")).text
    )


# --- stock counts -----------------------------------------------------------------------------


def test_a_stock_count_file_books_each_difference_through_the_ledger(client, warehouse):
    operator = staff("Warehouse operator")
    client.force_login(operator)
    shirt, socks = ProductFactory(sku="SHIRT"), ProductFactory(sku="SOCKS")
    stock(shirt, warehouse, 10)
    stock(socks, warehouse, 4)
    rows = [["仓库", "SKU", "盘点数量", "盘点单号"], ["hz", "SHIRT", 7, "CC-9"], ["HZ", "SOCKS", 4.0, ""]]

    previewed = preview(client, "stocklevel", rows)

    assert actions(previewed) == ["update", "skip"]
    assert StockLevel.objects.get(product=shirt).on_hand == 10

    confirm(client, "stocklevel", previewed)

    assert StockLevel.objects.get(product=shirt).on_hand == 7
    count = StockMovement.objects.get(kind=StockMovement.Kind.COUNT)
    assert (count.on_hand_change, count.reference, count.actor) == (-3, "CC-9", operator)
    assert StockLevel.objects.get(product=socks).on_hand == 4
    assert not ledger_mismatches().exists()


def test_a_count_for_a_product_new_to_the_warehouse_starts_its_stock_level(client, manager, warehouse):
    cup = ProductFactory(sku="CUP")

    confirm(
        client,
        "stocklevel",
        preview(client, "stocklevel", [["warehouse", "sku", "counted"], ["HZ", "CUP", 12]], file_format=CSV),
    )

    level = StockLevel.objects.get(product=cup, warehouse=warehouse)
    assert level.on_hand == 12
    assert level.movements.get().reference == "Count import upload.csv"


def test_stock_count_rows_in_error_are_named_with_their_column(client, manager, warehouse):
    product = ProductFactory(sku="SHIRT")
    stock(product, warehouse, 10)
    place(lines=[(product, 6)])
    rows = [
        ["warehouse", "sku", "counted"],
        ["NOWHERE", "SHIRT", 1],
        ["HZ", "NOPE", 1],
        ["HZ", "SHIRT", -2],
        ["HZ", "SHIRT", 2.5],
        ["HZ", "SHIRT", 5],
    ]

    previewed = preview(client, "stocklevel", rows)

    errors = invalid(previewed)
    assert errors[2, "warehouse"] == ["Unknown warehouse “NOWHERE”."]
    assert errors[3, "sku"] == ["Unknown SKU “NOPE”."]
    assert errors[4, "counted"] == ["Enter the units counted: a whole number, zero or more."]
    assert errors[5, "counted"] == ["Enter a whole number."]
    assert errors[6, "counted"] == [
        "The count is below the 6 units reserved for orders; release or re-allocate them first."
    ]
    assert previewed.context["confirm_url"] == ""
    assert not StockMovement.objects.filter(kind=StockMovement.Kind.COUNT).exists()


def test_a_count_that_fails_at_confirmation_rolls_back_every_row(client, manager, warehouse):
    shirt, socks = ProductFactory(sku="SHIRT"), ProductFactory(sku="SOCKS")
    stock(shirt, warehouse, 10)
    stock(socks, warehouse, 10)
    previewed = preview(client, "stocklevel", [["warehouse", "sku", "counted"], ["HZ", "SOCKS", 8], ["HZ", "SHIRT", 3]])
    place(lines=[(shirt, 5)])

    response = confirm(client, "stocklevel", previewed)

    assert response.url == reverse("admin:inventory_stocklevel_import")
    messages = [str(message) for message in response.wsgi_request._messages]
    assert messages == [
        "Nothing was imported: rows 3 fail now, though the preview passed them. Upload the file again to see why."
    ]
    assert StockLevel.objects.get(product=socks).on_hand == 10
    assert not StockMovement.objects.filter(kind=StockMovement.Kind.COUNT).exists()


def test_only_staff_who_count_stock_import_counts(client):
    client.force_login(staff("Customer service"))
    assert client.get(reverse("admin:inventory_stocklevel_import")).status_code == 403

    client.force_login(staff("Warehouse operator"))
    page = client.get(reverse("admin:inventory_stocklevel_changelist")).text
    assert reverse("admin:inventory_stocklevel_import") in page
    assert reverse("admin:inventory_stocklevel_receive_new") in page


def test_an_upload_waits_for_confirmation_in_the_database_and_is_listed_with_past_imports(client, manager, warehouse):
    product = ProductFactory(sku="SHIRT")
    level = stock(product, warehouse, 3)

    previewed = preview(client, "stocklevel", [["warehouse", "sku", "counted"], ["HZ", "SHIRT", 5]])

    job = Job.objects.get()
    assert (job.kind, job.status, job.file_name) == ("import_stock", Job.Status.PREVIEWED, "upload.xlsx")
    assert previewed.context["confirm_url"] == reverse("admin:inventory_stocklevel_import_confirm", args=[job.pk])

    confirm(client, "stocklevel", previewed)

    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    level.refresh_from_db()
    assert level.on_hand == 5
    assert "upload.xlsx" in client.get(reverse("admin:orders_order_import_history")).text


# --- errors as every import reports them, and the import's true state ------------------------------


def test_a_text_price_is_a_sentence_on_its_cell_and_the_files_other_errors_are_reported_with_it(client, manager):
    rows = [
        ["sku", "name", "unit_price", "cost"],
        ["CUP", "Cup", "twelve", "4"],
        ["POT", "Pot", "30", "-2"],
        ["", "No SKU", "5", "1"],
    ]

    previewed = preview(client, "product", rows)

    assert invalid(previewed) == {
        (2, "unit_price"): ["Enter an amount such as 12.50."],
        (3, "cost"): ["Ensure this value is greater than or equal to 0."],
        (4, "sku"): ["Enter the product's SKU."],
    }
    assert "ConversionSyntax" not in previewed.text
    assert previewed.context["job"].status == Job.Status.FAILED
    assert not Product.objects.exists()


def test_errors_name_the_row_as_excel_shows_it_and_the_column_as_the_file_heads_it(client, manager):
    rows = [["SKU", "名称", "单价"], ["CUP", "杯子", "-1"]]

    previewed = preview(client, "product", rows)

    assert '<td class="oc-num">2</td><td>单价</td><td>Ensure this value is greater than or equal to 0.</td>' in (
        previewed.text
    )


def test_a_blank_cost_adds_a_new_product_at_cost_zero_and_keeps_a_known_products_cost(client, manager):
    ProductFactory(sku="KNOWN", cost=Decimal("7.00"), weight_kg=Decimal("1.200"))
    rows = [
        ["sku", "name", "unit_price", "cost", "weight_kg"],
        ["NEW", "New cup", "12", "", ""],
        ["KNOWN", "Known pot", "30", "", " "],
    ]

    previewed = preview(client, "product", rows)
    assert invalid(previewed) == {}
    confirm(client, "product", previewed)

    new, known = Product.objects.get(sku="NEW"), Product.objects.get(sku="KNOWN")
    assert (new.cost, new.weight_kg) == (Decimal("0.00"), Decimal("0.000"))
    assert (known.name, known.cost, known.weight_kg) == ("Known pot", Decimal("7.00"), Decimal("1.200"))


def test_a_new_product_needs_a_name_and_a_price_and_a_sku_is_listed_once(client, manager):
    rows = [["sku", "name", "unit_price"], ["CUP", "", ""], ["POT", "Pot", "3"], ["POT", "Pot again", "4"]]

    previewed = preview(client, "product", rows)

    assert invalid(previewed) == {
        (2, "name"): ["Enter the name of the new product."],
        (2, "unit_price"): ["Enter the unit price of the new product."],
        (4, "sku"): ["SKU “POT” is also in row 3; a file holds each product once."],
    }


def test_past_imports_show_each_product_and_count_import_as_it_stands(client, manager, warehouse):
    ProductFactory(sku="SHIRT")
    preview(client, "product", [["sku", "unit_price"], ["SHIRT", "abc"]])
    waiting = preview(client, "product", [["sku", "unit_price"], ["SHIRT", "9"]])
    imported = preview(client, "stocklevel", [["warehouse", "sku", "counted"], ["HZ", "SHIRT", 3]])
    confirm(client, "stocklevel", imported)

    page = client.get(reverse("admin:orders_order_import_history")).text

    failed, previewed, done = Job.objects.order_by("pk")
    assert [job.status for job in (failed, previewed, done)] == ["failed", "previewed", "done"]
    assert '<span class="oc-badge oc-job-failed">Failed</span>' in page
    assert "<td>1 error</td>" in page
    assert page.count("Checked, waiting for confirmation") == 1
    assert reverse("admin:inventory_product_import_job", args=[failed.pk]) in page
    assert reverse("admin:inventory_stocklevel_import_job", args=[done.pk]) in page
    assert waiting.context["job"] == previewed


def test_a_product_import_is_confirmed_once(client, manager):
    previewed = preview(client, "product", [["sku", "name", "unit_price"], ["CUP", "Cup", "3"]])
    confirm_url = previewed.context["confirm_url"]

    client.post(confirm_url)
    again = client.post(confirm_url, follow=True)

    assert Product.objects.filter(sku="CUP").count() == 1
    assert "This import cannot be confirmed (again)." in again.text


def test_the_errors_copy_and_the_template_of_the_product_import(client, manager):
    template = client.get(reverse("admin:inventory_product_import_template"))
    sheet = load_workbook(io.BytesIO(template.content)).active
    assert [cell.value for cell in sheet[1]][:3] == ["sku", "name", "barcode"]
    assert [cell.value for cell in sheet[2]][:3] == ["SKU", "名称", "条码"]

    previewed = preview(client, "product", [["SKU", "名称", "单价"], ["CUP", "杯子", "abc"]])
    copy = client.get(reverse("admin:inventory_product_import_errors", args=[previewed.context["job"].pk]))

    rows = list(load_workbook(io.BytesIO(copy.content)).active.iter_rows(values_only=True))
    assert rows[0][-1] == "errors / 错误"
    assert rows[1] == ("CUP", "杯子", "abc", "单价: Enter an amount such as 12.50.")


def test_the_template_as_downloaded_checks_clean_with_nothing_to_import(client, manager):
    template = client.get(reverse("admin:inventory_stocklevel_import_template")).content

    response = client.post(
        reverse("admin:inventory_stocklevel_import"), {"file": _named(template, "counts.xlsx")}, follow=True
    )

    assert response.context["job"].errors == []
    assert response.context["confirm_url"] == ""
    assert "Nothing to import: every row of the file matches what is stored." in response.text
