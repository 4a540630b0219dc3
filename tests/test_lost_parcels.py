"""Lost parcels (docs/architecture.md, "Lost parcels"): a claim against the carrier with its amount,
answer, payment and documents, and a replacement parcel that reserves its stock again, goes through
packing and dispatch like any parcel, books its own units out and delivers the order when it
arrives, without ever moving the order back."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.actors import SYSTEM
from core.transitions import TransitionRefused
from inventory import services as inventory
from inventory.models import StockMovement
from logistics import services as logistics
from logistics.models import (
    CarrierClaim,
    ClaimDocument,
    ExceptionKind,
    ParcelReplacement,
    ReplacementStock,
    Shipment,
    TrackingEvent,
)
from logistics.services import privacy
from orders.models import Notification, NotificationEvent, Order
from tests.factories import (
    CarrierFactory,
    CarrierServiceFactory,
    ProductFactory,
    WarehouseFactory,
    advance,
    place_apart,
    staff,
    stock,
    tracking_number,
)
from tests.test_concurrency import assert_stock_consistent, quantities

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def claim_documents_root(settings, tmp_path):
    settings.CLAIM_DOCUMENTS_ROOT = str(tmp_path / "claims")
    return tmp_path / "claims"


@pytest.fixture
def coordinator():
    return staff("Logistics coordinator")


@pytest.fixture
def finance():
    return staff("Finance")


@pytest.fixture
def level():
    product = ProductFactory(sku="LAMP-1", unit_price=Decimal("59.90"))
    return stock(product, WarehouseFactory(code="MAIN"), 10)


def report_lost(shipment, *, actor=SYSTEM, when=None):
    logistics.record_tracking_event(
        shipment.pk,
        status=TrackingEvent.Status.EXCEPTION,
        exception_kind=ExceptionKind.LOST,
        occurred_at=when or timezone.now(),
        source=TrackingEvent.Source.CONSOLE,
        actor=actor,
    )
    shipment.refresh_from_db()
    return shipment


def shipped_order(level, quantity=2, **overrides):
    CarrierServiceFactory()
    return advance(place_apart(lines=[(level.product, quantity)], **overrides), "shipped")


def lost_parcel_of(order):
    return report_lost(order.shipments.get())


def pack_and_dispatch(parcel, *, actor=SYSTEM):
    for line in parcel.lines.select_related("order_line"):
        for _unit in range(line.quantity):
            logistics.pack_item(parcel.pk, line.order_line.sku, actor=actor)
    logistics.finish_packing(parcel.pk, weight_kg="1.0", package_count=1, actor=actor)
    carrier_id = parcel.carrier_id or CarrierFactory().pk
    return logistics.dispatch(parcel.pk, carrier_id=carrier_id, tracking_number=tracking_number(), actor=actor)


# Claims -------------------------------------------------------------------------------------------


def test_a_claim_for_a_lost_parcel_claims_the_goods_value_by_default(level, coordinator):
    order = shipped_order(level, 2)
    lost = lost_parcel_of(order)

    claim = logistics.file_claim(lost.pk, carrier_reference=" SF-C-77 ", actor=coordinator)

    assert claim.claimed_amount == Decimal("119.80")
    assert (claim.status, claim.carrier, claim.currency) == (CarrierClaim.Status.FILED, lost.carrier, order.currency)
    assert (claim.carrier_reference, claim.filed_by) == ("SF-C-77", coordinator)


def test_erasing_the_customers_data_blanks_the_claims_notes_and_keeps_its_figures(level, coordinator):
    order = shipped_order(level, 2)
    claim = logistics.file_claim(
        lost_parcel_of(order).pk, note="Customer Wang at 12 West Lake Rd says it never came", actor=coordinator
    )
    logistics.reject_claim(claim.pk, reason="Signed for by the neighbour at no. 14", actor=coordinator)

    # What orders.events.PERSONAL_DATA_ERASED asks of logistics when the customer is erased.
    privacy.erase_personal_data(customer_ids=[order.customer_id], order_ids=[order.pk])

    claim.refresh_from_db()
    assert (claim.note, claim.decision_note) == ("", "")
    assert (claim.claimed_amount, claim.status) == (Decimal("119.80"), CarrierClaim.Status.REJECTED)


def test_the_goods_value_of_a_parcel_is_its_share_of_each_line_total_to_the_cent(level):
    order = shipped_order(level, 3)
    line = order.lines.get()
    line.line_total = Decimal("100.00")
    line.save()
    lost = lost_parcel_of(order)
    lost.lines.update(quantity=1, packed_quantity=1)

    assert logistics.goods_value(lost) == Decimal("33.33")


def test_a_claim_may_name_its_own_amount_and_refuses_one_that_is_not_money(level, coordinator):
    lost = lost_parcel_of(shipped_order(level))

    with pytest.raises(ValidationError) as refused:
        logistics.file_claim(lost.pk, amount="12.345", actor=coordinator)
    assert "amount" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        logistics.file_claim(lost.pk, amount="-3", actor=coordinator)
    assert "amount" in refused.value.message_dict

    assert logistics.file_claim(lost.pk, amount="150.00", actor=coordinator).claimed_amount == Decimal("150.00")


def test_a_claim_is_refused_for_a_parcel_not_reported_lost(level, coordinator):
    order = shipped_order(level)

    with pytest.raises(TransitionRefused, match="not reported lost"):
        logistics.file_claim(order.shipments.get().pk, actor=coordinator)
    assert not CarrierClaim.objects.exists()


def test_a_parcel_has_one_claim_until_the_carrier_rejects_it(level, coordinator):
    lost = lost_parcel_of(shipped_order(level))
    first = logistics.file_claim(lost.pk, actor=coordinator)

    with pytest.raises(ValidationError, match=f"already has claim {first.pk}"):
        logistics.file_claim(lost.pk, actor=coordinator)

    logistics.reject_claim(first.pk, reason="No proof of value", actor=coordinator)
    second = logistics.file_claim(lost.pk, actor=coordinator)
    assert second.pk != first.pk
    assert CarrierClaim.objects.filter(shipment=lost).count() == 2


def test_an_accepted_claim_keeps_the_settled_amount_and_finance_records_its_payment(level, coordinator, finance):
    lost = lost_parcel_of(shipped_order(level))
    claim = logistics.file_claim(lost.pk, actor=coordinator)

    claim = logistics.accept_claim(claim.pk, settled_amount="100.00", note="Capped by the carrier", actor=coordinator)
    assert (claim.status, claim.settled_amount, claim.decided_by) == (
        CarrierClaim.Status.ACCEPTED,
        Decimal("100.00"),
        coordinator,
    )
    claim = logistics.record_claim_payment(claim.pk, actor=finance)
    assert (claim.status, claim.paid_recorded_by) == (CarrierClaim.Status.PAID, finance)
    assert claim.paid_at is not None


def test_a_carrier_cannot_settle_more_than_was_claimed(level, coordinator):
    claim = logistics.file_claim(lost_parcel_of(shipped_order(level)).pk, amount="50.00", actor=coordinator)

    with pytest.raises(ValidationError) as refused:
        logistics.accept_claim(claim.pk, settled_amount="50.01", actor=coordinator)

    assert "settled_amount" in refused.value.message_dict
    claim.refresh_from_db()
    assert (claim.status, claim.settled_amount) == (CarrierClaim.Status.FILED, None)


def test_a_rejection_needs_the_carriers_reason_and_a_decided_claim_takes_no_second_answer(level, coordinator):
    claim = logistics.file_claim(lost_parcel_of(shipped_order(level)).pk, actor=coordinator)
    with pytest.raises(ValidationError) as refused:
        logistics.reject_claim(claim.pk, reason=" ", actor=coordinator)
    assert "reason" in refused.value.message_dict

    logistics.reject_claim(claim.pk, reason="Parcel found", actor=coordinator)
    with pytest.raises(TransitionRefused, match="Rejected"):
        logistics.accept_claim(claim.pk, settled_amount="10.00", actor=coordinator)


def test_only_an_accepted_claim_is_paid(level, coordinator, finance):
    claim = logistics.file_claim(lost_parcel_of(shipped_order(level)).pk, actor=coordinator)

    with pytest.raises(TransitionRefused, match="Filed"):
        logistics.record_claim_payment(claim.pk, actor=finance)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("Logistics coordinator", True), ("Manager", True), ("Finance", False), ("Warehouse operator", False)],
)
def test_who_may_file_a_claim(level, role, allowed):
    lost = lost_parcel_of(shipped_order(level))
    if allowed:
        assert logistics.file_claim(lost.pk, actor=staff(role))
    else:
        with pytest.raises(PermissionDenied):
            logistics.file_claim(lost.pk, actor=staff(role))


def test_a_coordinator_may_not_record_the_carriers_payment(level, coordinator):
    claim = logistics.file_claim(lost_parcel_of(shipped_order(level)).pk, actor=coordinator)
    logistics.accept_claim(claim.pk, settled_amount="10.00", actor=coordinator)

    with pytest.raises(PermissionDenied):
        logistics.record_claim_payment(claim.pk, actor=coordinator)


# Documents ----------------------------------------------------------------------------------------


def test_a_document_is_kept_under_a_random_name_with_the_type_read_from_its_bytes(
    level, coordinator, claim_documents_root
):
    claim = logistics.file_claim(lost_parcel_of(shipped_order(level)).pk, actor=coordinator)

    document = logistics.attach_claim_document(
        claim.pk, SimpleUploadedFile("王小明 loss report.exe", PDF, content_type="text/html"), actor=coordinator
    )

    assert (document.original_name, document.content_type, document.size) == (
        "王小明 loss report.exe",
        "application/pdf",
        len(PDF),
    )
    assert document.file.name.endswith(".pdf") and "loss" not in document.file.name
    assert len(document.file.name.rsplit("/", 1)[1]) == 32 + 4
    assert (claim_documents_root / document.file.name).read_bytes() == PDF
    with pytest.raises(ValueError):
        document.file.url  # noqa: B018 - a kept document has no web address


def test_two_documents_of_the_same_name_are_kept_apart(level, coordinator):
    claim = logistics.file_claim(lost_parcel_of(shipped_order(level)).pk, actor=coordinator)
    first, second = (
        logistics.attach_claim_document(claim.pk, SimpleUploadedFile("a.png", PNG), actor=coordinator)
        for _time in range(2)
    )
    assert first.file.name != second.file.name


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"<html><script>alert(1)</script>", "PDF, JPEG or PNG"), (b"", "empty")],
)
def test_a_document_of_another_type_or_empty_is_refused(level, coordinator, content, message, claim_documents_root):
    claim = logistics.file_claim(lost_parcel_of(shipped_order(level)).pk, actor=coordinator)

    with pytest.raises(ValidationError, match=message):
        logistics.attach_claim_document(claim.pk, SimpleUploadedFile("proof.pdf", content), actor=coordinator)

    assert not ClaimDocument.objects.exists()
    assert not claim_documents_root.exists() or not any(p.is_file() for p in claim_documents_root.rglob("*"))


def test_a_document_over_the_size_limit_is_refused(level, coordinator, settings):
    settings.CLAIM_DOCUMENT_MAX_BYTES = 1024
    claim = logistics.file_claim(lost_parcel_of(shipped_order(level)).pk, actor=coordinator)

    with pytest.raises(ValidationError, match="larger than"):
        logistics.attach_claim_document(claim.pk, SimpleUploadedFile("big.pdf", PDF + b"0" * 1024), actor=coordinator)
    assert not ClaimDocument.objects.exists()


# Replacements -------------------------------------------------------------------------------------


def test_a_replacement_reserves_the_lost_units_again_and_waits_to_be_packed(level, coordinator):
    order = shipped_order(level, 2)
    lost = lost_parcel_of(order)
    assert quantities(level) == (8, 0)

    replacement = logistics.send_replacement(lost.pk, actor=coordinator)

    parcel = replacement.parcel
    assert (parcel.purpose, parcel.status, parcel.order, parcel.warehouse) == (
        Shipment.Purpose.REPLACEMENT,
        Shipment.Status.PENDING,
        order,
        level.warehouse,
    )
    assert [(line.order_line_id, line.quantity) for line in parcel.lines.all()] == [(order.lines.get().pk, 2)]
    assert quantities(level) == (8, 2)
    assert ReplacementStock.objects.get().stock_level == level
    assert Order.objects.get(pk=order.pk).status == Order.Status.SHIPPED
    assert_stock_consistent()


def test_the_customer_is_told_the_goods_are_sent_again(level, coordinator):
    order = shipped_order(level)
    order.customer.email = "buyer@example.com"
    order.customer.save()
    lost = lost_parcel_of(order)

    logistics.send_replacement(lost.pk, actor=coordinator)

    told = {n.medium: n for n in Notification.objects.filter(order=order, event=NotificationEvent.PARCEL_REPLACED)}
    assert set(told) == {"email", "sms"}
    assert lost.tracking_number in told["email"].body
    assert all(order.number in notification.body for notification in told.values())


def test_a_replacement_short_of_stock_names_the_sku_and_writes_nothing(level, coordinator):
    order = shipped_order(level, 2)
    lost = lost_parcel_of(order)
    inventory.adjust(stock_level_id=level.pk, change=-7, reason="Counted", actor=SYSTEM)

    with pytest.raises(ValidationError, match="LAMP-1 × 1"):
        logistics.send_replacement(lost.pk, actor=coordinator)

    assert quantities(level) == (1, 0)
    assert not Shipment.objects.filter(purpose=Shipment.Purpose.REPLACEMENT).exists()
    assert not ParcelReplacement.objects.exists()
    assert not Notification.objects.filter(event=NotificationEvent.PARCEL_REPLACED).exists()


def test_a_parcel_is_sent_again_once(level, coordinator):
    lost = lost_parcel_of(shipped_order(level, 2))
    first = logistics.send_replacement(lost.pk, actor=coordinator)

    with pytest.raises(ValidationError, match=f"as parcel {first.parcel_id}"):
        logistics.send_replacement(lost.pk, actor=coordinator)

    assert quantities(level) == (8, 2)


def test_only_a_lost_parcel_is_sent_again(level, coordinator):
    order = shipped_order(level)

    with pytest.raises(TransitionRefused, match="not reported lost"):
        logistics.send_replacement(order.shipments.get().pk, actor=coordinator)


def test_a_warehouse_operator_may_not_send_a_parcel_again(level):
    lost = lost_parcel_of(shipped_order(level))

    with pytest.raises(PermissionDenied):
        logistics.send_replacement(lost.pk, actor=staff("Warehouse operator"))


def test_a_dispatched_replacement_books_its_own_units_out_and_leaves_the_order_shipped(level, coordinator):
    order = shipped_order(level, 2)
    parcel = logistics.send_replacement(lost_parcel_of(order).pk, actor=coordinator).parcel

    parcel = pack_and_dispatch(parcel)

    assert parcel.status == Shipment.Status.SHIPPED
    assert quantities(level) == (6, 0)
    assert ReplacementStock.objects.get().state == ReplacementStock.State.SHIPPED
    shipped_out = StockMovement.objects.filter(stock_level=level, kind=StockMovement.Kind.SHIPMENT)
    assert sorted(movement.on_hand_change for movement in shipped_out) == [-2, -2]
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED
    assert order.events.filter(to_status=Order.Status.SHIPPED).count() == 1
    assert Notification.objects.filter(order=order, event=NotificationEvent.ORDER_SHIPPED).count() >= 2
    assert_stock_consistent()


def test_the_order_is_delivered_when_its_replacement_arrives(level, coordinator):
    order = shipped_order(level, 2)
    lost = lost_parcel_of(order)
    parcel = pack_and_dispatch(logistics.send_replacement(lost.pk, actor=coordinator).parcel)

    logistics.mark_delivered(parcel.pk, actor=coordinator)

    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    lost.refresh_from_db()
    assert lost.status == Shipment.Status.EXCEPTION


def test_a_lost_parcel_found_after_its_replacement_left_does_not_deliver_the_order(level, coordinator):
    order = shipped_order(level, 2)
    lost = lost_parcel_of(order)
    pack_and_dispatch(logistics.send_replacement(lost.pk, actor=coordinator).parcel)

    logistics.record_tracking_event(
        lost.pk,
        status=TrackingEvent.Status.DELIVERED,
        occurred_at=timezone.now() + timedelta(minutes=1),
        source=TrackingEvent.Source.CONSOLE,
        actor=coordinator,
    )

    assert Order.objects.get(pk=order.pk).status == Order.Status.SHIPPED


def test_a_lost_parcel_without_a_replacement_keeps_its_order_from_delivery(level, coordinator):
    warehouse = level.warehouse
    other = stock(ProductFactory(sku="SHADE-2"), WarehouseFactory(code="EAST", priority=9), 5)
    CarrierServiceFactory()
    order = advance(place_apart(lines=[(level.product, 1), (other.product, 1)]), "shipped")
    first, second = order.shipments.get(warehouse=warehouse), order.shipments.exclude(warehouse=warehouse).get()
    report_lost(first)

    logistics.mark_delivered(second.pk, actor=coordinator)

    assert Order.objects.get(pk=order.pk).status == Order.Status.SHIPPED
