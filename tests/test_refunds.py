"""Refunds: requested against captured payments, approved by Finance, then paid or failed; they never
take more than a payment captured; cancelling a paid order asks for the refund owed. Through the
services and through the console's refund list, refund page and order page."""

from decimal import Decimal

import pytest
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from core.actors import SYSTEM
from core.transitions import TransitionRefused
from orders import services as orders
from orders.models import Order, Refund
from orders.selectors import order_work_queues
from tests.factories import ProductFactory, WarehouseFactory, place, staff, stock

pytestmark = pytest.mark.django_db

RStatus = Refund.Status
REFUND_LIST = reverse("admin:orders_refund_changelist")


@pytest.fixture
def finance():
    return staff("Finance")


@pytest.fixture
def product():
    item = ProductFactory(unit_price=Decimal("25.00"))
    stock(item, WarehouseFactory(), 20)
    return item


@pytest.fixture
def paid_order(product, finance):
    """An order of 100.00 paid in two card payments: 40.00 first, then 60.00."""
    order = place(lines=[(product, 4)], payment_method="card")
    orders.record_payment(order.pk, method="card", amount=Decimal("40.00"), actor=finance, reference="P1")
    orders.record_payment(order.pk, method="card", amount=Decimal("60.00"), actor=finance, reference="P2")
    return fresh(order)


def fresh(order):
    return Order.objects.get(pk=order.pk)


def refund_of(refund):
    return Refund.objects.get(pk=refund.pk)


def payments_of(order):
    return list(order.payments.order_by("pk"))


def one_refund(order, amount, actor, **extra):
    [refund] = orders.request_refund(order.pk, amount=Decimal(amount), reason="damaged", actor=actor, **extra)
    return refund


def state(order):
    order = fresh(order)
    return (
        order.payment_status,
        order.amount_refunded,
        order.refund_due,
        list(Refund.objects.filter(order=order).order_by("pk").values_list("status", "amount")),
    )


# --- requesting -------------------------------------------------------------------------------------


def test_a_request_is_spread_over_the_payments_newest_first(paid_order, finance):
    first, second = payments_of(paid_order)

    refunds = orders.request_refund(paid_order.pk, amount=Decimal("80.00"), reason="returned", actor=finance)

    assert [(r.payment, r.amount, r.status, r.requested_by) for r in refunds] == [
        (second, Decimal("60.00"), RStatus.REQUESTED, finance),
        (first, Decimal("20.00"), RStatus.REQUESTED, finance),
    ]
    order = fresh(paid_order)
    assert (order.refund_due, order.amount_refunded, order.payment_status) == (
        Decimal("80.00"),
        Decimal("0.00"),
        Order.PaymentStatus.PAID,
    )


def test_a_request_may_name_its_payment(paid_order, finance):
    first, _second = payments_of(paid_order)

    refund = one_refund(paid_order, "15.00", finance, payment_id=first.pk)

    assert (refund.payment, refund.amount) == (first, Decimal("15.00"))


def test_a_request_for_more_than_its_payment_has_is_refused(paid_order, finance):
    first, _second = payments_of(paid_order)
    before = state(paid_order)

    with pytest.raises(ValidationError) as refused:
        one_refund(paid_order, "40.01", finance, payment_id=first.pk)

    assert "At most 40.00 CNY" in refused.value.message_dict["amount"][0]
    assert state(paid_order) == before


def test_a_request_for_more_than_was_captured_is_refused(paid_order, finance):
    with pytest.raises(ValidationError) as refused:
        orders.request_refund(paid_order.pk, amount=Decimal("100.01"), reason="x", actor=finance)

    assert paid_order.number in refused.value.message_dict["amount"][0]
    assert not Refund.objects.exists()


def test_approved_and_paid_refunds_leave_less_to_request(paid_order, finance):
    refunds = orders.request_refund(paid_order.pk, amount=Decimal("70.00"), reason="x", actor=finance)
    for refund in refunds:
        orders.approve_refund(refund.pk, actor=finance)
    orders.mark_refund_paid(refunds[0].pk, actor=finance, reference="RF1")

    with pytest.raises(ValidationError, match="At most 30.00"):
        orders.request_refund(paid_order.pk, amount=Decimal("30.01"), reason="x", actor=finance)
    assert len(orders.request_refund(paid_order.pk, amount=Decimal("30.00"), reason="x", actor=finance)) == 1


@pytest.mark.parametrize(
    ("amount", "reason", "field"),
    [
        (Decimal("0"), "x", "amount"),
        (Decimal("-1"), "x", "amount"),
        (5, "x", "amount"),
        (Decimal("5"), "  ", "reason"),
        (Decimal("5"), "r" * 256, "reason"),
    ],
)
def test_a_request_with_bad_input_is_refused(paid_order, finance, amount, reason, field):
    with pytest.raises(ValidationError) as refused:
        orders.request_refund(paid_order.pk, amount=amount, reason=reason, actor=finance)

    assert field in refused.value.message_dict
    assert not Refund.objects.exists()


def test_a_request_against_another_orders_payment_is_refused(paid_order, finance, product):
    other = place(lines=[(product, 1)], payment_method="card", paid_amount="25.00", phone="13900000077")

    with pytest.raises(ValidationError) as refused:
        one_refund(paid_order, "5.00", finance, payment_id=other.payments.get().pk)

    assert "payment" in refused.value.message_dict
    assert not Refund.objects.exists()


def test_an_unpaid_order_has_nothing_to_refund(product, finance):
    order = place(lines=[(product, 1)], payment_method="bank_transfer")

    with pytest.raises(ValidationError, match="At most 0"):
        one_refund(order, "1.00", finance)


# --- the refund's steps ---------------------------------------------------------------------------


def test_a_refund_is_approved_then_paid_with_its_payout_reference(paid_order, finance):
    refund = one_refund(paid_order, "30.00", finance)

    orders.approve_refund(refund.pk, actor=finance)
    approved = refund_of(refund)
    assert (approved.status, approved.approved_by, approved.approved_at is not None) == (
        RStatus.APPROVED,
        finance,
        True,
    )
    assert state(paid_order)[:3] == (Order.PaymentStatus.PAID, Decimal("0.00"), Decimal("30.00"))

    orders.mark_refund_paid(refund.pk, actor=finance, reference=" BANK-778 ")
    paid = refund_of(refund)
    assert (paid.status, paid.reference, paid.settled_by, paid.settled_at is not None) == (
        RStatus.PAID,
        "BANK-778",
        finance,
        True,
    )
    assert state(paid_order)[:3] == (Order.PaymentStatus.PARTIALLY_REFUNDED, Decimal("30.00"), Decimal("0.00"))


@pytest.mark.parametrize("approve_first", [False, True], ids=["declined", "failed-after-approval"])
def test_a_refund_is_declined_or_fails_with_a_reason_and_owes_nothing(paid_order, finance, approve_first):
    refund = one_refund(paid_order, "30.00", finance)
    if approve_first:
        orders.approve_refund(refund.pk, actor=finance)

    orders.fail_refund(refund.pk, actor=finance, reason="account closed")

    failed = refund_of(refund)
    assert (failed.status, failed.failure_reason, failed.settled_by) == (RStatus.FAILED, "account closed", finance)
    assert state(paid_order)[:3] == (Order.PaymentStatus.PAID, Decimal("0.00"), Decimal("0.00"))


def test_a_failed_refund_frees_its_part_of_the_payment(paid_order, finance):
    first, _second = payments_of(paid_order)
    refund = one_refund(paid_order, "40.00", finance, payment_id=first.pk)
    orders.approve_refund(refund.pk, actor=finance)
    orders.fail_refund(refund.pk, actor=finance, reason="wrong account")

    again = one_refund(paid_order, "40.00", finance, payment_id=first.pk)
    orders.approve_refund(again.pk, actor=finance)

    assert refund_of(again).status == RStatus.APPROVED


@pytest.mark.parametrize(
    ("reached", "step", "kwargs"),
    [
        ("approved", "approve_refund", {}),
        ("paid", "approve_refund", {}),
        ("failed", "approve_refund", {}),
        ("requested", "mark_refund_paid", {"reference": "R"}),
        ("paid", "mark_refund_paid", {"reference": "R"}),
        ("failed", "mark_refund_paid", {"reference": "R"}),
        ("paid", "fail_refund", {"reason": "late"}),
        ("failed", "fail_refund", {"reason": "late"}),
    ],
)
def test_a_step_the_refunds_status_does_not_allow_is_refused(paid_order, finance, reached, step, kwargs):
    refund = one_refund(paid_order, "10.00", finance)
    if reached in ("approved", "paid"):
        orders.approve_refund(refund.pk, actor=finance)
    if reached == "paid":
        orders.mark_refund_paid(refund.pk, actor=finance, reference="R0")
    if reached == "failed":
        orders.fail_refund(refund.pk, actor=finance, reason="declined")
    before = state(paid_order), refund_of(refund).settled_at

    with pytest.raises(TransitionRefused) as refused:
        getattr(orders, step)(refund.pk, actor=finance, **kwargs)

    assert f"The refund of 10.00 CNY on order {paid_order.number} is" in str(refused.value)
    assert (state(paid_order), refund_of(refund).settled_at) == before


def test_paying_needs_a_reference_and_failing_needs_a_reason(paid_order, finance):
    refund = one_refund(paid_order, "10.00", finance)
    orders.approve_refund(refund.pk, actor=finance)

    with pytest.raises(ValidationError) as no_reference:
        orders.mark_refund_paid(refund.pk, actor=finance, reference=" ")
    with pytest.raises(ValidationError) as no_reason:
        orders.fail_refund(refund.pk, actor=finance, reason="")

    assert "reference" in no_reference.value.message_dict
    assert "reason" in no_reason.value.message_dict
    assert refund_of(refund).status == RStatus.APPROVED


def test_approving_more_than_the_payment_has_left_is_refused(paid_order, finance):
    _first, second = payments_of(paid_order)
    one = one_refund(paid_order, "40.00", finance, payment_id=second.pk)
    other = one_refund(paid_order, "30.00", finance, payment_id=second.pk)
    orders.approve_refund(one.pk, actor=finance)

    with pytest.raises(ValidationError) as refused:
        orders.approve_refund(other.pk, actor=finance)

    assert "20.00 after the refunds approved or paid already" in refused.value.message_dict["amount"][0]
    assert refund_of(other).status == RStatus.REQUESTED


# --- cancelling ------------------------------------------------------------------------------------


def test_cancelling_a_paid_order_asks_for_the_refund_of_each_payment(paid_order):
    service = staff("Customer service")

    orders.cancel(paid_order.pk, actor=service, reason="customer changed mind")

    refunds = list(Refund.objects.filter(order=paid_order).order_by("payment_id"))
    assert [(r.payment.reference, r.amount, r.status, r.requested_by, r.reason) for r in refunds] == [
        ("P1", Decimal("40.00"), RStatus.REQUESTED, service, "Order cancelled: customer changed mind"),
        ("P2", Decimal("60.00"), RStatus.REQUESTED, service, "Order cancelled: customer changed mind"),
    ]
    assert fresh(paid_order).refund_due == Decimal("100.00")


def test_cancelling_asks_only_for_what_no_refund_covers_yet(paid_order, finance):
    _first, second = payments_of(paid_order)
    earlier = one_refund(paid_order, "25.00", finance, payment_id=second.pk)

    orders.cancel(paid_order.pk, actor=staff("Manager"), reason="out of stock")

    assert list(
        Refund.objects.filter(order=paid_order)
        .exclude(pk=earlier.pk)
        .order_by("payment_id")
        .values_list("payment__reference", "amount")
    ) == [
        ("P1", Decimal("40.00")),
        ("P2", Decimal("35.00")),
    ]
    assert fresh(paid_order).refund_due == Decimal("100.00")


def test_a_cancellation_refund_goes_through_finance_to_refunded(paid_order, finance):
    orders.cancel(paid_order.pk, actor=staff("Customer service"), reason="duplicate")

    for refund in Refund.objects.filter(order=paid_order):
        orders.approve_refund(refund.pk, actor=finance)
        orders.mark_refund_paid(refund.pk, actor=finance, reference=f"RF{refund.pk}")

    assert state(paid_order)[:3] == (Order.PaymentStatus.REFUNDED, Decimal("100.00"), Decimal("0.00"))


# --- roles -----------------------------------------------------------------------------------------


def test_a_warehouse_operator_cannot_approve_a_refund(paid_order, finance):
    refund = one_refund(paid_order, "10.00", finance)

    with pytest.raises(PermissionDenied):
        orders.approve_refund(refund.pk, actor=staff("Warehouse operator"))

    assert refund_of(refund).status == RStatus.REQUESTED


@pytest.mark.parametrize("role", ["Customer service", "Logistics coordinator"])
def test_only_finance_and_managers_approve_pay_or_fail_refunds(paid_order, finance, role):
    refund = one_refund(paid_order, "10.00", finance)
    actor = staff(role)

    for step, kwargs in [(orders.approve_refund, {}), (orders.fail_refund, {"reason": "no"})]:
        with pytest.raises(PermissionDenied):
            step(refund.pk, actor=actor, **kwargs)
    orders.approve_refund(refund.pk, actor=staff("Manager"))
    with pytest.raises(PermissionDenied):
        orders.mark_refund_paid(refund.pk, actor=actor, reference="R")

    assert refund_of(refund).status == RStatus.APPROVED


def test_an_order_reviewer_cannot_request_a_refund(paid_order):
    with pytest.raises(PermissionDenied):
        orders.request_refund(paid_order.pk, amount=Decimal("5.00"), reason="x", actor=staff("Order reviewer"))

    assert not Refund.objects.exists()


def test_customer_service_requests_a_refund(paid_order):
    service = staff("Customer service")

    refund = one_refund(paid_order, "5.00", service)

    assert (refund.requested_by, refund.status) == (service, RStatus.REQUESTED)


# --- the console -----------------------------------------------------------------------------------


def refund_page(refund):
    return reverse("admin:orders_refund_change", args=[refund.pk])


def step_url(refund, step):
    return reverse("admin:orders_refund_step", args=[refund.pk, step])


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def test_finance_lists_refunds_filtered_by_status_and_method(client, paid_order, finance, product):
    waiting = one_refund(paid_order, "10.00", finance)
    approved = one_refund(paid_order, "20.00", finance)
    orders.approve_refund(approved.pk, actor=finance)
    client.force_login(finance)

    requested_only = client.get(REFUND_LIST, {"status__exact": "requested"})
    by_wallet = client.get(REFUND_LIST, {"method": "e_wallet"})

    assert [r.pk for r in requested_only.context["cl"].result_list] == [waiting.pk]
    assert list(by_wallet.context["cl"].result_list) == []
    content = requested_only.content.decode()
    assert paid_order.number in content and "oc-refund-requested" in content


def test_finance_approves_then_records_paid_from_the_refund_page(client, paid_order, finance):
    refund = one_refund(paid_order, "10.00", finance)
    client.force_login(finance)

    page = client.get(refund_page(refund)).content.decode()
    assert step_url(refund, "approve") in page and step_url(refund, "mark_paid") not in page
    approved = client.post(step_url(refund, "approve"), follow=True)
    page = approved.content.decode()
    assert f"The refund of 10.00 CNY on order {paid_order.number} is now Approved." in messages_of(approved)
    assert step_url(refund, "mark_paid") in page and step_url(refund, "approve") not in page

    unnamed = client.post(step_url(refund, "mark_paid"), {"reference": "  "}, follow=True)
    assert messages_of(unnamed) == ["Payout reference: This field is required."]
    assert refund_of(refund).status == RStatus.APPROVED
    client.post(step_url(refund, "mark_paid"), {"reference": "BANK-1"})

    paid = refund_of(refund)
    assert (paid.status, paid.reference, paid.settled_by) == (RStatus.PAID, "BANK-1", finance)
    assert "Record refund paid" not in client.get(refund_page(refund)).content.decode()


def test_finance_declines_a_refund_with_a_reason_from_its_page(client, paid_order, finance):
    refund = one_refund(paid_order, "10.00", finance)
    client.force_login(finance)

    empty = client.post(step_url(refund, "fail"), {"reason": ""}, follow=True)
    client.post(step_url(refund, "fail"), {"reason": "not eligible"})

    assert messages_of(empty) == ["Why it is declined or failed: This field is required."]
    declined = refund_of(refund)
    assert (declined.status, declined.failure_reason) == (RStatus.FAILED, "not eligible")


def test_the_refund_pages_offer_no_add_change_or_delete(client, paid_order, finance):
    refund = one_refund(paid_order, "10.00", finance)
    client.force_login(staff("Manager"))

    assert client.get(reverse("admin:orders_refund_add")).status_code == 403
    assert client.post(refund_page(refund), {"amount": "1.00"}).status_code == 405
    assert client.get(reverse("admin:orders_refund_delete", args=[refund.pk])).status_code == 403
    actions = client.get(REFUND_LIST).context["action_form"].fields["action"].choices
    assert [name for name, _label in actions if name] == ["approve_selected"]


def test_bulk_approve_refuses_each_refund_with_its_own_reason(client, paid_order, finance):
    _first, second = payments_of(paid_order)
    fits = one_refund(paid_order, "50.00", finance, payment_id=second.pk)
    too_much = one_refund(paid_order, "20.00", finance, payment_id=second.pk)
    paid = one_refund(paid_order, "5.00", finance, payment_id=second.pk)
    orders.approve_refund(paid.pk, actor=finance)
    orders.mark_refund_paid(paid.pk, actor=finance, reference="R")
    client.force_login(finance)

    response = client.post(
        REFUND_LIST,
        {
            "action": "approve_selected",
            helpers.ACTION_CHECKBOX_NAME: [fits.pk, too_much.pk, paid.pk],
        },
        follow=True,
    )

    notes = messages_of(response)
    assert "1 refund approved." in notes
    assert any("more than is left of its payment" in note for note in notes)
    assert any("is Paid now" in note for note in notes)
    assert [refund_of(r).status for r in (fits, too_much, paid)] == [RStatus.APPROVED, RStatus.REQUESTED, RStatus.PAID]


def test_a_warehouse_operator_cannot_see_or_approve_refunds_in_the_console(client, paid_order, finance):
    refund = one_refund(paid_order, "10.00", finance)
    client.force_login(staff("Warehouse operator"))

    assert client.get(REFUND_LIST).status_code == 403
    assert client.post(step_url(refund, "approve")).status_code == 403
    assert refund_of(refund).status == RStatus.REQUESTED


def test_customer_service_sees_a_refund_without_steps_and_cannot_approve_it(client, paid_order, finance):
    refund = one_refund(paid_order, "10.00", finance)
    client.force_login(staff("Customer service"))

    page = client.get(refund_page(refund))
    refused = client.post(step_url(refund, "approve"), follow=True)

    assert page.status_code == 200 and page.context["refund_steps"] == []
    assert client.get(REFUND_LIST).context["action_form"] is None, "no bulk action is offered"
    assert any("Your role may not" in note for note in messages_of(refused))
    assert refund_of(refund).status == RStatus.REQUESTED


def test_the_order_page_shows_refunds_under_their_payment_and_the_figures(client, paid_order, finance):
    _first, second = payments_of(paid_order)
    refund = one_refund(paid_order, "12.50", finance, payment_id=second.pk)
    client.force_login(finance)

    response = client.get(reverse("admin:orders_order_change", args=[paid_order.pk]))

    content = response.content.decode()
    payments = content[content.index('id="oc-payments"') :]
    assert payments.index("P2") < payments.index(refund_page(refund))
    assert 'oc-refund-requested">Requested</span> damaged' in payments
    figures = response.context["figures"]
    assert (figures.captured, figures.refunded, figures.refund_owed, figures.balance_due) == (
        Decimal("100.00"),
        Decimal("0.00"),
        Decimal("12.50"),
        Decimal("0.00"),
    )
    assert reverse("admin:orders_order_statement", args=[paid_order.pk]) in payments


def test_customer_service_requests_a_refund_from_the_order_page(client, paid_order):
    service = staff("Customer service")
    client.force_login(service)
    first, _second = payments_of(paid_order)
    url = reverse("admin:orders_order_refund", args=[paid_order.pk])

    assert client.get(reverse("admin:orders_order_change", args=[paid_order.pk])).context["refund_form"] is not None
    too_much = client.post(url, {"amount": "41.00", "reason": "scratched", "payment": str(first.pk)})
    done = client.post(url, {"amount": "70.00", "reason": "scratched", "payment": ""}, follow=True)

    assert "At most 40.00" in str(too_much.context["refund_form"].errors["amount"])
    assert "2 refunds requested, one per payment; Finance approves them." in messages_of(done)
    assert list(Refund.objects.order_by("pk").values_list("amount", "requested_by")) == [
        (Decimal("60.00"), service.pk),
        (Decimal("10.00"), service.pk),
    ]


def test_roles_without_request_permission_get_no_refund_form(client, paid_order):
    client.force_login(staff("Warehouse operator"))

    page = client.get(reverse("admin:orders_order_change", args=[paid_order.pk]))
    refused = client.post(reverse("admin:orders_order_refund", args=[paid_order.pk]), {"amount": "5.00", "reason": "x"})

    assert page.context["refund_form"] is None
    assert "Request a refund" not in page.content.decode()
    assert refused.status_code == 403
    assert not Refund.objects.exists()


def test_the_front_page_queues_refunds_to_approve_and_to_pay_for_finance(client, paid_order, finance):
    one_refund(paid_order, "10.00", finance)
    approved = one_refund(paid_order, "20.00", finance)
    orders.approve_refund(approved.pk, actor=finance)

    finance_queues = {queue["label"]: (queue["count"], queue["url"]) for queue in order_work_queues(finance)}
    service_queues = {str(queue["label"]) for queue in order_work_queues(staff("Customer service"))}

    assert finance_queues["Refunds to approve"] == (1, f"{REFUND_LIST}?status__exact=requested")
    assert finance_queues["Approved refunds to pay"] == (1, f"{REFUND_LIST}?status__exact=approved")
    assert not service_queues & {"Refunds to approve", "Approved refunds to pay"}


# --- the channel API -------------------------------------------------------------------------------


def test_the_api_order_detail_shows_refunds_and_the_amount_refunded(paid_order, finance):
    refund = one_refund(paid_order, "30.00", finance)
    orders.approve_refund(refund.pk, actor=finance)
    orders.mark_refund_paid(refund.pk, actor=finance, reference="RF-9")
    one_refund(paid_order, "5.00", finance)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {orders.issue_token(paid_order.channel_id, actor=SYSTEM).secret}")

    body = api.get(f"/api/v1/orders/{paid_order.number}/").json()

    assert (body["payment_status"], body["amount_paid"], body["amount_refunded"], body["refund_due"]) == (
        "partially_refunded",
        "100.00",
        "30.00",
        "5.00",
    )
    assert [(r["amount"], r["status"]) for r in body["refunds"]] == [("5.00", "requested"), ("30.00", "paid")]
    assert all(r["requested_at"] for r in body["refunds"])


def test_the_order_pages_totals_show_what_was_refunded_once_a_refund_is_paid(client, paid_order, finance):
    refund = one_refund(paid_order, "10.00", finance)
    orders.approve_refund(refund.pk, actor=finance)
    client.force_login(finance)
    order_page = reverse("admin:orders_order_change", args=[paid_order.pk])
    assert "<th>Refunded</th><td>CNY 10.00</td>" not in client.get(order_page).content.decode()

    orders.mark_refund_paid(refund.pk, actor=finance, reference="BANK-1")

    assert "<th>Refunded</th><td>CNY 10.00</td>" in client.get(order_page).content.decode()


def test_finance_finds_an_orders_refunds_by_its_number_in_any_case(client, paid_order, finance, product):
    mine = one_refund(paid_order, "10.00", finance)
    other_order = place(lines=[(product, 1)], payment_method="card")
    orders.record_payment(other_order.pk, method="card", amount=Decimal("25.00"), actor=finance)
    one_refund(other_order, "5.00", finance)
    client.force_login(finance)

    found = client.get(REFUND_LIST, {"q": f"  {paid_order.number.lower()} "})

    assert [r.pk for r in found.context["cl"].result_list] == [mine.pk]
