"""The buyer's console pages (docs/architecture.md, "Suppliers and purchase orders"): drafting by
form, the purchase order's page and steps by role, receiving by form and by scan with their
refusals, the printable order in both languages, the Excel export and the overdue list."""

import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core.actors import SYSTEM
from inventory import services
from inventory.models import PurchaseOrder, PurchasingSettings, StockLevel
from tests.factories import ProductFactory, SupplierProductFactory, WarehouseFactory, staff

pytestmark = pytest.mark.django_db

Status = PurchaseOrder.Status


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="SH", name="Shanghai")


@pytest.fixture
def offer():
    return SupplierProductFactory(
        product=ProductFactory(sku="TEA-1", name="Green tea", barcode="6901234567892"),
        supplier_sku="SUP-TEA",
        unit_cost=Decimal("12.50"),
    )


def url(view, purchase_order):
    return reverse(f"admin:inventory_purchaseorder_{view}", args=[purchase_order.pk])


def signed_in(client, role):
    user = staff(role)
    client.force_login(user)
    return user


def sent_order(offer, warehouse, quantity=10, **extra):
    purchase_order = services.create_purchase_order(
        supplier_id=offer.supplier_id,
        warehouse_id=warehouse.pk,
        lines=[(offer.product_id, quantity)],
        actor=SYSTEM,
        **extra,
    )
    return services.send_purchase_order(purchase_order.pk, actor=SYSTEM)


def test_a_buyer_drafts_by_sku_and_quantity_and_sends(client, warehouse, offer):
    buyer = signed_in(client, "Buyer")
    response = client.post(
        reverse("admin:inventory_purchaseorder_draft"),
        {"supplier": offer.supplier_id, "warehouse": warehouse.pk, "lines": "TEA-1 24\n", "notes": "Spring tea"},
    )
    purchase_order = PurchaseOrder.objects.get()
    assert response.status_code == 302
    assert response.url == url("page", purchase_order)
    assert purchase_order.created_by == buyer
    page = client.get(url("page", purchase_order))
    assert b"TEA-1" in page.content and b"300.00" in page.content
    assert b'id="po-send"' in page.content and b'id="po-approve"' not in page.content
    client.post(url("send", purchase_order))
    purchase_order.refresh_from_db()
    assert purchase_order.status == Status.SENT


def test_the_draft_form_names_the_line_with_an_unknown_sku_or_bad_quantity(client, warehouse, offer):
    signed_in(client, "Buyer")
    response = client.post(
        reverse("admin:inventory_purchaseorder_draft"),
        {"supplier": offer.supplier_id, "warehouse": warehouse.pk, "lines": "TEA-1 -4\nNOPE 3\nrubbish"},
    )
    text = response.content.decode()
    assert "Line 1: the quantity must be greater than zero." in text
    assert "Line 2: no product has the SKU “NOPE”." in text
    assert "Line 3: write the SKU, then the quantity." in text
    assert not PurchaseOrder.objects.exists()


def test_above_the_threshold_the_buyer_is_told_and_the_manager_approves(client, warehouse, offer):
    PurchasingSettings.objects.update_or_create(pk=1, defaults={"approval_threshold": Decimal("100")})
    purchase_order = services.create_purchase_order(
        supplier_id=offer.supplier_id, warehouse_id=warehouse.pk, lines=[(offer.product_id, 10)], actor=SYSTEM
    )
    signed_in(client, "Buyer")
    page = client.get(url("page", purchase_order)).content.decode()
    assert 'id="po-needs-approval"' in page and 'id="po-approve"' not in page
    response = client.post(url("send", purchase_order), follow=True)
    assert "a manager approves it before it is sent" in response.content.decode()
    signed_in(client, "Manager")
    assert 'id="po-approve"' in client.get(url("page", purchase_order)).content.decode()
    client.post(url("approve", purchase_order))
    purchase_order.refresh_from_db()
    assert purchase_order.approved_at is not None and purchase_order.status == Status.DRAFT


def test_the_purchasing_settings_are_the_managers(client):
    signed_in(client, "Buyer")
    assert client.get(reverse("admin:inventory_purchasingsettings_changelist")).status_code == 403
    signed_in(client, "Manager")
    response = client.get(reverse("admin:inventory_purchasingsettings_changelist"))
    assert response.status_code == 302
    settings = PurchasingSettings.current()
    client.post(
        reverse("admin:inventory_purchasingsettings_change", args=[settings.pk]), {"approval_threshold": "2500.00"}
    )
    assert PurchasingSettings.current().approval_threshold == Decimal("2500.00")


def test_an_operator_receives_by_form_and_an_over_receipt_without_reason_is_refused(client, warehouse, offer):
    purchase_order = sent_order(offer, warehouse, 10)
    line = purchase_order.lines.get()
    signed_in(client, "Warehouse operator")
    prefix = f"line-{line.pk}"
    response = client.post(url("receive", purchase_order), {f"{prefix}-good": "11", f"{prefix}-damaged": "1"})
    assert response.status_code == 200
    assert "12 units would have arrived against 10 ordered" in response.content.decode()
    assert not StockLevel.objects.filter(on_hand__gt=0).exists()
    response = client.post(url("receive", purchase_order), {f"{prefix}-good": "6", f"{prefix}-damaged": "1"})
    assert response.status_code == 302
    level = StockLevel.objects.get(product=offer.product, warehouse=warehouse)
    assert (level.on_hand, level.quarantined) == (6, 1)
    purchase_order.refresh_from_db()
    assert purchase_order.status == Status.PARTIALLY_RECEIVED


def test_scanning_an_unknown_code_says_so(client, warehouse, offer):
    purchase_order = sent_order(offer, warehouse, 2)
    signed_in(client, "Warehouse operator")
    response = client.post(url("scan", purchase_order), {"code": "999999"})
    assert "No product has the barcode or SKU “999999”." in response.content.decode()
    response = client.post(url("scan", purchase_order), {"code": "6901234567892"})
    assert "TEA-1: 1 of 2 in." in response.content.decode()


def test_a_buyer_may_not_receive_and_an_operator_may_not_draft_or_send(client, warehouse, offer):
    purchase_order = sent_order(offer, warehouse)
    signed_in(client, "Buyer")
    assert client.get(url("receive", purchase_order)).status_code == 403
    assert b'id="po-receive"' not in client.get(url("page", purchase_order)).content
    signed_in(client, "Warehouse operator")
    assert client.get(reverse("admin:inventory_purchaseorder_draft")).status_code == 403
    page = client.get(url("page", purchase_order)).content
    assert b'id="po-receive"' in page and b'id="po-cancel"' not in page
    signed_in(client, "Customer service")
    assert client.get(url("page", purchase_order)).status_code == 403


@pytest.mark.parametrize(("language", "word"), [("en", "Supplier"), ("zh-hans", "zh-hans")])
def test_the_printed_order_shows_lines_total_and_the_supplier_code(client, warehouse, offer, language, word):
    purchase_order = sent_order(offer, warehouse, 4)
    signed_in(client, "Buyer")
    text = client.get(url("print", purchase_order), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'lang="{language}"' in text
    assert word in text
    assert purchase_order.number in text and "SUP-TEA" in text and "50.00" in text


def test_the_export_has_a_row_per_line_with_what_arrived(client, warehouse, offer):
    purchase_order = sent_order(offer, warehouse, 10)
    services.receive_purchase_order(
        purchase_order.pk, [services.LineReceipt(purchase_order.lines.get().pk, good=3)], actor=SYSTEM
    )
    signed_in(client, "Buyer")
    response = client.post(
        reverse("admin:inventory_purchaseorder_export"), {"kind": "export_purchase_orders", "file_format": "xlsx"}
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    header, row = rows[0], rows[1]
    assert len(rows) == 2
    assert (row[0], row[1], row[8]) == (purchase_order.number, offer.supplier.code, "TEA-1")
    assert row[header.index("Received")] == 3


def test_the_list_links_to_the_overdue_orders(client, warehouse, offer):
    late = sent_order(offer, warehouse, expected_on=timezone.localdate() - datetime.timedelta(days=2))
    on_time = sent_order(offer, warehouse, expected_on=timezone.localdate() + datetime.timedelta(days=2))
    signed_in(client, "Buyer")
    listing = client.get(reverse("admin:inventory_purchaseorder_changelist")).content.decode()
    assert "1 overdue" in listing
    overdue = client.get(reverse("admin:inventory_purchaseorder_changelist") + "?overdue=yes").content.decode()
    assert late.number in overdue and on_time.number not in overdue
