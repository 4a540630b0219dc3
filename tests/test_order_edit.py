"""Editing an order before picking: lines added, removed and changed, re-priced, checked again, its
reserved stock following in one transaction, the change on the timeline, the customer told, money
owed back requested; and the console's "Edit order" page."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse

from core.transitions import TransitionRefused
from inventory.models import StockLevel
from inventory.selectors import ledger_mismatches
from orders import services as orders
from orders.models import Allocation, Notification, NotificationEvent, Order, OrderEvent, OrderLine, Refund
from orders.services import LineChange, LineInput
from tests.factories import ProductFactory, WarehouseFactory, pick_all, place, staff, stock

pytestmark = pytest.mark.django_db

Status = Order.Status


@pytest.fixture
def warehouse():
    return WarehouseFactory()


@pytest.fixture
def shirt(warehouse):
    item = ProductFactory(unit_price=Decimal("25.00"))
    stock(item, warehouse, 10)
    return item


@pytest.fixture
def mug(warehouse):
    item = ProductFactory(unit_price=Decimal("10.00"))
    stock(item, warehouse, 5)
    return item


@pytest.fixture
def service():
    return staff("Customer service")


def reserved(product):
    return StockLevel.objects.get(product=product).reserved


def fresh(order):
    return Order.objects.get(pk=order.pk)


def assert_ledger_whole():
    assert list(ledger_mismatches()) == []


def test_changing_a_quantity_reprices_and_reserves_the_extra_units(shirt, service):
    order = place(lines=[(shirt, 2)], shipping_fee="8.00")
    line = order.lines.get()
    result = orders.edit_order(order.pk, actor=service, changes=[LineChange(line.pk, quantity=3)])
    order = fresh(order)
    assert (order.subtotal, order.shipping_fee, order.total) == (Decimal("75.00"), Decimal("8.00"), Decimal("83.00"))
    assert order.lines.get().line_total == Decimal("75.00")
    assert reserved(shirt) == 3
    assert sum(a.quantity for a in Allocation.objects.filter(line=line, state=Allocation.State.RESERVED)) == 3
    assert order.status == Status.CONFIRMED and not result.held
    assert_ledger_whole()


def test_removing_a_line_releases_its_stock_and_adding_one_reserves(shirt, mug, service):
    order = place(lines=[(shirt, 2), (mug, 1)])
    mug_line = order.lines.get(product=mug)
    orders.edit_order(
        order.pk, actor=service, changes=[LineChange(mug_line.pk, quantity=0)], add=[LineInput(sku=mug.sku, quantity=4)]
    )
    order = fresh(order)
    assert not OrderLine.objects.filter(pk=mug_line.pk).exists()
    assert [(line.sku, line.quantity) for line in order.lines.all()] == [(shirt.sku, 2), (mug.sku, 4)]
    assert reserved(mug) == 4 and reserved(shirt) == 2
    assert order.total == Decimal("90.00")
    assert_ledger_whole()


def test_a_shortage_refuses_the_edit_naming_the_sku_and_changes_nothing(shirt, mug, service):
    order = place(lines=[(shirt, 1)])
    with pytest.raises(ValidationError) as refused:
        orders.edit_order(order.pk, actor=service, add=[LineInput(sku=mug.sku, quantity=9)])
    assert mug.sku in str(refused.value) and "4" in str(refused.value)
    order = fresh(order)
    assert order.lines.count() == 1 and order.total == Decimal("25.00")
    assert reserved(mug) == 0 and reserved(shirt) == 1
    assert_ledger_whole()


def test_an_unknown_sku_is_named_through_intakes_line_resolution(shirt, service):
    order = place(lines=[(shirt, 1)])
    with pytest.raises(ValidationError) as refused:
        orders.edit_order(order.pk, actor=service, add=[LineInput(sku="NOPE-1", quantity=1)])
    assert refused.value.message_dict == {
        "lines[1].sku": ["Unknown SKU “NOPE-1”: it is neither a product nor a code of channel Web shop."]
    }


def test_customer_service_may_not_change_prices_or_discounts(shirt, service):
    order = place(lines=[(shirt, 1)])
    line = order.lines.get()
    with pytest.raises(ValidationError) as refused:
        orders.edit_order(order.pk, actor=service, changes=[LineChange(line.pk, unit_price="1.00")])
    assert f"line-{line.pk}.unit_price" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        orders.edit_order(order.pk, actor=service, discount="5.00")
    assert "discount" in refused.value.message_dict


def test_a_manager_may_change_a_price_and_the_discount_is_kept(shirt):
    order = place(lines=[(shirt, 2)], discount="5.00")
    line = order.lines.get()
    orders.edit_order(order.pk, actor=staff("Manager"), changes=[LineChange(line.pk, unit_price="20.00")])
    order = fresh(order)
    assert (order.subtotal, order.discount, order.total) == (Decimal("40.00"), Decimal("5.00"), Decimal("35.00"))


def test_a_discount_larger_than_the_order_is_refused(shirt):
    order = place(lines=[(shirt, 2)], discount="30.00")
    line = order.lines.get()
    with pytest.raises(ValidationError) as refused:
        orders.edit_order(order.pk, actor=staff("Manager"), changes=[LineChange(line.pk, quantity=1)])
    assert "discount" in refused.value.message_dict
    assert fresh(order).total == Decimal("20.00")


def test_the_edit_is_on_the_timeline_with_who_and_the_customer_is_told(shirt, mug, service):
    order = place(lines=[(shirt, 1)], email="buyer@example.com")
    orders.edit_order(order.pk, actor=service, add=[LineInput(sku=mug.sku, quantity=2)])
    event = OrderEvent.objects.filter(order=order, transition="edit").get()
    assert event.actor == service
    assert mug.sku in event.reason and "25.00 → 45.00" in event.reason
    told = Notification.objects.filter(order=order, event=NotificationEvent.ORDER_CHANGED)
    assert {n.medium for n in told} == {"email", "sms"}
    assert "45.00" in told.get(medium="email").body


def test_a_paid_order_whose_total_goes_down_gets_the_difference_refunded(shirt, service):
    order = place(lines=[(shirt, 3)], payment_method="card", paid_amount="75.00")
    line = order.lines.get()
    result = orders.edit_order(order.pk, actor=service, changes=[LineChange(line.pk, quantity=1)])
    assert [refund.amount for refund in result.refunds] == [Decimal("50.00")]
    order = fresh(order)
    assert order.refund_due == Decimal("50.00") and order.status == Status.CONFIRMED
    assert Refund.objects.get(order=order).status == Refund.Status.REQUESTED


def test_a_prepaid_order_whose_total_goes_up_is_held_with_its_balance_due(shirt, service):
    order = place(lines=[(shirt, 1)], payment_method="card", paid_amount="25.00")
    line = order.lines.get()
    result = orders.edit_order(order.pk, actor=service, changes=[LineChange(line.pk, quantity=2)])
    order = fresh(order)
    assert result.held and order.status == Status.ON_HOLD
    assert order.balance_due == Decimal("25.00")
    assert [r["code"] for r in order.hold_reasons] == ["payment_mismatch"]
    # The reservation stays complete, so approving it after payment needs nothing more.
    assert reserved(shirt) == 2
    assert OrderEvent.objects.filter(order=order, to_status=Status.ON_HOLD, actor=service).exists()


def test_an_order_on_a_pick_list_can_no_longer_be_edited(shirt, service):
    order = place(lines=[(shirt, 1)])
    pick_all(order)
    with pytest.raises(TransitionRefused, match="Picking"):
        orders.edit_order(order.pk, actor=service, add=[LineInput(sku=shirt.sku, quantity=1)])


def test_someone_elses_change_since_the_page_was_read_refuses_the_edit(shirt, service):
    order = place(lines=[(shirt, 2)])
    seen = order.updated_at
    line = order.lines.get()
    orders.edit_order(order.pk, actor=service, changes=[LineChange(line.pk, quantity=3)], seen_updated_at=seen)
    with pytest.raises(TransitionRefused, match="changed while you were looking"):
        orders.edit_order(order.pk, actor=service, changes=[LineChange(line.pk, quantity=1)], seen_updated_at=seen)
    assert fresh(order).lines.get().quantity == 3


def test_warehouse_operators_may_not_edit_orders(shirt):
    order = place(lines=[(shirt, 1)])
    with pytest.raises(PermissionDenied):
        orders.edit_order(order.pk, actor=staff("Warehouse operator"), add=[LineInput(sku=shirt.sku, quantity=1)])


def test_a_held_order_without_reservation_is_edited_without_reserving(shirt, service):
    order = place(lines=[(shirt, 1)], address="")
    assert order.status == Status.ON_HOLD
    orders.edit_order(order.pk, actor=service, add=[LineInput(sku=shirt.sku, quantity=2)])
    assert reserved(shirt) == 0
    assert fresh(order).total == Decimal("75.00")


def test_the_rollups_agree_after_an_edit(shirt, mug, service, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = place(lines=[(shirt, 2)])
    with django_capture_on_commit_callbacks(execute=True):
        orders.edit_order(
            order.pk,
            actor=service,
            changes=[LineChange(order.lines.get().pk, quantity=1)],
            add=[LineInput(sku=mug.sku, quantity=1)],
        )
    # --check raises CommandError when a rollup row disagrees with the recomputation.
    call_command("rebuild_rollups", "--check", stdout=StringIO())


# --- the console ----------------------------------------------------------------------------------


def edit_url(order):
    return reverse("admin:orders_order_edit", args=[order.pk])


def test_the_order_page_links_to_edit_for_customer_service(client, shirt, service):
    order = place(lines=[(shirt, 1)])
    client.force_login(service)
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert edit_url(order) in page.content.decode()
    client.force_login(staff("Warehouse operator"))
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert edit_url(order) not in page.content.decode()
    assert client.get(edit_url(order)).status_code == 403


def formset_data(order, lines, new=(), **extra):
    data = {
        "seen": order.updated_at.isoformat(),
        "shipping_fee": str(order.shipping_fee),
        "discount": str(order.discount),
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": str(len(lines)),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "new-TOTAL_FORMS": str(len(new)),
        "new-INITIAL_FORMS": "0",
        "new-MIN_NUM_FORMS": "0",
        "new-MAX_NUM_FORMS": "1000",
        **extra,
    }
    for index, (line, quantity) in enumerate(lines):
        data[f"lines-{index}-line_id"] = str(line.pk)
        data[f"lines-{index}-quantity"] = str(quantity)
    for index, (sku, quantity) in enumerate(new):
        data[f"new-{index}-sku"] = sku
        data[f"new-{index}-quantity"] = str(quantity)
    return data


def test_the_edit_page_changes_the_order(client, shirt, mug, service):
    order = place(lines=[(shirt, 1)])
    client.force_login(service)
    assert client.get(edit_url(order)).status_code == 200
    answer = client.post(edit_url(order), formset_data(order, [(order.lines.get(), 2)], [(mug.sku, 1)]))
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert fresh(order).total == Decimal("60.00")


def test_the_edit_page_names_the_line_with_the_problem(client, shirt, service):
    order = place(lines=[(shirt, 1)])
    client.force_login(service)
    answer = client.post(edit_url(order), formset_data(order, [(order.lines.get(), 1)], [("NOPE-9", 1)]))
    assert answer.status_code == 200
    assert "Unknown SKU “NOPE-9”: it is neither a product nor a code of channel" in answer.content.decode()
    assert fresh(order).lines.count() == 1
