"""Manual hold (挂起) and release (docs/architecture.md, "Orders that wait"): a flag beside the
status, with a reason and an optional end; a held order keeps its status and cannot go on a pick
list until it is released, by hand or by the scheduled command at its end."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from core.actors import SYSTEM
from logistics import services as logistics
from orders import services as orders
from orders.models import Order, OrderEvent
from tests.factories import ProductFactory, WarehouseFactory, advance, pick_all, place, staff, stock

pytestmark = pytest.mark.django_db

Status = Order.Status
REASON = "customer asked to wait for the matching sofa"


@pytest.fixture
def warehouse():
    return WarehouseFactory()


@pytest.fixture
def product(warehouse):
    lamp = ProductFactory(sku="LAMP", unit_price=Decimal("25.00"))
    stock(lamp, warehouse, 50)
    return lamp


@pytest.fixture
def reviewer():
    return staff("Order reviewer")


_buyers = iter(range(1, 10**6))


def confirmed(product, quantity=1):
    n = next(_buyers)
    order = place(lines=[(product, quantity)], phone=f"1390000{n:04d}", address=f"文三路 {n} 号")
    assert order.status == Status.CONFIRMED
    return order


def fresh(order):
    return Order.objects.get(pk=order.pk)


# --- services ------------------------------------------------------------------------------------


def test_holding_keeps_the_status_and_writes_the_reason_on_the_timeline(product, reviewer):
    order = confirmed(product)

    outcome = orders.hold_orders([order.pk], reason=REASON, actor=reviewer)

    order = fresh(order)
    assert outcome.done == [order.number] and outcome.refused == {}
    assert order.status == Status.CONFIRMED
    assert (order.manual_hold_reason, order.manual_hold_by, order.manual_hold_until) == (REASON, reviewer, None)
    assert order.is_manually_held
    event = order.events.last()
    assert (event.transition, event.from_status, event.to_status, event.reason, event.actor) == (
        "manual_hold",
        Status.CONFIRMED,
        Status.CONFIRMED,
        REASON,
        reviewer,
    )


def test_a_held_order_cannot_go_on_a_pick_list_and_the_refusal_names_it_and_the_reason(product, reviewer, warehouse):
    order = confirmed(product)
    orders.hold_orders([order.pk], reason=REASON, actor=reviewer)

    with pytest.raises(ValidationError) as refused:
        logistics.create_pick_wave(warehouse.pk, [order.pk], actor=staff("Warehouse operator"))

    message = " ".join(refused.value.messages)
    assert order.number in message and REASON in message
    assert fresh(order).status == Status.CONFIRMED
    assert not order.shipments.exists()


def test_a_released_order_goes_on_a_pick_list_again(product, reviewer):
    order = confirmed(product)
    orders.hold_orders([order.pk], reason=REASON, actor=reviewer)

    outcome = orders.release_orders([order.pk], actor=staff("Customer service"))
    pick_all(order)

    assert outcome.done == [order.number]
    order = fresh(order)
    assert order.status == Status.PICKING
    assert not order.is_manually_held and order.manual_hold_reason == ""
    assert [e.transition for e in order.events.all()][-3:-1] == ["manual_hold", "manual_release"]


def test_an_order_on_a_pick_list_or_held_already_is_refused_and_the_others_are_held(product, reviewer):
    picking = advance(confirmed(product), "picking")
    held = confirmed(product)
    orders.hold_orders([held.pk], reason="first", actor=reviewer)
    free = confirmed(product)

    outcome = orders.hold_orders([picking.pk, held.pk, free.pk], reason=REASON, actor=reviewer)

    assert outcome.done == [free.number]
    assert set(outcome.refused) == {picking.number, held.number}
    assert "Picking" in outcome.refused[picking.number]
    assert "first" in outcome.refused[held.number]
    assert fresh(held).manual_hold_reason == "first"


def test_orders_awaiting_payment_or_held_for_review_can_be_held_by_hand_too(product, reviewer):
    waiting = place(lines=[(product, 1)], payment_method="bank_transfer")
    in_review = place(lines=[(product, 1)], address="", phone="13900139999")

    outcome = orders.hold_orders([waiting.pk, in_review.pk], reason=REASON, actor=reviewer)

    assert sorted(outcome.done) == sorted([waiting.number, in_review.number])
    assert [fresh(waiting).status, fresh(in_review).status] == [Status.AWAITING_PAYMENT, Status.ON_HOLD]


def test_a_hold_needs_a_reason_and_an_end_in_the_future(product, reviewer):
    order = confirmed(product)

    with pytest.raises(ValidationError) as no_reason:
        orders.hold_orders([order.pk], reason="  ", actor=reviewer)
    with pytest.raises(ValidationError) as past:
        orders.hold_orders([order.pk], reason=REASON, until=timezone.now() - timedelta(hours=1), actor=reviewer)

    assert "reason" in no_reason.value.message_dict
    assert "until" in past.value.message_dict
    assert not fresh(order).is_manually_held


@pytest.mark.parametrize("role", ["Order reviewer", "Customer service", "Manager"])
def test_reviewers_customer_service_and_managers_may_hold_and_release(product, role):
    order = confirmed(product)
    person = staff(role)

    orders.hold_orders([order.pk], reason=REASON, actor=person)
    orders.release_orders([order.pk], actor=person)

    assert not fresh(order).is_manually_held


@pytest.mark.parametrize("role", ["Warehouse operator", "Finance", "Analyst"])
def test_other_roles_may_not_hold_orders(product, role):
    order = confirmed(product)

    with pytest.raises(PermissionDenied):
        orders.hold_orders([order.pk], reason=REASON, actor=staff(role))
    assert not fresh(order).is_manually_held


def test_releasing_an_order_not_held_is_refused_with_why(product, reviewer):
    order = confirmed(product)

    outcome = orders.release_orders([order.pk], actor=reviewer)

    assert outcome.done == []
    assert outcome.refused == {order.number: f"Order {order.number} is not held by hand."}


def test_holds_whose_end_has_come_are_released_by_the_scheduled_command(product, reviewer):
    due, later, open_ended = confirmed(product), confirmed(product), confirmed(product)
    soon = timezone.now() + timedelta(minutes=5)
    orders.hold_orders([due.pk], reason=REASON, until=soon, actor=reviewer)
    orders.hold_orders([later.pk], reason=REASON, until=soon + timedelta(days=2), actor=reviewer)
    orders.hold_orders([open_ended.pk], reason=REASON, actor=reviewer)
    Order.objects.filter(pk=due.pk).update(manual_hold_until=timezone.now() - timedelta(minutes=1))

    out = StringIO()
    call_command("release_order_holds", stdout=out)

    assert not fresh(due).is_manually_held
    assert fresh(later).is_manually_held and fresh(open_ended).is_manually_held
    event = fresh(due).events.last()
    assert (event.transition, event.actor) == ("manual_release", None)
    assert "1 held orders released" in out.getvalue() and due.number in out.getvalue()


def test_holding_and_releasing_write_no_status_change(product, reviewer):
    order = confirmed(product)
    before = OrderEvent.objects.exclude(from_status=F("to_status")).count()

    orders.hold_orders([order.pk], reason=REASON, actor=reviewer)
    orders.release_orders([order.pk], actor=reviewer)

    assert OrderEvent.objects.exclude(from_status=F("to_status")).count() == before
    assert OrderEvent.objects.filter(order=order).count() == 3


# --- console -------------------------------------------------------------------------------------


def test_bulk_hold_asks_for_the_reason_and_date_then_holds_the_selection(client, product, reviewer):
    first, second = confirmed(product), confirmed(product)
    client.force_login(reviewer)
    url = reverse("admin:orders_order_changelist")
    selection = {"action": "hold_selected", helpers.ACTION_CHECKBOX_NAME: [first.pk, second.pk]}

    asked = client.post(url, selection)
    assert asked.status_code == 200
    assert asked.templates[0].name == "admin/orders/waiting/hold.html"
    assert first.number in asked.content.decode()

    until = timezone.localtime(timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    done = client.post(url, {**selection, "confirm_hold": "yes", "reason": REASON, "until": until}, follow=True)

    assert "2 orders held." in done.content.decode()
    assert all(fresh(order).manual_hold_until for order in (first, second))


def test_bulk_release_releases_the_held_and_names_the_others(client, product, reviewer):
    held, free = confirmed(product), confirmed(product)
    orders.hold_orders([held.pk], reason=REASON, actor=reviewer)
    client.force_login(reviewer)

    response = client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "release_selected", helpers.ACTION_CHECKBOX_NAME: [held.pk, free.pk]},
        follow=True,
    )

    page = response.content.decode()
    assert "1 order released." in page
    assert f"Order {free.number} is not held by hand." in page
    assert not fresh(held).is_manually_held


def test_the_hold_actions_are_offered_only_to_roles_that_may_hold(client):
    url = reverse("admin:orders_order_changelist")
    client.force_login(staff("Customer service"))
    offered = client.get(url).context["action_form"].fields["action"].choices
    client.force_login(staff("Warehouse operator"))
    not_offered = client.get(url).context["action_form"].fields["action"].choices

    assert "hold_selected" in dict(offered) and "release_selected" in dict(offered)
    assert "hold_selected" not in dict(not_offered)


def test_the_order_page_holds_and_releases_and_shows_it_on_the_timeline(client, product, reviewer):
    order = confirmed(product)
    client.force_login(reviewer)
    page_url = reverse("admin:orders_order_change", args=[order.pk])
    assert reverse("admin:orders_order_hold", args=[order.pk]) in client.get(page_url).content.decode()

    client.post(reverse("admin:orders_order_hold", args=[order.pk]), {"reason": REASON, "until": ""})
    held_page = client.get(page_url).content.decode()

    assert fresh(order).is_manually_held
    assert "Held by hand:" in held_page and REASON in held_page
    assert reverse("admin:orders_order_release", args=[order.pk]) in held_page

    client.post(reverse("admin:orders_order_release", args=[order.pk]))
    released_page = client.get(page_url).content.decode()
    assert not fresh(order).is_manually_held
    assert "Hold released" in released_page


def test_the_order_list_filters_orders_held_by_hand(client, product, reviewer):
    held, free = confirmed(product), confirmed(product)
    orders.hold_orders([held.pk], reason=REASON, actor=reviewer)
    client.force_login(reviewer)

    response = client.get(reverse("admin:orders_order_changelist"), {"manual_hold": "yes"})

    numbers = [order.number for order in response.context["cl"].result_list]
    assert numbers == [held.number]
    assert free.number not in numbers


def test_the_pick_list_page_lists_a_held_order_as_refused_with_its_reason(client, product, reviewer):
    held, free = confirmed(product), confirmed(product)
    orders.hold_orders([held.pk], reason=REASON, actor=reviewer)
    client.force_login(staff("Warehouse operator"))

    page = client.get(f"{reverse('admin:logistics_pickwave_add')}?orders={held.pk},{free.pk}").content.decode()

    assert f"{held.number} is held by hand ({REASON})" in page


# --- rollups -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_rollups_stay_exact_through_holds_and_releases(product):
    reviewer = staff("Order reviewer")
    order = confirmed(product)
    orders.hold_orders([order.pk], reason=REASON, actor=reviewer)
    orders.release_orders([order.pk], actor=reviewer)
    pick_all(order, actor=SYSTEM)

    out = StringIO()
    call_command("rebuild_rollups", "--check", stdout=out)
    assert "The rollups agreed with the recomputation" in out.getvalue(), out.getvalue()
