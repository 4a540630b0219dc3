"""The periodic command that completes delivered orders once the acceptance window has passed,
unless a higher app holds them back (an open return, a complaint)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Q
from django.utils import timezone

from orders.events import COMPLETION_BLOCKERS
from orders.models import Order, OrderEvent
from orders.services import acceptance
from tests.factories import ProductFactory, WarehouseFactory, advance, place, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    product = ProductFactory()
    stock(product, WarehouseFactory(), 50)
    return product


def delivered(product, *, days_ago):
    order = advance(place(lines=[(product, 1)]), "delivered")
    Order.objects.filter(pk=order.pk).update(delivered_at=timezone.now() - timedelta(days=days_ago))
    return order


def status_of(order):
    order.refresh_from_db()
    return order.status


def run(**options):
    out = StringIO()
    call_command("complete_delivered_orders", stdout=out, **options)
    return out.getvalue()


def test_orders_delivered_longer_ago_than_the_window_are_completed_by_the_system(product):
    old = delivered(product, days_ago=8)
    recent = delivered(product, days_ago=3)

    output = run()

    assert (status_of(old), status_of(recent)) == (Order.Status.COMPLETED, Order.Status.DELIVERED)
    event = OrderEvent.objects.filter(order=old).latest("pk")
    assert (event.to_status, event.actor, event.transition) == (Order.Status.COMPLETED, None, "complete")
    assert "acceptance window" in event.reason
    assert "1 completed" in output


def test_running_it_again_completes_nothing_more(product):
    delivered(product, days_ago=10)
    run()

    output = run()

    assert "0 completed" in output
    assert OrderEvent.objects.filter(to_status=Order.Status.COMPLETED).count() == 1


def test_the_window_comes_from_the_setting(product, settings):
    settings.ACCEPTANCE_WINDOW_DAYS = 2
    three_days = delivered(product, days_ago=3)
    one_day = delivered(product, days_ago=1)

    run()

    assert (status_of(three_days), status_of(one_day)) == (Order.Status.COMPLETED, Order.Status.DELIVERED)


def test_orders_not_yet_delivered_are_left_alone(product):
    shipped = advance(place(lines=[(product, 1)]), "shipped")
    Order.objects.filter(pk=shipped.pk).update(placed_at=timezone.now() - timedelta(days=30))

    run()

    assert status_of(shipped) == Order.Status.SHIPPED


def test_a_registered_blocker_holds_an_order_back_and_is_reported(product, monkeypatch):
    held = delivered(product, days_ago=9)
    free = delivered(product, days_ago=9)
    monkeypatch.setattr(COMPLETION_BLOCKERS, "subscribers", [lambda: Q(pk=held.pk)])

    output = run()

    assert (status_of(held), status_of(free)) == (Order.Status.DELIVERED, Order.Status.COMPLETED)
    assert "1 held back by an open return or complaint" in output


def test_a_return_opened_after_the_list_was_read_is_respected(product, monkeypatch):
    order = delivered(product, days_ago=9)
    cutoff = acceptance.acceptance_cutoff()
    monkeypatch.setattr(COMPLETION_BLOCKERS, "subscribers", [lambda: Q(pk=order.pk)])

    assert acceptance.complete_if_accepted(order.pk, cutoff=cutoff) is None
    assert status_of(order) == Order.Status.DELIVERED


def test_a_backlog_is_completed_in_batches(product):
    backlog = [delivered(product, days_ago=20) for _index in range(3)]

    outcome = acceptance.complete_delivered_orders(batch_size=2)

    assert (outcome.completed, outcome.skipped) == (3, 0)
    assert {status_of(order) for order in backlog} == {Order.Status.COMPLETED}
