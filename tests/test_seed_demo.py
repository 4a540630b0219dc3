"""`manage.py seed_demo`: a newcomer's console opens on a lived-in shop, and loading it again is harmless."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from core.roles import MANAGER, ROLES
from demo.management.commands.seed_demo import DEMO_PASSWORD
from inventory.models import Product, PurchaseOrder, StockLevel, StockMovement, Supplier, SupplierProduct, Warehouse
from inventory.selectors import ledger_mismatches, low_stock
from inventory.services import purchase_order_needs_approval
from logistics.models import (
    Carrier,
    CarrierClaim,
    ParcelReplacement,
    PickWave,
    PooledTrackingNumber,
    Shipment,
    TrackingNumberPool,
)
from orders.models import Allocation, BlockedContact, Channel, Customer, Order, OrderEvent, OrderLine, Payment
from planning.models import InventorySnapshot, ProductDemand, ReplenishmentSuggestion

pytestmark = pytest.mark.django_db
COUNTED = [
    Product,
    Warehouse,
    StockLevel,
    StockMovement,
    Channel,
    Carrier,
    User,
    Customer,
    Order,
    OrderLine,
    Allocation,
    Payment,
    OrderEvent,
    Shipment,
    BlockedContact,
]


@pytest.fixture(scope="module")
def demo_shop(django_db_setup, django_db_blocker):
    """Seed once for the whole module (it takes seconds) inside a transaction undone afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        output = StringIO()
        call_command("seed_demo", stdout=output)
        yield output.getvalue()
        transaction.set_rollback(True)


def counts():
    return {model._meta.label: model.objects.count() for model in COUNTED}


def test_second_run_changes_nothing(demo_shop):
    before = counts()
    output = StringIO()

    call_command("seed_demo", stdout=output)

    assert counts() == before
    assert before["orders.Order"] >= 300
    assert "already loaded" in output.getvalue()


def test_orders_are_in_every_state_an_order_can_rest_in(demo_shop):
    statuses = set(Order.objects.values_list("status", flat=True))

    assert statuses == set(Order.Status.values) - {Order.Status.PENDING}


def test_held_orders_show_several_different_reasons(demo_shop):
    held = Order.objects.filter(status=Order.Status.ON_HOLD)
    codes = {reason["code"] for order in held for reason in order.hold_reasons}

    assert {
        "blocked_phone",
        "blocked_address",
        "phone_invalid",
        "address_incomplete",
        "payment_mismatch",
        "out_of_stock",
        "cod_over_limit",
        "high_value",
        "repeat_phone",
    } <= codes


def test_every_role_has_a_demo_user_with_the_printed_password(demo_shop):
    for role in [*ROLES, MANAGER]:
        users = User.objects.filter(groups__name=role, is_staff=True, is_active=True)
        assert any(user.check_password(DEMO_PASSWORD) for user in users), role
    assert User.objects.get(username="admin").is_superuser
    assert DEMO_PASSWORD in demo_shop


def test_stock_ledger_explains_every_unit_after_seeding(demo_shop):
    assert StockMovement.objects.filter(kind=StockMovement.Kind.SHIPMENT).exists()
    assert not ledger_mismatches().exists()
    assert low_stock().exists()


def test_every_channel_kind_is_present(demo_shop):
    assert set(Channel.objects.values_list("kind", flat=True)) == set(Channel.Kind.values)


def test_order_histories_are_spread_over_the_last_sixty_days(demo_shop):
    recently = timezone.now() - timedelta(minutes=5)

    assert Order.objects.filter(placed_at__lt=recently - timedelta(days=50)).exists()
    assert Order.objects.filter(placed_at__gt=recently - timedelta(days=1)).exists()
    assert OrderEvent.objects.filter(created_at__lt=recently - timedelta(days=30)).exists()
    assert not OrderEvent.objects.filter(created_at__gt=recently).exists()
    assert not StockMovement.objects.filter(created_at__gt=recently).exists()
    assert not Shipment.objects.filter(shipped_at__gt=recently).exists()


def test_what_each_step_wrote_is_moved_to_the_step_in_the_past(demo_shop):
    recently = timezone.now() - timedelta(minutes=5)
    stamped = [(Allocation, "created_at"), (Payment, "created_at"), (PickWave, "created_at"), (Shipment, "packed_at")]
    stamped += [
        (Order, f"{step}_at")
        for step in ("confirmed", "picking", "packed", "shipped", "delivered", "cancelled", "returned")
    ]

    for model, stamp in stamped:
        assert model.objects.exclude(**{stamp: None}).exists(), (model, stamp)
        assert not model.objects.filter(**{f"{stamp}__gt": recently}).exists(), (model, stamp)


def test_the_demo_has_an_edited_order_and_a_split_one(demo_shop):
    assert OrderEvent.objects.filter(transition="edit").exists()
    assert Order.objects.filter(split_from__isnull=False).exists()


def test_the_demo_has_orders_to_merge_and_a_merged_pair(demo_shop):
    from orders import selectors as order_selectors
    from orders.models import OrderMerge

    (merged,) = [merge for merge in OrderMerge.objects.all() if merge.orders.count() == 2]
    assert merged.created_by.username == "reviewer"
    offered = order_selectors.merge_groups(across_channels=False)
    assert any(
        {o.channel_order_id for o in group.orders} >= {"DEMO-MERGE-offered-1", "DEMO-MERGE-offered-2"}
        for group in offered
    )


def test_the_demo_has_a_bundle_a_gift_and_a_channel_code_each_used_by_an_order(demo_shop):
    from orders.models import ChannelSku, GiftRule

    assert OrderLine.objects.filter(bundle__sku="TEA-SET-01").exists()
    assert OrderLine.objects.filter(is_gift=True, order__channel_order_id="CAT-GIFT-1").exists()
    assert GiftRule.objects.exists()
    assert ChannelSku.objects.filter(channel__code="tmall").exists()
    assert OrderLine.objects.filter(order__channel_order_id="CAT-TMALL-1", sku="TEA-002", bundle=None).exists()


def test_a_pick_list_was_printed_with_numbers_from_a_carrier_services_pool(demo_shop):
    pool = TrackingNumberPool.objects.get()
    given = PooledTrackingNumber.objects.exclude(shipment=None)

    assert pool.numbers.count() == 250 and given.exists()
    assert set(Shipment.objects.filter(pk__in=given.values("shipment_id")).values_list("label_prints", flat=True)) == {
        1
    }
    assert sorted(
        Shipment.objects.filter(pk__in=given.values("shipment_id")).values_list("tracking_number", flat=True)
    ) == sorted(given.values_list("number", flat=True))


def test_the_demo_has_parcels_packed_by_scans_an_open_handover_and_a_dispatched_one(demo_shop):
    from analytics import selectors as dashboard
    from logistics.models import HandoverBatch, PackingScanRefusal

    assert PackingScanRefusal.objects.filter(scanned_by__username="warehouse").count() == 2
    dispatched = HandoverBatch.objects.get(dispatched_at__isnull=False)
    waiting = HandoverBatch.objects.get(dispatched_at__isnull=True)
    assert (dispatched.carrier.code, dispatched.parcels.count()) == ("zto", 2)
    assert {parcel.shipment.status for parcel in dispatched.parcels.all()} == {Shipment.Status.SHIPPED}
    assert (waiting.carrier.code, waiting.parcels.count()) == ("sf", 3)
    assert Shipment.objects.filter(
        status=Shipment.Status.PACKED,
        carrier__code="sf",
        handover__isnull=True,
        order__channel_order_id="DEMO-STATION-6",
    ).exists()
    today = timezone.localdate()
    figures = {
        row.name: row for row in dashboard.staff(dashboard.Filters(dashboard.Period(today - timedelta(days=59), today)))
    }
    packer = figures["李强"]
    assert packer.packing.refused_scans == 2
    assert packer.refused_per_hundred_units is not None and packer.units_per_hour is not None


def test_the_demo_has_a_parcel_coming_back_and_one_received_back(demo_shop):
    from logistics.models import Interception

    intercepted = Interception.objects.filter(status=Interception.Status.INTERCEPTED).select_related("shipment")
    assert sorted(i.shipment.status for i in intercepted) == sorted(
        [Shipment.Status.RETURNED, Shipment.Status.RECEIVED_BACK]
    )
    returned = Order.objects.get(channel_order_id="DEMO-INTERCEPT-received")
    assert returned.status == Order.Status.RETURNED
    assert returned.refund_due > 0
    assert StockMovement.objects.filter(reference=returned.number, kind=StockMovement.Kind.QUARANTINE).count() == 1


def test_the_demo_has_a_lost_parcel_with_a_settled_claim_and_a_replacement_waiting(demo_shop):
    replacement = ParcelReplacement.objects.select_related("lost", "parcel").get()

    assert (replacement.lost.status, replacement.lost.exception_kind) == ("exception", "lost")
    assert replacement.parcel.status == "pending"
    assert CarrierClaim.objects.get(shipment=replacement.lost).status == "accepted"


def test_the_demo_products_are_classified_and_the_inventory_page_has_figures(demo_shop):
    classes = set(Product.objects.values_list("abc_class", flat=True))
    snapshot = InventorySnapshot.objects.get()

    assert classes == {"A", "B", "C"}
    assert snapshot.revenue > 0 and snapshot.stock.filter(dead=True).exists()


def test_the_demo_has_suppliers_and_a_purchase_order_in_every_state(demo_shop):
    assert Supplier.objects.filter(currency="JPY").exists()
    assert SupplierProduct.objects.filter(preferred=True).exists()
    assert set(PurchaseOrder.objects.values_list("status", flat=True)) == set(PurchaseOrder.Status.values)
    drafts = PurchaseOrder.objects.filter(status=PurchaseOrder.Status.DRAFT)
    assert any(purchase_order_needs_approval(draft) for draft in drafts)
    assert StockMovement.objects.exclude(purchase_order_line=None).exists()


def test_the_demo_ends_with_a_planning_run_over_its_sales(demo_shop):
    stocked = StockLevel.objects.filter(product__active=True, warehouse__active=True).count()
    assert ProductDemand.objects.count() >= stocked
    assert ProductDemand.objects.filter(units_30__gt=0).exists()
    assert ReplenishmentSuggestion.objects.exists()
    assert "planning:" in demo_shop
