"""Transfers between warehouses (docs/architecture.md, "Transfers between warehouses"): a draft sent
out of the source through the ledger, never taking units reserved for orders, then received at the
destination with any difference booked with its reason; stock in transit is visible meanwhile."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from core.actors import SYSTEM
from core.transitions import TransitionRefused
from inventory import selectors, services
from inventory.models import StockLevel, StockMovement, Transfer
from inventory.selectors import ledger_mismatches
from tests.factories import ProductFactory, WarehouseFactory, place, staff, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    north, south = WarehouseFactory(code="NORTH"), WarehouseFactory(code="SOUTH")
    tea, cups = ProductFactory(sku="TEA"), ProductFactory(sku="CUPS")
    stock(tea, north, 20)
    stock(cups, north, 5)
    return north, south, tea, cups


def level(product, warehouse):
    return StockLevel.objects.get(product=product, warehouse=warehouse)


def test_a_sent_transfer_is_in_transit_and_out_of_the_source(shop):
    north, south, tea, cups = shop
    operator = staff("Warehouse operator")
    transfer = services.create_transfer(
        source_id=north.pk, destination_id=south.pk, lines=[(tea.pk, 6), (cups.pk, 2), (tea.pk, 1)], actor=operator
    )
    assert transfer.status == Transfer.Status.DRAFT
    assert sorted(transfer.lines.values_list("product__sku", "quantity")) == [("CUPS", 2), ("TEA", 7)]
    assert selectors.in_transit_quantities() == {}

    services.send_transfer(transfer.pk, actor=operator)

    assert level(tea, north).on_hand == 13
    assert level(cups, north).on_hand == 3
    assert selectors.in_transit_quantities() == {(tea.pk, south.pk): 7, (cups.pk, south.pk): 2}
    assert selectors.in_transit_quantities([cups.pk]) == {(cups.pk, south.pk): 2}
    out = StockMovement.objects.get(stock_level=level(tea, north), kind=StockMovement.Kind.TRANSFER_OUT)
    assert (out.on_hand_change, out.reference) == (-7, transfer.number)
    assert list(ledger_mismatches()) == []


def test_receiving_books_the_units_in_and_the_difference_with_its_reason(shop):
    north, south, tea, cups = shop
    transfer = services.create_transfer(
        source_id=north.pk, destination_id=south.pk, lines=[(tea.pk, 6), (cups.pk, 2)], actor=SYSTEM
    )
    services.send_transfer(transfer.pk, actor=SYSTEM)

    with pytest.raises(ValidationError) as refused:
        services.receive_transfer(transfer.pk, received={tea.pk: 4}, actor=SYSTEM)
    assert f"reason_{tea.pk}" in refused.value.message_dict

    services.receive_transfer(
        transfer.pk,
        received={tea.pk: 4, cups.pk: 3},
        reasons={tea.pk: "2 broken", cups.pk: "1 extra packed"},
        actor=SYSTEM,
    )
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.RECEIVED
    assert level(tea, south).on_hand == 4
    assert level(cups, south).on_hand == 3
    assert selectors.in_transit_quantities() == {}
    loss = StockMovement.objects.get(stock_level=level(tea, south), kind=StockMovement.Kind.ADJUSTMENT)
    assert (loss.on_hand_change, loss.reason, loss.reference) == (-2, "2 broken", transfer.number)
    assert list(ledger_mismatches()) == []


def test_sending_never_takes_units_reserved_for_orders(shop):
    north, south, tea, _cups = shop
    place(lines=[(tea, 15)])
    assert level(tea, north).reserved == 15
    transfer = services.create_transfer(source_id=north.pk, destination_id=south.pk, lines=[(tea.pk, 6)], actor=SYSTEM)
    with pytest.raises(ValidationError, match="TEA: 5 available of 6"):
        services.send_transfer(transfer.pk, actor=SYSTEM)
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.DRAFT
    assert level(tea, north).on_hand == 20


def test_only_a_draft_is_cancelled(shop):
    north, south, tea, _cups = shop
    draft = services.create_transfer(source_id=north.pk, destination_id=south.pk, lines=[(tea.pk, 1)], actor=SYSTEM)
    services.cancel_transfer(draft.pk, actor=SYSTEM)
    assert Transfer.objects.get(pk=draft.pk).status == Transfer.Status.CANCELLED
    sent = services.create_transfer(source_id=north.pk, destination_id=south.pk, lines=[(tea.pk, 1)], actor=SYSTEM)
    services.send_transfer(sent.pk, actor=SYSTEM)
    with pytest.raises(TransitionRefused, match="on its way"):
        services.cancel_transfer(sent.pk, actor=SYSTEM)
    with pytest.raises(TransitionRefused):
        services.send_transfer(sent.pk, actor=SYSTEM)


@pytest.mark.parametrize(
    ("lines", "field"),
    [([], "lines"), ([(0, 2)], "lines"), ("negative", "lines"), ("same", "destination")],
)
def test_bad_drafts_are_refused_naming_the_field(shop, lines, field):
    north, south, tea, _cups = shop
    destination = south
    if lines == "negative":
        lines = [(tea.pk, -3)]
    if lines == "same":
        lines, destination = [(tea.pk, 1)], north
    with pytest.raises(ValidationError) as refused:
        services.create_transfer(source_id=north.pk, destination_id=destination.pk, lines=lines, actor=SYSTEM)
    assert field in refused.value.message_dict


def test_roles_who_may_draft_send_and_receive(shop):
    north, south, tea, _cups = shop
    with pytest.raises(PermissionDenied):
        services.create_transfer(
            source_id=north.pk, destination_id=south.pk, lines=[(tea.pk, 1)], actor=staff("Customer service")
        )
    transfer = services.create_transfer(source_id=north.pk, destination_id=south.pk, lines=[(tea.pk, 1)], actor=SYSTEM)
    with pytest.raises(PermissionDenied):
        services.send_transfer(transfer.pk, actor=staff("Analyst"))
