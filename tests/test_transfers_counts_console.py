"""Transfers and count sessions in the console, driven through the Django test client as warehouse
operators and managers use them (docs/architecture.md, "Transfers between warehouses", "Stock
counts")."""

import io

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from core.actors import SYSTEM
from inventory import services
from inventory.models import CountSession, StockLevel, Transfer
from inventory.selectors import ledger_mismatches
from tests.factories import ProductFactory, WarehouseFactory, staff, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    north, south = WarehouseFactory(code="NORTH"), WarehouseFactory(code="SOUTH")
    tea = ProductFactory(sku="TEA", barcode="6901111111111")
    cups = ProductFactory(sku="CUPS")
    stock(tea, north, 20, bin_location="A-01")
    stock(cups, north, 8, bin_location="A-02")
    return north, south, tea, cups


def signed_in(client, role):
    user = staff(role)
    client.force_login(user)
    return user


def messages_of(response):
    return [str(message) for message in response.wsgi_request._messages]


def test_an_operator_drafts_sends_and_receives_a_transfer_and_the_stock_list_shows_it_in_transit(client, shop):
    north, south, tea, _cups = shop
    signed_in(client, "Warehouse operator")
    new = reverse("admin:inventory_transfer_new")

    refused = client.post(new, {"source": north.pk, "destination": south.pk, "lines": "TEA 5\nNOPE 2\nCUPS -1"})
    assert refused.status_code == 200
    errors = " ".join(refused.context["form"].errors["lines"])
    assert "Line 2: unknown SKU or barcode “NOPE”." in errors and "Line 3:" in errors

    response = client.post(new, {"source": north.pk, "destination": south.pk, "lines": "6901111111111 5"})
    transfer = Transfer.objects.get()
    assert response.url == reverse("admin:inventory_transfer_page", args=[transfer.pk])
    client.post(reverse("admin:inventory_transfer_send", args=[transfer.pk]))
    assert Transfer.objects.get().status == Transfer.Status.IN_TRANSIT

    stock_list = client.get(reverse("admin:inventory_stocklevel_changelist"), {"warehouse__id__exact": north.pk})
    assert stock_list.status_code == 200
    transfers = client.get(reverse("admin:inventory_transfer_changelist")).text
    assert transfer.number in transfers and "In transit" in transfers
    page = client.get(reverse("admin:inventory_transfer_page", args=[transfer.pk])).text
    assert "receive-transfer" in page

    missing = client.post(
        reverse("admin:inventory_transfer_receive", args=[transfer.pk]),
        {f"received_{tea.pk}": "4", f"reason_{tea.pk}": ""},
    )
    assert "TEA: 4 received of 5 sent; say why." in " ".join(missing.context["receive_form"].errors[f"reason_{tea.pk}"])
    client.post(
        reverse("admin:inventory_transfer_receive", args=[transfer.pk]),
        {f"received_{tea.pk}": "4", f"reason_{tea.pk}": "one crushed"},
    )
    assert StockLevel.objects.get(product=tea, warehouse=south).on_hand == 4
    assert list(ledger_mismatches()) == []


def test_the_stock_level_shows_units_in_transit_to_it(client, shop):
    north, south, tea, _cups = shop
    transfer = services.create_transfer(source_id=north.pk, destination_id=south.pk, lines=[(tea.pk, 3)], actor=SYSTEM)
    services.send_transfer(transfer.pk, actor=SYSTEM)
    level = StockLevel.objects.create(product=tea, warehouse=south)
    signed_in(client, "Warehouse operator")
    listed = client.get(reverse("admin:inventory_stocklevel_changelist"), {"warehouse__id__exact": south.pk})
    assert listed.context["cl"].result_list[0].in_transit_qty == 3
    page = client.get(reverse("admin:inventory_stocklevel_change", args=[level.pk])).text
    assert "in transit" in page.lower()


def test_counting_is_blind_and_a_manager_approves_the_large_variance(client, shop):
    north, _south, tea, cups = shop
    signed_in(client, "Warehouse operator")
    client.post(reverse("admin:inventory_countsession_new"), {"warehouse": north.pk, "scope": "zone", "zone": "A"})
    session = CountSession.objects.get()
    page_url = reverse("admin:inventory_countsession_page", args=[session.pk])

    wrong_bin = client.post(page_url, {"code": "TEA", "quantity": "1", "bin_location": "Z-9"})
    assert "Bin Z-9 is not in count" in " ".join(wrong_bin.context["form"].errors["bin_location"])
    negative = client.post(page_url, {"code": "TEA", "quantity": "-3"})
    assert negative.context["form"].errors["quantity"]
    client.post(page_url, {"code": tea.barcode, "quantity": "1", "bin_location": "A-01"})
    client.post(page_url, {"code": "TEA", "quantity": "11"})
    client.post(page_url, {"code": "CUPS", "quantity": "8"})
    page = client.get(page_url)
    assert "Expected" not in page.text and ">20</td>" not in page.text
    assert page.context["report"] is None

    finished = client.post(reverse("admin:inventory_countsession_finish", args=[session.pk]), follow=True)
    assert "waits for a manager" in " ".join(messages_of(finished))
    assert "count-report" not in finished.text

    signed_in(client, "Manager")
    report = client.get(page_url)
    rows = {row.sku: row for row in report.context["report"]}
    assert (rows["TEA"].expected, rows["TEA"].counted, rows["TEA"].needs_approval) == (20, 12, True)
    client.post(reverse("admin:inventory_countsession_approve", args=[session.pk]))
    assert CountSession.objects.get().status == CountSession.Status.BOOKED
    assert StockLevel.objects.get(product=tea, warehouse=north).on_hand == 12


def _sheet(rows):
    book = Workbook()
    for cells in rows:
        book.active.append(cells)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "count.xlsx"
    return out


def test_a_count_sheet_goes_out_blank_and_comes_back_with_errors_named_by_row_and_column(client, shop):
    north, _south, _tea, _cups = shop
    session = services.open_count_session(warehouse_id=north.pk, scope="warehouse", actor=SYSTEM)
    signed_in(client, "Warehouse operator")

    template = load_workbook(io.BytesIO(client.get(reverse("admin:inventory_countsession_import_template")).content))
    assert [cell.value for cell in template.active[1]] == ["bin", "sku", "counted"]
    blank = load_workbook(
        io.BytesIO(client.get(reverse("admin:inventory_countsession_sheet", args=[session.pk])).content)
    )
    assert [list(row) for row in blank.active.iter_rows(values_only=True)] == [
        ["bin", "sku", "counted"],
        ["A-01", "TEA", None],
        ["A-02", "CUPS", None],
    ]

    upload = _sheet([["bin", "sku", "counted"], ["A-01", "TEA", -1], ["A-02", "GHOST", 3], ["B-9", "CUPS", 2]])
    previewed = client.post(
        reverse("admin:inventory_countsession_import"), {"session": session.pk, "file": upload}, follow=True
    )
    problems = {(error["row"], error["column"]) for error in previewed.context["job"].errors}
    assert problems == {(2, "counted"), (3, "sku"), (4, "bin")}
    assert not previewed.context["confirm_url"]

    good = _sheet([["库位", "SKU", "盘点数量"], ["A-01", "TEA", 20], ["A-02", "CUPS", 7]])
    previewed = client.post(
        reverse("admin:inventory_countsession_import"), {"session": session.pk, "file": good}, follow=True
    )
    client.post(previewed.context["confirm_url"])
    assert sorted(session.lines.values_list("counted", flat=True)) == [7, 20]
    assert StockLevel.objects.get(product__sku="CUPS").on_hand == 8


def test_count_settings_open_from_the_section(client):
    signed_in(client, "Manager")
    response = client.get(reverse("admin:inventory_countsettings_changelist"))
    assert response.status_code == 302
    assert client.get(response.url).status_code == 200


def test_searching_transfers_by_sku_keeps_each_transfers_units(client, shop):
    north, south, tea, cups = shop
    services.create_transfer(
        source_id=north.pk, destination_id=south.pk, lines=[(tea.pk, 2), (cups.pk, 3)], actor=SYSTEM
    )
    signed_in(client, "Warehouse operator")
    found = client.get(reverse("admin:inventory_transfer_changelist"), {"q": "CUPS"})
    assert [transfer.units for transfer in found.context["cl"].result_list] == [5]


def test_a_counter_corrects_a_line_and_a_bad_figure_is_refused(client, shop):
    north = shop[0]
    session = services.open_count_session(warehouse_id=north.pk, scope="bins", bins=["A-01"], actor=SYSTEM)
    line = session.lines.get()
    signed_in(client, "Warehouse operator")
    url = reverse("admin:inventory_countsession_set", args=[session.pk, line.pk])
    refused = client.post(url, {"counted": "-1"}, follow=True)
    assert "Enter a whole number, zero or more." in " ".join(messages_of(refused))
    client.post(url, {"counted": "0"})
    line.refresh_from_db()
    assert (line.counted, line.expected) == (0, 20)


def test_the_product_page_shows_units_in_transit_per_warehouse(client, shop):
    north, south, tea, _cups = shop
    StockLevel.objects.create(product=tea, warehouse=south)
    transfer = services.create_transfer(source_id=north.pk, destination_id=south.pk, lines=[(tea.pk, 7)], actor=SYSTEM)
    services.send_transfer(transfer.pk, actor=SYSTEM)
    signed_in(client, "Warehouse operator")
    page = client.get(reverse("admin:inventory_product_change", args=[tea.pk]))
    (stock_inline,) = [inline for inline in page.context["inline_admin_formsets"] if inline.formset.model is StockLevel]
    levels = {level.warehouse.code: level.in_transit_qty for level in stock_inline.formset.queryset}
    assert levels == {"NORTH": 0, "SOUTH": 7}
