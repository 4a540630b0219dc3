"""Returns in the console, driven through the Django test client as the roles use them: the card
on the order page, "Open a return", the return page with the steps each role may take, and the
list of returns."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales.models import Outcome, ReturnReason, ReturnRequest
from core.actors import SYSTEM
from inventory.models import StockLevel
from logistics import services as logistics
from logistics.models import Shipment
from orders.models import Order
from tests.factories import CarrierFactory, ProductFactory, WarehouseFactory, advance, staff, stock
from tests.test_returns import ask, delivered_order, new_order, take_to

pytestmark = pytest.mark.django_db

Status = ReturnRequest.Status
RETURN_LIST = reverse("admin:aftersales_returnrequest_changelist")


def order_page(order):
    return reverse("admin:orders_order_change", args=[order.pk])


def open_url(order):
    return reverse("admin:aftersales_returnrequest_open", args=[order.pk])


def return_page(case):
    return reverse("admin:aftersales_returnrequest_change", args=[case.pk])


def step_url(case, step):
    return reverse("admin:aftersales_returnrequest_step", args=[case.pk, step])


def signed_in(client, role):
    user = staff(role)
    client.force_login(user)
    return user


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def followed_messages(response):
    return " ".join(str(message) for message in response.context["messages"])


@pytest.fixture
def product():
    return ProductFactory(sku="LAMP")


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="HZ")


@pytest.fixture
def order(product, warehouse):
    return delivered_order((product, 2), warehouse=warehouse)


# The order page's card and opening a return


def test_the_order_page_shows_the_return_window_and_open_a_return_to_customer_service(client, order):
    signed_in(client, "Customer service")
    delivered_on = timezone.localdate(order.delivered_at)

    content = client.get(order_page(order)).content.decode()

    assert 'id="oc-returns"' in content
    assert (
        f"Delivered {delivered_on:%Y-%m-%d}; window 7 days, until {delivered_on + timedelta(days=7):%Y-%m-%d}:"
        in content
    )
    assert "<strong>within</strong>" in content
    assert open_url(order) in content


def test_a_warehouse_operator_sees_the_returns_card_but_cannot_open_a_return(client, order, product):
    case = ask(order, (product, 1), actor=staff("Customer service"))
    signed_in(client, "Warehouse operator")

    content = client.get(order_page(order)).content.decode()

    assert return_page(case) in content and case.number in content
    assert open_url(order) not in content
    assert client.get(open_url(order)).status_code == 403


def test_an_order_not_yet_delivered_offers_no_return(client, product, warehouse):
    stock(product, warehouse, 3)
    confirmed = new_order([(product, 1)])
    signed_in(client, "Customer service")

    content = client.get(order_page(confirmed)).content.decode()

    assert 'id="oc-returns"' not in content
    assert open_url(confirmed) not in content


def test_a_late_order_shows_how_many_days_late_it_is(client, product):
    late = delivered_order((product, 1), days_ago=11)
    signed_in(client, "Customer service")

    content = client.get(order_page(late)).content.decode()

    assert "4 days late" in content


def open_form(order, product, quantity, reason=ReturnReason.QUALITY, **extra):
    line = order.lines.get(product=product)
    return {
        f"quantity_{line.pk}": str(quantity),
        f"reason_{line.pk}": reason,
        f"note_{line.pk}": "Flickers",
        "wanted_outcome": Outcome.EXCHANGE,
        "customer_note": "It flickers when switched on.",
        **extra,
    }


def test_customer_service_opens_a_return_from_the_order_page(client, order, product):
    user = signed_in(client, "Customer service")

    form_page = client.get(open_url(order))
    response = client.post(open_url(order), open_form(order, product, 2), follow=True)

    assert "LAMP" in form_page.content.decode()
    case = ReturnRequest.objects.get()
    assert response.redirect_chain[-1][0] == return_page(case)
    assert (case.order, case.wanted_outcome, case.requested_by) == (order, Outcome.EXCHANGE, user)
    line = case.lines.get()
    assert (line.quantity, line.reason, line.note) == (2, ReturnReason.QUALITY, "Flickers")
    assert f"Return {case.number} is opened for order {order.number}." in messages_of(response)


def test_a_line_without_a_reason_is_refused_next_to_its_reason(client, order, product):
    signed_in(client, "Customer service")

    response = client.post(open_url(order), open_form(order, product, 1, reason=""))

    line = order.lines.get()
    assert response.status_code == 200
    assert response.context["form"].errors[f"reason_{line.pk}"] == ["Choose why LAMP comes back."]
    assert not ReturnRequest.objects.exists()


def test_choosing_no_units_is_refused_above_the_form(client, order, product):
    signed_in(client, "Customer service")

    response = client.post(open_url(order), open_form(order, product, 0))

    assert response.context["form"].non_field_errors() == ["Choose at least one line to return."]


def test_customer_service_is_refused_a_late_return_and_told_why(client, product):
    late = delivered_order((product, 1), days_ago=9)
    signed_in(client, "Customer service")

    page = client.get(open_url(late))
    response = client.post(open_url(late), open_form(late, product, 1))

    assert "late_reason" not in page.context["form"].fields
    assert "Only a manager may accept a return after the window." in response.content.decode()
    assert not ReturnRequest.objects.exists()


def test_a_manager_accepts_a_late_return_in_the_console_with_a_reason(client, product):
    late = delivered_order((product, 1), days_ago=9)
    signed_in(client, "Manager")

    response = client.post(open_url(late), open_form(late, product, 1, late_reason="Courier delayed the pick-up."))

    assert response.status_code == 302
    case = ReturnRequest.objects.get()
    assert (case.within_window, case.window_override_reason) == (False, "Courier delayed the pick-up.")


# The return page and its steps


def test_the_return_page_offers_each_role_only_its_own_steps(client, order, product):
    case = ask(order, (product, 1), actor=staff("Customer service"))

    signed_in(client, "Warehouse operator")
    for_warehouse = client.get(return_page(case))
    signed_in(client, "Customer service")
    for_service = client.get(return_page(case))

    assert [step["name"] for step in for_warehouse.context["steps"]] == []
    assert "Nothing for you to do on this return now." in for_warehouse.content.decode()
    assert [step["name"] for step in for_service.context["steps"]] == ["approve", "reject"]


def test_a_warehouse_operator_posting_approve_is_refused_and_nothing_changes(client, order, product):
    case = ask(order, (product, 1), actor=staff("Customer service"))
    signed_in(client, "Warehouse operator")

    response = client.post(step_url(case, "approve"), follow=True)

    assert "Your role may not take the step “Approve”" in followed_messages(response)
    assert ReturnRequest.objects.get().status == Status.REQUESTED


def test_customer_service_cannot_receive_goods_in_the_console(client, order, product, warehouse):
    case = take_to(ask(order, (product, 1), actor=staff("Customer service")), Status.APPROVED)
    signed_in(client, "Customer service")

    page = client.get(return_page(case))
    response = client.post(
        step_url(case, "receive"),
        {"receive-warehouse": warehouse.pk, f"receive-received_{case.lines.get().pk}": "1"},
        follow=True,
    )

    assert [step["name"] for step in page.context["steps"]] == []
    assert "Your role may not" in followed_messages(response)
    assert ReturnRequest.objects.get().status == Status.APPROVED


def test_a_return_is_taken_through_every_step_in_the_console_by_the_right_roles(client, order, product, warehouse):
    stock(product, warehouse, 4)
    signed_in(client, "Customer service")
    client.post(open_url(order), open_form(order, product, 2), follow=True)
    case = ReturnRequest.objects.get()
    line = case.lines.get()

    approved = client.post(step_url(case, "approve"), follow=True)
    signed_in(client, "Warehouse operator")
    received = client.post(
        step_url(case, "receive"), {"receive-warehouse": warehouse.pk, f"receive-received_{line.pk}": "2"}, follow=True
    )
    inspected = client.post(
        step_url(case, "inspect"),
        {
            f"inspect-resellable_{line.pk}": "1",
            f"inspect-damaged_{line.pk}": "1",
            f"inspect-note_{line.pk}": "Cracked shade",
        },
        follow=True,
    )
    signed_in(client, "Customer service")
    resolved = client.post(
        step_url(case, "resolve"),
        {"resolve-outcome": Outcome.EXCHANGE, f"resolve-exchange_sku_{line.pk}": "LAMP"},
        follow=True,
    )
    closed = client.post(step_url(case, "close"), follow=True)

    case.refresh_from_db()
    assert case.status == Status.CLOSED
    assert "is approved" in followed_messages(approved)
    assert f"is received at {warehouse}" in followed_messages(received)
    assert "damaged ones in quarantine" in followed_messages(inspected)
    replacement = case.replacement_order
    assert f"replacement order {replacement.number} is placed and its stock is reserved" in followed_messages(resolved)
    assert "is closed" in followed_messages(closed)
    level = StockLevel.objects.get(product=product, warehouse=warehouse)
    assert (level.quarantined, level.reserved) == (1, 2)
    content = closed.content.decode()
    assert reverse("admin:orders_order_change", args=[replacement.pk]) in content
    assert "Cracked shade" in content
    assert [event.transition for event in case.events.all()] == [
        "request",
        "approve",
        "receive",
        "inspect",
        "resolve",
        "close",
    ]


def test_a_refused_receipt_shows_the_form_again_with_the_error_on_its_line(client, order, product, warehouse):
    case = take_to(ask(order, (product, 2), actor=staff("Customer service")), Status.APPROVED)
    line = case.lines.get()
    signed_in(client, "Warehouse operator")

    response = client.post(
        step_url(case, "receive"), {"receive-warehouse": warehouse.pk, f"receive-received_{line.pk}": "0"}
    )

    assert response.status_code == 200
    form = next(step["form"] for step in response.context["steps"] if step["name"] == "receive")
    assert "Nothing arrived?" in " ".join(form.non_field_errors())
    assert ReturnRequest.objects.get().status == Status.APPROVED


def test_an_inspection_that_does_not_add_up_is_shown_on_the_damaged_field(client, order, product, warehouse):
    case = take_to(ask(order, (product, 2), actor=staff("Customer service")), Status.RECEIVED, warehouse=warehouse)
    line = case.lines.get()
    signed_in(client, "Warehouse operator")

    response = client.post(
        step_url(case, "inspect"), {f"inspect-resellable_{line.pk}": "1", f"inspect-damaged_{line.pk}": "0"}
    )

    form = next(step["form"] for step in response.context["steps"] if step["name"] == "inspect")
    assert "must add up to that (now 1)" in " ".join(form.errors[f"damaged_{line.pk}"])


def test_rejecting_in_the_console_asks_for_the_reason(client, order, product):
    case = ask(order, (product, 1), actor=staff("Customer service"))
    signed_in(client, "Customer service")

    without = client.post(step_url(case, "reject"), {"reject-reason": ""})
    with_reason = client.post(step_url(case, "reject"), {"reject-reason": "Outside the warranty."}, follow=True)

    assert without.status_code == 200
    case.refresh_from_db()
    assert (case.status, case.rejection_reason) == (Status.REJECTED, "Outside the warranty.")
    assert "Outside the warranty." in with_reason.content.decode()


def test_a_repair_parcel_is_taken_from_the_return_page_to_packing_and_dispatch(client, order, product, warehouse):
    case = take_to(
        ask(order, (product, 1), actor=staff("Customer service"), wanted=Outcome.REPAIR),
        Status.INSPECTED,
        warehouse=warehouse,
    )
    signed_in(client, "Manager")

    resolved = client.post(step_url(case, "resolve"), {"resolve-outcome": Outcome.REPAIR}, follow=True)
    parcel = ReturnRequest.objects.get().repair_shipment
    logistics.pack_item(parcel.pk, "LAMP", actor=SYSTEM)
    logistics.finish_packing(parcel.pk, weight_kg="1", package_count=1, actor=SYSTEM)
    packed = client.get(return_page(case))
    client.post(
        reverse("admin:logistics_shipment_dispatch", args=[order.pk]),
        {
            "shipment": parcel.pk,
            f"parcel-{parcel.pk}-carrier": CarrierFactory().pk,
            f"parcel-{parcel.pk}-tracking_number": "SF5550000000016",
        },
    )

    assert f"a parcel waits to be packed at {warehouse}" in followed_messages(resolved)
    assert reverse("admin:logistics_shipment_change", args=[parcel.pk]) in resolved.content.decode()
    assert reverse("admin:logistics_shipment_pack_parcel", args=[parcel.pk]) in resolved.content.decode()
    assert reverse("admin:logistics_shipment_dispatch", args=[order.pk]) in packed.content.decode()
    parcel.refresh_from_db()
    assert (parcel.status, parcel.tracking_number) == (Shipment.Status.SHIPPED, "SF5550000000016")
    assert Order.objects.get(pk=order.pk).status == Order.Status.DELIVERED


def test_the_refund_of_a_return_links_to_its_page_only_for_roles_that_may_see_refunds(client, product, warehouse):
    order = delivered_order((product, 1), warehouse=warehouse, payment_method="card", paid_amount="25.00")
    case = take_to(ask(order, (product, 1), actor=staff("Customer service")), Status.INSPECTED, warehouse=warehouse)
    signed_in(client, "Customer service")
    client.post(step_url(case, "resolve"), {"resolve-outcome": Outcome.REFUND})
    refund_page = reverse("admin:orders_refund_change", args=[case.refunds.get().pk])

    for_service = client.get(return_page(case)).content.decode()
    signed_in(client, "Warehouse operator")
    for_warehouse = client.get(return_page(case))

    assert refund_page in for_service
    assert [row["refund"] for row in for_warehouse.context["refunds"]] == [case.refunds.get()]
    assert refund_page not in for_warehouse.content.decode()
    assert client.get(refund_page).status_code == 403


def test_an_exchange_held_for_stock_tells_the_user(client, order, product, warehouse):
    case = take_to(
        ask(order, (product, 1), actor=staff("Customer service"), wanted=Outcome.EXCHANGE),
        Status.INSPECTED,
        warehouse=WarehouseFactory(active=True),
    )
    ProductFactory(sku="LAMP-XL")
    signed_in(client, "Customer service")

    response = client.post(
        step_url(case, "resolve"),
        {"resolve-outcome": Outcome.EXCHANGE, f"resolve-exchange_sku_{case.lines.get().pk}": "LAMP-XL"},
        follow=True,
    )

    assert "is placed but held for review" in followed_messages(response)
    assert ReturnRequest.objects.get().replacement_order.status == Order.Status.ON_HOLD


# The list of returns


def test_the_return_list_finds_returns_by_order_number_and_filters_by_reason(client, order, product):
    other = delivered_order((product, 1))
    mine = ask(order, (product, 1), actor=staff("Customer service"))
    theirs = ask(other, (product, 1), actor=staff("Customer service"))
    signed_in(client, "Finance")

    by_order = client.get(RETURN_LIST, {"q": order.number.lower()})
    by_number = client.get(RETURN_LIST, {"q": theirs.number})
    by_reason = client.get(RETURN_LIST, {"reason": ReturnReason.WRONG_ITEM})
    by_quality = client.get(RETURN_LIST, {"reason": ReturnReason.QUALITY})

    assert list(by_order.context["cl"].result_list) == [mine]
    assert list(by_number.context["cl"].result_list) == [theirs]
    assert list(by_reason.context["cl"].result_list) == []
    assert set(by_quality.context["cl"].result_list) == {mine, theirs}
    assert "Quality problem" in by_order.content.decode()


def test_returns_are_never_added_edited_or_deleted_outside_their_steps(client, order, product):
    case = ask(order, (product, 1), actor=staff("Customer service"))
    signed_in(client, "Manager")

    assert client.get(reverse("admin:aftersales_returnrequest_add")).status_code == 403
    assert client.post(reverse("admin:aftersales_returnrequest_delete", args=[case.pk])).status_code == 403
    assert client.post(return_page(case), {"status": "closed"}).status_code == 405
    assert ReturnRequest.objects.get().status == Status.REQUESTED


def test_completed_orders_still_offer_a_return_within_the_window(client, order):
    advance(order, "completed")
    signed_in(client, "Customer service")

    assert open_url(order) in client.get(order_page(order)).content.decode()
