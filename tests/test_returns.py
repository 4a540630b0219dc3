"""Return requests: who may open them, for which orders and quantities, the return window, and
every step of their FSM with its refusals. The other return tests import the helpers below."""

from datetime import timedelta
from functools import partial

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from aftersales import services
from aftersales.models import Outcome, ReturnEvent, ReturnReason, ReturnRequest
from aftersales.selectors.returns import returnable_lines, returns_in_status
from core.actors import SYSTEM
from core.transitions import TransitionRefused
from orders.models import Order
from orders.services import acceptance
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, advance, place_apart, staff, stock
from tests.test_concurrency import race

pytestmark = pytest.mark.django_db

Status = ReturnRequest.Status


def new_order(lines, **overrides):
    return place_apart(lines=lines, **overrides)


def delivered_order(*lines, warehouse=None, days_ago=0, **overrides):
    """A delivered order of (product, quantity) lines, stocked in `warehouse` first, delivered
    `days_ago` days ago."""
    warehouse = warehouse or WarehouseFactory()
    for product, quantity in lines:
        stock(product, warehouse, quantity)
    order = advance(new_order(list(lines), **overrides), "delivered")
    if days_ago:
        Order.objects.filter(pk=order.pk).update(delivered_at=timezone.now() - timedelta(days=days_ago))
        order.refresh_from_db()
    return order


def line_of(order, product):
    return order.lines.get(product=product)


def ask(order, *items, actor=SYSTEM, wanted=Outcome.REFUND, **extra):
    """Open a return of (product, quantity) items, each for a quality problem."""
    return services.request_return(
        order.pk,
        actor=actor,
        wanted_outcome=wanted,
        lines=[
            services.ReturnLineInput(
                order_line_id=line_of(order, product).pk, quantity=quantity, reason=ReturnReason.QUALITY
            )
            for product, quantity in items
        ],
        **extra,
    )


def received_all(case):
    return {line.pk: line.quantity for line in case.lines.all()}


def inspected_as_new(case):
    return {line.pk: (line.received_quantity, 0, "") for line in case.lines.all()}


def take_to(case, status, *, warehouse=None, received=None, results=None):
    """Take a return forward from where it is, each step by the role that takes it, until `status`
    (approved, received or inspected); returns it fresh from the database."""
    steps = [
        (Status.APPROVED, lambda: services.approve_return(case.pk, actor=staff("Customer service"))),
        (
            Status.RECEIVED,
            lambda: services.receive_return(
                case.pk,
                warehouse_id=(warehouse or case.order.lines.first().allocations.first().stock_level.warehouse).pk,
                received=received or received_all(case),
                actor=staff("Warehouse operator"),
            ),
        ),
        (
            Status.INSPECTED,
            lambda: services.inspect_return(
                case.pk,
                results=results or inspected_as_new(ReturnRequest.objects.get(pk=case.pk)),
                actor=staff("Warehouse operator"),
            ),
        ),
    ]
    names = [name for name, _step in steps]
    done = names.index(case.status) + 1 if case.status in names else 0
    for _name, step in steps[done : names.index(status) + 1]:
        step()
    return ReturnRequest.objects.get(pk=case.pk)


def messages_of(error, key):
    return " ".join(error.value.message_dict[key])


@pytest.fixture
def product():
    return ProductFactory(sku="MUG-RED")


@pytest.fixture
def order(product):
    return delivered_order((product, 2))


@pytest.fixture
def cs():
    return staff("Customer service")


# Opening a return


def test_customer_service_opens_a_numbered_return_within_the_window(order, product, cs):
    case = ask(order, (product, 1), actor=cs, customer_note="The handle came off.")

    assert case.number.startswith("RMA") and case.number.endswith(f"-{case.pk:06d}")
    assert case.status == Status.REQUESTED
    assert (case.within_window, case.window_days, case.delivered_at) == (True, 7, order.delivered_at)
    assert (case.requested_by, case.customer_note, case.wanted_outcome) == (cs, "The handle came off.", Outcome.REFUND)
    line = case.lines.get()
    assert (line.order_line, line.quantity, line.reason) == (line_of(order, product), 1, ReturnReason.QUALITY)
    event = ReturnEvent.objects.get(return_request=case)
    assert (event.from_status, event.to_status, event.transition, event.actor) == ("", Status.REQUESTED, "request", cs)


def test_a_channel_opens_a_return_through_the_api_without_a_user(order, product):
    case = ask(order, (product, 2), actor=SYSTEM, channel_reference="  TM-RET-88 ")

    assert (case.requested_by, case.channel_reference, case.status) == (None, "TM-RET-88", Status.REQUESTED)


def test_a_channel_return_id_asked_for_again_is_recognised_and_nothing_more_is_opened(order, product):
    first = ask(order, (product, 1), actor=SYSTEM, channel_reference="TM-RET-88")
    advance(order, "completed")

    with pytest.raises(services.ReturnAlreadyRequested) as repeated:
        ask(order, (product, 1), actor=SYSTEM, channel_reference=" TM-RET-88")

    assert (repeated.value.existing, repeated.value.same_order) == (first, True)
    assert messages_of(repeated, "channel_reference") == (
        f"Channel return id TM-RET-88 was asked for before: it is return {first.number}."
    )
    assert ReturnRequest.objects.count() == 1 and first.lines.get().quantity == 1


def test_a_channel_return_id_of_another_order_of_the_channel_is_refused(order, product):
    first = ask(order, (product, 1), actor=SYSTEM, channel_reference="TM-RET-88")
    other = delivered_order((product, 1))

    with pytest.raises(ValidationError) as refused:
        ask(other, (product, 1), actor=SYSTEM, channel_reference="TM-RET-88")

    assert refused.value.same_order is False
    assert messages_of(refused, "channel_reference") == (
        f"Channel return id TM-RET-88 was used before, for return {first.number} of another order."
    )
    assert ask(other, (product, 1), actor=SYSTEM, channel_reference="TM-RET-89").order == other


def test_another_channels_return_id_does_not_meet_this_channels(order, product):
    ask(order, (product, 1), actor=SYSTEM, channel_reference="RET-1")
    theirs = delivered_order((product, 1), channel=ChannelFactory(code="app", name="App"))

    assert ask(theirs, (product, 1), actor=SYSTEM, channel_reference="RET-1").channel_reference == "RET-1"


@pytest.mark.parametrize("role", ["Warehouse operator", "Finance", "Order reviewer"])
def test_roles_other_than_customer_service_and_managers_cannot_open_returns(order, product, role):
    with pytest.raises(PermissionDenied):
        ask(order, (product, 1), actor=staff(role))

    assert not ReturnRequest.objects.exists()


def test_a_return_of_goods_not_yet_delivered_is_refused_saying_they_must_reach_the_customer(product, cs):
    stock(product, WarehouseFactory(), 5)
    shipped = advance(new_order([(product, 1)]), "shipped")

    with pytest.raises(ValidationError) as refused:
        ask(shipped, (product, 1), actor=cs)

    assert "Shipped" in messages_of(refused, "order")
    assert "delivered or completed" in messages_of(refused, "order")
    assert not ReturnRequest.objects.exists()


def test_a_completed_order_may_still_be_returned_within_the_window(order, product, cs):
    advance(order, "completed")

    assert ask(order, (product, 1), actor=cs).status == Status.REQUESTED


def test_a_return_without_lines_is_refused(order, cs):
    with pytest.raises(ValidationError) as refused:
        services.request_return(order.pk, lines=[], wanted_outcome=Outcome.REFUND, actor=cs)

    assert "at least one line" in messages_of(refused, "lines")


def test_each_bad_line_is_refused_under_its_own_key_and_nothing_is_written(product, cs):
    other = ProductFactory()
    order = delivered_order((product, 2), (other, 1))
    foreign = delivered_order((ProductFactory(), 1))
    Line = services.ReturnLineInput

    with pytest.raises(ValidationError) as refused:
        services.request_return(
            order.pk,
            actor=cs,
            wanted_outcome="money back",
            lines=[
                Line(order_line_id=foreign.lines.get().pk, quantity=1, reason=ReturnReason.QUALITY),
                Line(order_line_id=line_of(order, product).pk, quantity=0, reason="broken"),
                Line(
                    order_line_id=line_of(order, other).pk, quantity=1, reason=ReturnReason.WRONG_ITEM, note="x" * 256
                ),
            ],
        )

    errors = refused.value.message_dict
    assert set(errors) == {
        "wanted_outcome",
        "lines[0].order_line_id",
        "lines[1].quantity",
        "lines[1].reason",
        "lines[2].note",
    }
    assert "not on order" in errors["lines[0].order_line_id"][0]
    assert not ReturnRequest.objects.exists()


def test_more_units_than_were_shipped_are_refused(order, product, cs):
    with pytest.raises(ValidationError) as refused:
        ask(order, (product, 3), actor=cs)

    assert messages_of(refused, "lines[0].quantity") == (
        "At most 2 × MUG-RED can be returned: 2 shipped, 0 already on other returns."
    )


def test_units_on_an_open_return_cannot_be_asked_for_again(order, product, cs):
    ask(order, (product, 1), actor=cs)

    with pytest.raises(ValidationError) as refused:
        ask(order, (product, 2), actor=cs)

    assert "At most 1 × MUG-RED" in messages_of(refused, "lines[0].quantity")
    assert ask(order, (product, 1), actor=cs).lines.get().quantity == 1
    assert [row.returnable for row in returnable_lines(order)] == [0]


def test_a_rejected_return_frees_its_units_for_another_return(order, product, cs):
    first = ask(order, (product, 2), actor=cs)
    services.reject_return(first.pk, reason="Worn for a month.", actor=cs)

    second = ask(order, (product, 2), actor=cs)

    assert second.lines.get().quantity == 2


def test_units_asked_for_but_never_received_are_free_again_once_the_return_is_received(order, product, cs):
    first = ask(order, (product, 2), actor=cs)
    take_to(first, Status.RECEIVED, received={first.lines.get().pk: 1})

    assert [(row.shipped, row.returned, row.returnable) for row in returnable_lines(order)] == [(2, 1, 1)]
    assert ask(order, (product, 1), actor=cs).status == Status.REQUESTED
    assert first.lines.get().received_quantity == 1


# The return window


def test_a_return_after_the_window_is_refused_with_the_delivery_date_and_the_window(product, cs):
    order = delivered_order((product, 1), days_ago=10)
    delivered_on = timezone.localdate(order.delivered_at)

    with pytest.raises(ValidationError) as refused:
        ask(order, (product, 1), actor=cs, late_reason="The customer was abroad.")

    message = messages_of(refused, "late_reason")
    assert f"delivered on {delivered_on:%Y-%m-%d}" in message
    assert f"window of 7 days ended on {delivered_on + timedelta(days=7):%Y-%m-%d}, 3 days ago" in message
    assert "Only a manager" in message
    assert not ReturnRequest.objects.exists()


def test_the_last_day_of_the_window_is_still_within_it(product, cs):
    order = delivered_order((product, 1), days_ago=7)

    assert ask(order, (product, 1), actor=cs).within_window is True


def test_a_channel_cannot_open_a_late_return(product):
    order = delivered_order((product, 1), days_ago=8)

    with pytest.raises(ValidationError) as refused:
        ask(order, (product, 1), actor=SYSTEM, late_reason="Please.")

    assert "1 day ago" in messages_of(refused, "late_reason")


def test_a_manager_accepts_a_late_return_with_a_reason_that_is_kept(product):
    order = delivered_order((product, 1), days_ago=12)
    manager = staff("Manager")

    case = ask(order, (product, 1), actor=manager, late_reason="  Goodwill: a loyal customer.  ")

    assert (case.within_window, case.window_override_reason) == (False, "Goodwill: a loyal customer.")
    assert case.events.get().reason == "Goodwill: a loyal customer."


def test_a_manager_must_say_why_a_late_return_is_accepted(product):
    order = delivered_order((product, 1), days_ago=12)

    with pytest.raises(ValidationError) as refused:
        ask(order, (product, 1), actor=staff("Manager"), late_reason="  ")

    assert "Give the reason" in messages_of(refused, "late_reason")


# The steps


def test_a_return_goes_from_requested_to_closed_with_each_step_logged_by_its_actor(order, product, cs):
    warehouse_operator = staff("Warehouse operator")
    case = ask(order, (product, 2), actor=cs, wanted=Outcome.EXCHANGE)
    warehouse = WarehouseFactory()
    stock(product, warehouse, 5)

    services.approve_return(case.pk, actor=cs)
    services.receive_return(case.pk, warehouse_id=warehouse.pk, received=received_all(case), actor=warehouse_operator)
    services.inspect_return(case.pk, results={case.lines.get().pk: (2, 0, "")}, actor=warehouse_operator)
    services.resolve_return(case.pk, outcome=Outcome.EXCHANGE, actor=cs)
    services.close_return(case.pk, actor=cs)

    case.refresh_from_db()
    assert case.status == Status.CLOSED
    assert case.warehouse == warehouse and case.resolution == Outcome.EXCHANGE
    assert all([case.approved_at, case.received_at, case.inspected_at, case.resolved_at, case.closed_at])
    assert list(case.events.values_list("transition", "to_status", "actor")) == [
        ("request", Status.REQUESTED, cs.pk),
        ("approve", Status.APPROVED, cs.pk),
        ("receive", Status.RECEIVED, warehouse_operator.pk),
        ("inspect", Status.INSPECTED, warehouse_operator.pk),
        ("resolve", Status.RESOLVED, cs.pk),
        ("close", Status.CLOSED, cs.pk),
    ]


def test_rejecting_needs_a_reason_and_keeps_it(order, product, cs):
    case = ask(order, (product, 1), actor=cs)

    with pytest.raises(ValidationError) as refused:
        services.reject_return(case.pk, reason=" ", actor=cs)
    assert "reason" in refused.value.message_dict
    services.reject_return(case.pk, reason="Bought in another shop.", actor=cs)

    case.refresh_from_db()
    assert (case.status, case.rejection_reason) == (Status.REJECTED, "Bought in another shop.")
    assert case.events.last().reason == "Bought in another shop."
    assert case.closed_at is not None


def test_a_warehouse_operator_cannot_approve_a_return(order, product, cs):
    case = ask(order, (product, 1), actor=cs)

    with pytest.raises(PermissionDenied):
        services.approve_return(case.pk, actor=staff("Warehouse operator"))
    with pytest.raises(PermissionDenied):
        services.reject_return(case.pk, reason="no", actor=staff("Warehouse operator"))

    assert ReturnRequest.objects.get().status == Status.REQUESTED


def test_customer_service_cannot_receive_or_inspect_returned_goods(order, product, cs):
    case = take_to(ask(order, (product, 1), actor=cs), Status.APPROVED)

    with pytest.raises(PermissionDenied):
        services.receive_return(case.pk, warehouse_id=WarehouseFactory().pk, received=received_all(case), actor=cs)
    case = take_to(case, Status.RECEIVED)
    with pytest.raises(PermissionDenied):
        services.inspect_return(case.pk, results=inspected_as_new(case), actor=cs)

    assert ReturnRequest.objects.get().status == Status.RECEIVED


def test_finance_may_view_but_not_resolve_a_return(order, product, cs):
    case = take_to(ask(order, (product, 1), actor=cs, wanted=Outcome.EXCHANGE), Status.INSPECTED)

    with pytest.raises(PermissionDenied):
        services.resolve_return(case.pk, outcome=Outcome.EXCHANGE, actor=staff("Finance"))


def test_goods_cannot_be_received_before_the_return_is_approved(order, product, cs):
    case = ask(order, (product, 1), actor=cs)

    with pytest.raises(TransitionRefused) as refused:
        services.receive_return(
            case.pk, warehouse_id=WarehouseFactory().pk, received=received_all(case), actor=staff("Warehouse operator")
        )

    assert str(refused.value) == f"Return {case.number} is Requested now, so “Receive goods” is not possible."


@pytest.mark.parametrize("step", ["approve", "close"])
def test_a_rejected_return_takes_no_further_step(order, product, cs, step):
    case = ask(order, (product, 1), actor=cs)
    services.reject_return(case.pk, reason="Not ours.", actor=cs)

    with pytest.raises(TransitionRefused):
        getattr(services, f"{step}_return")(case.pk, actor=cs)


def test_a_return_is_closed_only_after_it_is_resolved(order, product, cs):
    case = take_to(ask(order, (product, 1), actor=cs), Status.INSPECTED)

    with pytest.raises(TransitionRefused):
        services.close_return(case.pk, actor=cs)


def test_receiving_refuses_more_than_asked_nothing_at_all_and_an_inactive_warehouse(order, product, cs):
    case = take_to(ask(order, (product, 1), actor=cs), Status.APPROVED)
    line = case.lines.get()
    closed = WarehouseFactory(active=False)
    operator = staff("Warehouse operator")

    with pytest.raises(ValidationError) as too_many:
        services.receive_return(case.pk, warehouse_id=WarehouseFactory().pk, received={line.pk: 2}, actor=operator)
    with pytest.raises(ValidationError) as nothing:
        services.receive_return(case.pk, warehouse_id=WarehouseFactory().pk, received={line.pk: 0}, actor=operator)
    with pytest.raises(ValidationError) as inactive:
        services.receive_return(case.pk, warehouse_id=closed.pk, received={line.pk: 1}, actor=operator)

    assert "Only 1 × MUG-RED" in messages_of(too_many, "lines[0].received_quantity")
    assert "Nothing arrived" in messages_of(nothing, "received")
    assert "warehouse" in inactive.value.message_dict
    case.refresh_from_db()
    assert (case.status, case.warehouse, case.lines.get().received_quantity) == (Status.APPROVED, None, 0)


def test_inspection_must_account_for_every_unit_received(order, product, cs):
    case = take_to(ask(order, (product, 2), actor=cs), Status.RECEIVED)
    line = case.lines.get()

    with pytest.raises(ValidationError) as refused:
        services.inspect_return(case.pk, results={line.pk: (1, 0, "")}, actor=staff("Warehouse operator"))

    assert "must add up to that (now 1)" in messages_of(refused, "lines[0].damaged_quantity")
    assert ReturnRequest.objects.get().status == Status.RECEIVED


def test_open_returns_are_listed_by_status_for_the_dashboard(order, product, cs):
    requested = ask(order, (product, 1), actor=cs)
    rejected = ask(order, (product, 1), actor=cs)
    services.reject_return(rejected.pk, reason="Duplicate.", actor=cs)

    assert list(returns_in_status(*ReturnRequest.OPEN)) == [requested]
    assert list(returns_in_status(Status.REJECTED)) == [rejected]


def test_an_open_return_holds_the_order_back_from_automatic_completion(product, cs):
    order = delivered_order((product, 1))
    ask(order, (product, 1), actor=cs)
    Order.objects.filter(pk=order.pk).update(delivered_at=timezone.now() - timedelta(days=30))

    acceptance.complete_delivered_orders()

    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED


# Two returns of the last unit at once (PostgreSQL, real connections)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_returns_of_the_last_unit_at_once_one_is_refused(product):
    order = delivered_order((product, 1))
    first, second = staff("Customer service"), staff("Customer service")

    outcomes = race(partial(ask, order, (product, 1), actor=first), partial(ask, order, (product, 1), actor=second))

    opened = [outcome for outcome in outcomes if isinstance(outcome, ReturnRequest)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, ValidationError)]
    assert (len(opened), len(refused)) == (1, 1)
    assert "At most 0 × MUG-RED" in " ".join(refused[0].message_dict["lines[0].quantity"])
    assert ReturnRequest.objects.count() == 1
    assert [row.returnable for row in returnable_lines(order)] == [0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_channel_return_id_sent_for_two_orders_at_once_opens_one_return(product):
    """Each request locks only its own order, so here the database's uniqueness rule decides."""
    orders_of_channel = [delivered_order((product, 1)), delivered_order((product, 1))]

    outcomes = race(
        *(partial(ask, order, (product, 1), actor=SYSTEM, channel_reference="TM-RET-7") for order in orders_of_channel)
    )

    opened = [outcome for outcome in outcomes if isinstance(outcome, ReturnRequest)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, services.ReturnAlreadyRequested)]
    assert (len(opened), len(refused)) == (1, 1)
    assert (refused[0].existing, refused[0].same_order) == (opened[0], False)
    assert ReturnRequest.objects.get().channel == orders_of_channel[0].channel
