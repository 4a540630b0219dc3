"""Reconciliation: per day, channel and payment method, what orders say against what payments say,
with each kind of mismatch found, on the page and in its Excel download."""

import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from orders import selectors
from orders import services as orders
from orders.models import Channel, Payment, Refund
from orders.selectors import MismatchKind
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, advance, place_apart, staff, stock

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
MARCH_10, MARCH_11 = date(2025, 3, 10), date(2025, 3, 11)
RECONCILIATION = reverse("admin:orders_payment_changelist")
EXCEL = reverse("admin:orders_payment_reconciliation_excel")


def at(day, hour):
    return datetime(2025, 3, day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def product():
    item = ProductFactory(unit_price=Decimal("25.00"))
    stock(item, WarehouseFactory(), 100)
    return item


@pytest.fixture
def web():
    return ChannelFactory()


@pytest.fixture
def app():
    return ChannelFactory(code="app", name="App", kind=Channel.Kind.APP)


def new_order(product, quantity=1, channel=None, **overrides):
    return place_apart(channel, lines=[(product, quantity)], **overrides)


def settle_refund(refund, finance, *, on):
    orders.approve_refund(refund.pk, actor=finance)
    orders.mark_refund_paid(refund.pk, actor=finance, reference=f"RF{refund.pk}")
    Refund.objects.filter(pk=refund.pk).update(settled_at=on)


@pytest.fixture
def two_days(product, web, app):
    """Orders, payments and a refund over 10 and 11 March in two channels."""
    finance, manager = staff("Finance"), staff("Manager")
    paid_by_card = new_order(product, 2, web, payment_method="card", paid_amount="50.00", placed_at=at(10, 10))
    new_order(product, 1, web, placed_at=at(10, 11))
    cancelled = new_order(product, 1, web, payment_method="card", paid_amount="25.00", placed_at=at(10, 23))
    orders.cancel(cancelled.pk, actor=manager, reason="duplicate")
    by_transfer = new_order(product, 3, app, payment_method="bank_transfer", placed_at=at(11, 9))
    transfer = orders.record_payment(by_transfer.pk, method="bank_transfer", amount=Decimal("75.00"), actor=finance)
    Payment.objects.filter(pk=transfer.pk).update(created_at=at(11, 12))
    [refund] = orders.request_refund(paid_by_card.pk, amount=Decimal("20.00"), reason="scratch", actor=finance)
    settle_refund(refund, finance, on=at(11, 18))
    # Outside the period: the day before, and the day after.
    new_order(product, 1, web, payment_method="card", paid_amount="25.00", placed_at=at(9, 23))
    new_order(product, 1, app, payment_method="card", paid_amount="25.00", placed_at=at(12, 0))


def rows_of(summary):
    return [
        (row.day, row.channel, row.method, row.currency, row.orders, row.ordered, row.captured, row.refunded, row.net)
        for row in summary.rows
    ]


def totals_of(summary):
    return [
        (total.currency, total.orders, total.ordered, total.captured, total.refunded, total.net)
        for total in summary.totals
    ]


def test_totals_per_day_channel_and_method(two_days):
    summary = selectors.reconciliation(MARCH_10, MARCH_11)

    assert rows_of(summary) == [
        (MARCH_10, "Web shop", "Card", "CNY", 1, Decimal("50.00"), Decimal("75.00"), 0, Decimal("75.00")),
        (MARCH_10, "Web shop", "Cash on delivery", "CNY", 1, Decimal("25.00"), 0, 0, 0),
        (MARCH_11, "App", "Bank transfer", "CNY", 1, Decimal("75.00"), Decimal("75.00"), 0, Decimal("75.00")),
        (MARCH_11, "Web shop", "Card", "CNY", 0, 0, 0, Decimal("20.00"), Decimal("-20.00")),
    ]
    assert totals_of(summary) == [
        ("CNY", 3, Decimal("150.00"), Decimal("150.00"), Decimal("20.00"), Decimal("130.00")),
    ]


def test_amounts_in_different_currencies_are_never_added_up(product, web):
    finance = staff("Finance")
    new_order(product, 2, web, payment_method="card", paid_amount="50.00", placed_at=at(10, 9))
    in_dollars = new_order(
        product, 1, web, payment_method="card", paid_amount="25.00", currency="USD", placed_at=at(10, 10)
    )
    [refund] = orders.request_refund(in_dollars.pk, amount=Decimal("5.00"), reason="late", actor=finance)
    settle_refund(refund, finance, on=at(10, 12))

    summary = selectors.reconciliation(MARCH_10, MARCH_10)

    assert rows_of(summary) == [
        (MARCH_10, "Web shop", "Card", "CNY", 1, Decimal("50.00"), Decimal("50.00"), 0, Decimal("50.00")),
        (MARCH_10, "Web shop", "Card", "USD", 1, Decimal("25.00"), Decimal("25.00"), Decimal("5.00"), Decimal("20.00")),
    ]
    assert totals_of(summary) == [
        ("CNY", 1, Decimal("50.00"), Decimal("50.00"), 0, Decimal("50.00")),
        ("USD", 1, Decimal("25.00"), Decimal("25.00"), Decimal("5.00"), Decimal("20.00")),
    ]


def test_the_channel_filter_keeps_one_channel(two_days, app):
    summary = selectors.reconciliation(MARCH_10, MARCH_11, channel=app)

    assert rows_of(summary) == [
        (MARCH_11, "App", "Bank transfer", "CNY", 1, Decimal("75.00"), Decimal("75.00"), 0, Decimal("75.00")),
    ]


def test_days_are_the_shops_days(product, web):
    # 23:00 and 01:00 in Shanghai are both on 10 March in UTC (15:00 and 17:00).
    new_order(product, 1, web, payment_method="card", paid_amount="25.00", placed_at=at(10, 23))
    new_order(product, 2, web, payment_method="card", paid_amount="50.00", placed_at=at(11, 1))

    assert [(row.day, row.ordered) for row in selectors.reconciliation(MARCH_10, MARCH_11).rows] == [
        (MARCH_10, Decimal("25.00")),
        (MARCH_11, Decimal("50.00")),
    ]
    assert [row.day for row in selectors.reconciliation(MARCH_10, MARCH_10).rows] == [MARCH_10]
    assert [row.day for row in selectors.reconciliation(MARCH_11, MARCH_11).rows] == [MARCH_11]


def kinds(mismatches):
    return sorted((m.kind, m.number, m.amount) for m in mismatches)


def test_an_order_paid_in_full_but_held_is_paid_but_not_confirmed(product, web):
    held = new_order(
        product, 2, web, payment_method="card", paid_amount="50.00", city="", district="", placed_at=at(10, 9)
    )
    new_order(product, 2, web, payment_method="card", paid_amount="20.00", city="", district="", placed_at=at(10, 9))

    mismatches = selectors.payment_mismatches(MARCH_10, MARCH_10)

    assert kinds(mismatches) == [(MismatchKind.PAID_NOT_CONFIRMED, held.number, Decimal("50.00"))]
    assert mismatches[0].detail == "Paid 50.00 of 50.00, but the order is Held for review."


def test_an_order_shipped_unpaid_beyond_cash_on_delivery_is_listed(product, web):
    # An unpaid bank transfer now waits for its payment; instalments go on after the first one.
    unpaid = new_order(product, 2, web, payment_method="instalments", paid_amount="10.00", placed_at=at(10, 9))
    advance(unpaid, "shipped")
    advance(new_order(product, 1, web, placed_at=at(10, 10)), "shipped")  # cash on delivery, still with the carrier

    mismatches = selectors.payment_mismatches(MARCH_10, MARCH_10)

    assert kinds(mismatches) == [(MismatchKind.SHIPPED_UNPAID, unpaid.number, Decimal("40.00"))]
    assert mismatches[0].detail == "Shipped, paid by Instalments, with 40.00 of 50.00 not paid."


def test_open_refunds_are_listed_with_their_age_whenever_asked_for(product, web):
    finance = staff("Finance")
    old = new_order(product, 2, web, payment_method="card", paid_amount="50.00", placed_at=at(1, 9))
    [refund] = orders.request_refund(old.pk, amount=Decimal("30.00"), reason="late parcel", actor=finance)
    Refund.objects.filter(pk=refund.pk).update(requested_at=at(8, 9))

    mismatches = selectors.payment_mismatches(MARCH_10, MARCH_10, now=at(10, 9))

    assert kinds(mismatches) == [(MismatchKind.REFUND_OWED, old.number, Decimal("30.00"))]
    assert mismatches[0].detail == "Open for 2\xa0days (Requested): late parcel"


def test_a_cancelled_order_keeping_money_without_a_refund_is_listed(product, web):
    finance, manager = staff("Finance"), staff("Manager")
    kept = new_order(product, 2, web, payment_method="card", paid_amount="50.00", placed_at=at(10, 9))
    orders.cancel(kept.pk, actor=manager, reason="fraud suspected")
    [owed] = kept.refunds.all()
    orders.fail_refund(owed.pk, actor=finance, reason="card blocked")
    refunded = new_order(product, 1, web, payment_method="card", paid_amount="25.00", placed_at=at(10, 10))
    orders.cancel(refunded.pk, actor=manager, reason="duplicate")
    settle_refund(refunded.refunds.get(), finance, on=at(10, 12))

    mismatches = selectors.payment_mismatches(MARCH_10, MARCH_10)

    assert kinds(mismatches) == [(MismatchKind.REFUND_OWED, kept.number, Decimal("50.00"))]
    assert "no refund asked for" in mismatches[0].detail


def test_a_cancelled_order_is_listed_for_what_a_failed_refund_left_while_another_is_open(product, web):
    finance = staff("Finance")
    order = new_order(product, 4, web, payment_method="card", placed_at=at(10, 9))
    orders.record_payment(order.pk, method="card", amount=Decimal("40.00"), actor=finance)
    orders.record_payment(order.pk, method="card", amount=Decimal("60.00"), actor=finance)
    orders.cancel(order.pk, actor=staff("Manager"), reason="out of stock")
    failed, still_open = order.refunds.order_by("payment_id")
    orders.fail_refund(failed.pk, actor=finance, reason="card expired")

    mismatches = selectors.payment_mismatches(MARCH_10, MARCH_10)

    assert kinds(mismatches) == [
        (MismatchKind.REFUND_OWED, order.number, Decimal("40.00")),
        (MismatchKind.REFUND_OWED, order.number, still_open.amount),
    ]
    assert any("40.00 captured that no refund asked for or paid covers" in m.detail for m in mismatches)


def test_orders_and_payments_that_agree_give_no_mismatch(product, web):
    finance = staff("Finance")
    new_order(product, 1, web, payment_method="card", paid_amount="25.00", placed_at=at(10, 9))
    delivered = advance(new_order(product, 1, web, placed_at=at(10, 10)), "delivered")
    [refund] = orders.request_refund(delivered.pk, amount=Decimal("5.00"), reason="late", actor=finance)
    settle_refund(refund, finance, on=at(10, 12))

    assert selectors.payment_mismatches(MARCH_10, MARCH_10) == []


def test_mismatches_follow_the_channel_filter(product, web, app):
    held_web = new_order(
        product, 1, web, payment_method="card", paid_amount="25.00", city="", district="", placed_at=at(10, 9)
    )
    new_order(product, 1, app, payment_method="card", paid_amount="25.00", city="", district="", placed_at=at(10, 9))

    assert [m.number for m in selectors.payment_mismatches(MARCH_10, MARCH_10, channel=web)] == [held_web.number]


# --- the console -----------------------------------------------------------------------------------


def test_finance_sees_the_last_seven_days_by_default(client, product, web):
    client.force_login(staff("Finance"))
    today = timezone.localdate()
    new_order(product, 1, web, payment_method="card", paid_amount="25.00", city="", district="")

    response = client.get(RECONCILIATION)

    assert response.status_code == 200
    form = response.context["form"]
    assert (form.cleaned_data["start"], form.cleaned_data["end"]) == (today - timedelta(days=6), today)
    content = response.content.decode()
    assert "Paid but not confirmed" in content and "Download Excel" in content
    assert [row.method for row in response.context["summary"].rows] == ["Card"]


def test_a_period_that_ends_before_it_starts_is_refused(client):
    client.force_login(staff("Manager"))

    response = client.get(RECONCILIATION, {"start": "2025-03-12", "end": "2025-03-10"})

    assert response.context["summary"] is None
    assert "The period starts after it ends." in response.content.decode()


@pytest.mark.parametrize("role", ["Customer service", "Warehouse operator", "Order reviewer"])
def test_only_finance_and_managers_reconcile(client, role):
    client.force_login(staff(role))

    assert client.get(RECONCILIATION).status_code == 403
    assert client.get(EXCEL).status_code == 403


def test_the_excel_download_holds_the_summary_and_the_mismatches(client, two_days, product, web):
    finance = staff("Finance")
    held = new_order(
        product, 1, web, payment_method="card", paid_amount="25.00", city="", district="", placed_at=at(11, 8)
    )
    [odd] = orders.request_refund(held.pk, amount=Decimal("5.00"), reason="=HYPERLINK(1)\x07", actor=finance)
    client.force_login(finance)

    response = client.get(EXCEL, {"start": "2025-03-10", "end": "2025-03-11"})

    assert response["Content-Disposition"] == 'attachment; filename="reconciliation-2025-03-10-2025-03-11.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    summary, mismatches, outstanding = book.worksheets
    rows = list(summary.iter_rows(values_only=True))
    assert rows[0] == (
        "Day",
        "Channel",
        "Payment method",
        "Currency",
        "Orders",
        "Orders' total",
        "Captured",
        "Refunds paid",
        "Net",
    )
    assert rows[1][:7] == (datetime(2025, 3, 10), "Web shop", "Card", "CNY", 1, 50, 75)
    assert rows[-1] == ("Total", None, None, "CNY", 4, 175, 175, 20, 155)
    problems = list(mismatches.iter_rows(values_only=True))
    assert problems[0][:5] == ("Problem", "Order", "Channel", "What is wrong", "Amount")
    found = {(row[0], row[1]): row for row in problems[1:]}
    assert ("Paid but not confirmed", held.number) in found
    cancelled = Refund.objects.get(reason="Order cancelled: duplicate").order
    assert ("Refund owed but not paid", cancelled.number) in found
    odd_row = found["Refund owed but not paid", held.number]
    assert odd_row[3].endswith("(Requested): =HYPERLINK(1)") and odd_row[4] == odd.amount
    assert next(outstanding.iter_rows(values_only=True))[:5] == (
        "Carrier",
        "Currency",
        "Parcels",
        "Amount",
        "0–7 days (parcels)",
    )


def test_the_orders_menu_leads_finance_to_the_reconciliation(client):
    client.force_login(staff("Finance"))
    finance_menu = client.get(reverse("admin:index")).content.decode()
    client.force_login(staff("Customer service"))
    service_menu = client.get(reverse("admin:index")).content.decode()

    assert f'href="{RECONCILIATION}"' in finance_menu
    assert f'href="{RECONCILIATION}"' not in service_menu
    assert f'href="{reverse("admin:orders_refund_changelist")}"' in service_menu
