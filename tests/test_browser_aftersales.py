"""After-sales in a real browser: a return taken by each role in turn from the order page to the
money back on the settlement statement, and a complaint answered and resolved, by clicking what
staff see. Set OC_SHOTS=1 to keep a screenshot of every page in /tmp/shots."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from aftersales.models import Outcome, ReturnReason, ReturnRequest, Ticket, TicketMessage
from inventory.models import StockLevel, StockMovement
from inventory.selectors import ledger_mismatches
from orders.models import Customer, Order, Payment, Refund
from tests.factories import ProductFactory, WarehouseFactory, staff
from tests.test_browser_console import Visit
from tests.test_returns import delivered_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The reason cell of a return line: the reason, and under it the detail staff typed.
REASON_WITH_DETAIL = re.compile(r"^Quality problem\s*Glaze flakes off$")


def problems_in_every_tab(visit):
    """Visit watches only its own tab; this list gets the failed requests and script errors of
    every tab of its browser, the settlement statement's (opened with target=_blank) included."""
    problems = []
    visit.context.on(
        "response", lambda response: response.status >= 400 and problems.append(f"{response.status} {response.url}")
    )
    visit.context.on("weberror", lambda error: problems.append(f"script error: {error.error}"))
    return problems


def open_order(visit, order):
    visit.page.goto("/admin/orders/order/")
    visit.page.get_by_role("link", name=order.number, exact=True).click()
    expect(visit.page.locator(".oc-order-title h1")).to_contain_text(order.number)


def card(page, heading):
    return page.locator("section.oc-card").filter(has=page.get_by_role("heading", name=heading, exact=True))


def refund_rows(page):
    return page.locator("#oc-payments tr.oc-refund-row")


def expect_rows(table, *names):
    """The table has exactly these rows, named as a screen reader reads them (header and cells)."""
    expect(table.get_by_role("row")).to_have_count(len(names))
    for name in names:
        expect(table.get_by_role("row", name=name, exact=True)).to_have_count(1)


def post_as_signed_in(visit, url):
    """A form post with this tab's session and CSRF token, as a hand-made form would send it. It is
    sent beside the tab, not in it, so the refusal it gets is not one of the tab's problems."""
    token = next(cookie["value"] for cookie in visit.context.cookies() if cookie["name"] == "csrftoken")
    return visit.page.request.post(
        url, headers={"X-CSRFToken": token}, form={"csrfmiddlewaretoken": token}, max_redirects=0
    )


def test_a_refund_return_goes_through_customer_service_warehouse_and_finance_in_the_browser(browser, live_server):
    teapot = ProductFactory(sku="TEAPOT", name="Ceramic teapot", unit_price=Decimal("25.00"))
    cups = ProductFactory(sku="CUPS", name="Tea cups", unit_price=Decimal("12.00"))
    warehouse = WarehouseFactory(code="HZ", name="Hangzhou East")
    order = delivered_order((teapot, 2), (cups, 1), warehouse=warehouse)
    [payment] = order.payments.all()
    assert (order.status, payment.status, payment.amount) == (
        Order.Status.DELIVERED,
        Payment.Status.CAPTURED,
        order.total,
    )
    agent = staff("Customer service", username="cora")
    operator = staff("Warehouse operator", username="otto")
    finance = staff("Finance", username="fiona")
    visit = Visit(browser, live_server.url)
    every_tab_problems = problems_in_every_tab(visit)
    page = visit.page

    # Customer service opens the return from the delivered order's page and approves it.
    visit.log_in(agent)
    open_order(visit, order)
    returns = page.locator("#oc-returns")
    expect(returns).to_contain_text("No return has been asked for.")
    expect(returns.locator(".oc-return-window")).to_contain_text("within")
    visit.shot("order-delivered")
    returns.get_by_role("link", name="Open a return").click()
    expect(page.get_by_role("heading", name=f"Open a return of order {order.number}")).to_be_visible()
    teapot_row = page.get_by_role("row").filter(has_text="TEAPOT")
    expect(teapot_row.get_by_role("spinbutton")).to_have_value("0")
    teapot_row.get_by_role("spinbutton").fill("2")
    teapot_row.get_by_role("combobox").select_option(label="Quality problem")
    teapot_row.get_by_role("textbox").fill("Glaze flakes off")
    page.get_by_label("Customer wants").select_option(label="Refund")
    page.get_by_label("Customer's words").fill("The teapots lose their glaze after one wash.")
    visit.shot("return-open-form")
    page.get_by_role("button", name="Open the return").click()

    visit.expect_message(f"is opened for order {order.number}.")
    case = ReturnRequest.objects.get(order=order)
    visit.expect_message(f"Return {case.number} is opened for order {order.number}.")
    visit.expect_status("Requested")
    line_row = card(page, "Lines").get_by_role("row").filter(has_text="TEAPOT")
    expect(line_row.get_by_role("cell")).to_have_text(
        ["TEAPOT", "Ceramic teapot", REASON_WITH_DETAIL, "2", "—", "—", "—", "—"]
    )
    visit.shot("return-requested")
    page.get_by_role("button", name="Approve", exact=True).click()
    visit.expect_message(f"Return {case.number} is approved: the customer may send the goods.")
    visit.expect_status("Approved")
    expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    visit.shot("return-approved")
    visit.log_out()

    case.refresh_from_db()
    [line] = case.lines.all()
    assert (case.status, case.wanted_outcome, case.within_window, case.requested_by) == (
        ReturnRequest.Status.APPROVED,
        Outcome.REFUND,
        True,
        agent,
    )
    assert (line.order_line.sku, line.quantity, line.reason, line.note) == (
        "TEAPOT",
        2,
        ReturnReason.QUALITY,
        "Glaze flakes off",
    )
    assert case.customer_note == "The teapots lose their glaze after one wash."
    assert list(case.events.order_by("pk").values_list("to_status", "actor__username")) == [
        ("requested", "cora"),
        ("approved", "cora"),
    ]

    # The warehouse receives the goods and inspects them: one teapot for sale again, one broken.
    visit.log_in(operator)
    open_order(visit, order)
    page.locator("#oc-returns").get_by_role("link", name=case.number).click()
    visit.expect_status("Approved")
    for others_step in ("Approve", "Reject", "Confirm: Reject", "Confirm: Resolve", "Close"):
        expect(page.get_by_role("button", name=others_step, exact=True)).to_have_count(0)
    receive = page.locator("#step-receive")
    receive.get_by_label("Arrived at").select_option(label=str(warehouse))
    expect(receive.get_by_role("row").filter(has_text="TEAPOT").get_by_role("spinbutton")).to_have_value("2")
    visit.shot("return-receive-form")
    receive.get_by_role("button", name="Confirm: Receive goods").click()
    visit.expect_message(f"Return {case.number} is received at {warehouse}; inspect the goods next.")
    visit.expect_status("Received")

    inspect = page.locator("#step-inspect")
    inspected_row = inspect.get_by_role("row").filter(has_text="TEAPOT")
    inspected_row.locator(f"input[name='inspect-resellable_{line.pk}']").fill("1")
    inspected_row.locator(f"input[name='inspect-damaged_{line.pk}']").fill("1")
    inspected_row.locator(f"input[name='inspect-note_{line.pk}']").fill("Spout snapped off")
    visit.shot("return-inspect-form")
    inspect.get_by_role("button", name="Confirm: Record inspection").click()
    visit.expect_message(
        f"Return {case.number} is inspected; resellable goods are back in stock, damaged ones in quarantine."
    )
    visit.expect_status("Inspected")
    expect(line_row.get_by_role("cell")).to_have_text(
        ["TEAPOT", "Ceramic teapot", REASON_WITH_DETAIL, "2", "2", "1", "1", "Spout snapped off"]
    )
    expect(page.locator(".oc-return-steps")).to_contain_text("Nothing for you to do on this return now.")
    expect(page.get_by_role("button", name="Confirm: Resolve")).to_have_count(0)
    visit.shot("return-inspected")
    visit.log_out()

    case.refresh_from_db()
    line.refresh_from_db()
    level = StockLevel.objects.get(product=teapot, warehouse=warehouse)
    assert (case.status, case.warehouse) == (ReturnRequest.Status.INSPECTED, warehouse)
    assert (line.received_quantity, line.resellable_quantity, line.damaged_quantity) == (2, 1, 1)
    assert (level.on_hand, level.reserved, level.quarantined) == (1, 0, 1)
    assert sorted(
        StockMovement.objects.filter(reference=case.number).values_list(
            "kind", "on_hand_change", "quarantined_change", "actor__username"
        )
    ) == [(StockMovement.Kind.QUARANTINE, 0, 1, "otto"), (StockMovement.Kind.RETURN, 1, 0, "otto")]

    # Customer service resolves it by a refund, which then shows on the order's page.
    visit.log_in(agent)
    open_order(visit, order)
    page.locator("#oc-returns").get_by_role("link", name=case.number).click()
    visit.expect_status("Inspected")
    resolve = page.locator("#step-resolve")
    expect(resolve.get_by_label("Resolve by")).to_have_value("refund")
    expect(resolve).to_contain_text("Leave empty for the price of the units received: CNY 50.00")
    visit.shot("return-resolve-form")
    resolve.get_by_role("button", name="Confirm: Resolve").click()
    visit.expect_message(f"Return {case.number} is resolved by a refund of CNY 50.00; Finance approves it next.")
    visit.expect_status("Resolved")
    resolution = card(page, "Resolution")
    expect(resolution).to_contain_text("Refund amount: CNY 50.00")
    expect(resolution.locator("tbody tr td").nth(2)).to_have_text("Requested")
    visit.shot("return-resolved")
    page.locator(".oc-facts").get_by_role("link", name=order.number).click()
    expect(refund_rows(page)).to_have_count(1)
    expect(refund_rows(page)).to_contain_text(f"Requested Return {case.number}")
    expect(refund_rows(page)).to_contain_text("− CNY 50.00")
    expect_rows(
        page.locator(".oc-settlement-figures"),
        f"Captured CNY {order.total:.2f}",
        "Refunded CNY 0.00",
        "Refund owed CNY 50.00",
        "Balance due CNY 0.00",
    )
    expect(page.locator("#oc-returns").get_by_role("row").filter(has_text=case.number)).to_contain_text("Resolved")
    visit.shot("order-refund-requested")
    visit.log_out()

    case.refresh_from_db()
    [refund] = case.refunds.all()
    assert (case.status, case.resolution, case.refund_amount) == (
        ReturnRequest.Status.RESOLVED,
        Outcome.REFUND,
        Decimal("50.00"),
    )
    assert (refund.order, refund.payment, refund.amount, refund.status, refund.requested_by) == (
        order,
        payment,
        Decimal("50.00"),
        Refund.Status.REQUESTED,
        agent,
    )

    # A warehouse operator sees the refund on the order but has nothing to approve it with.
    visit.log_in(operator)
    open_order(visit, order)
    expect(refund_rows(page)).to_contain_text("Requested")
    expect(refund_rows(page).get_by_role("link")).to_have_count(0)
    expect(page.get_by_role("button", name="Approve refund")).to_have_count(0)
    refund_page = f"/admin/orders/refund/{refund.pk}/change/"
    assert visit.page.request.get(refund_page, max_redirects=0).status == 403
    refused = post_as_signed_in(visit, f"/admin/orders/refund/{refund.pk}/step/approve/")
    assert refused.status == 403
    assert "CSRF" not in refused.text()
    visit.log_out()
    refund.refresh_from_db()
    assert (refund.status, refund.approved_by) == (Refund.Status.REQUESTED, None)

    # Finance approves the refund and records it paid; the order reads partially refunded.
    visit.log_in(finance)
    open_order(visit, order)
    refund_rows(page).get_by_role("link", name="Refund").click()
    page.get_by_role("button", name="Approve refund").click()
    visit.expect_message(f"The refund of 50.00 CNY on order {order.number} is now Approved.")
    expect(page.get_by_role("button", name="Approve refund")).to_have_count(0)
    page.locator("summary").filter(has_text="Record refund paid").click()
    page.get_by_label("Payout reference").fill("ALI-REF-20240611")
    visit.shot("refund-mark-paid")
    page.get_by_role("button", name="Confirm: Record refund paid").click()
    visit.expect_message(f"The refund of 50.00 CNY on order {order.number} is now Paid.")
    expect(page.locator(".oc-refund-steps")).to_have_count(0)
    open_order(visit, order)
    expect(page.locator(".oc-order-header .oc-facts .oc-badge")).to_have_text("Partially refunded")
    expect(refund_rows(page)).to_contain_text(f"Paid Return {case.number} · ALI-REF-20240611")
    expect_rows(
        page.locator(".oc-settlement-figures"),
        f"Captured CNY {order.total:.2f}",
        "Refunded CNY 50.00",
        "Refund owed CNY 0.00",
        "Balance due CNY 0.00",
    )
    visit.shot("order-partially-refunded")

    refund.refresh_from_db()
    order.refresh_from_db()
    assert (refund.status, refund.approved_by, refund.settled_by, refund.reference) == (
        Refund.Status.PAID,
        finance,
        finance,
        "ALI-REF-20240611",
    )
    assert (order.payment_status, order.amount_paid, order.amount_refunded, order.refund_due) == (
        Order.PaymentStatus.PARTIALLY_REFUNDED,
        order.total,
        Decimal("50.00"),
        Decimal("0.00"),
    )

    # The settlement statement opens from the order page in its own tab.
    with visit.context.expect_page() as new_tab:
        page.get_by_role("link", name="Settlement statement").click()
    statement = new_tab.value
    expect(statement.get_by_text("Settlement statement", exact=True)).to_be_visible()
    expect(statement.locator("header")).to_contain_text(order.number)
    expect(statement.locator("header")).to_contain_text("Delivered · Partially refunded")
    refund_cells = (
        statement.locator("table")
        .filter(has=statement.get_by_role("columnheader", name="From payment"))
        .locator("tbody tr td")
    )
    expect(refund_cells).to_have_count(6)
    expect(refund_cells.nth(1)).to_have_text("Cash on delivery")
    expect(refund_cells.nth(2)).to_have_text(f"Return {case.number}")
    expect(refund_cells.nth(3)).to_have_text("Paid")
    expect(refund_cells.nth(4)).to_contain_text("ALI-REF-20240611")
    expect(refund_cells.nth(5)).to_have_text("CNY 50.00")
    expect_rows(
        statement.locator("table.figures").last,
        f"Total CNY {order.total:.2f}",
        f"Captured CNY {order.total:.2f}",
        "Refunded − CNY 50.00",
        f"Net paid CNY {order.total - Decimal('50.00'):.2f}",
        "Balance due CNY 0.00",
    )
    visit.context.close()

    assert visit.problems == []
    assert every_tab_problems == []
    assert list(ledger_mismatches()) == []


def test_customer_service_answers_and_resolves_a_complaint_from_the_order_page_in_the_browser(
    browser, live_server, mailoutbox
):
    teapot = ProductFactory(sku="TEAPOT", name="Ceramic teapot")
    order = delivered_order((teapot, 1), language="en")
    Customer.objects.filter(pk=order.customer_id).update(email="mei@example.com")
    mailoutbox.clear()
    agent = staff("Customer service", username="cora")
    visit = Visit(browser, live_server.url)
    page = visit.page

    visit.log_in(agent)
    open_order(visit, order)
    complaints = page.locator("#oc-tickets")
    expect(complaints).to_contain_text("No complaint about this order.")
    complaints.get_by_role("link", name="Open a complaint").click()
    expect(page.get_by_role("heading", name="New complaint ticket")).to_be_visible()
    expect(page.locator(".oc-facts")).to_contain_text("mei@example.com")
    page.get_by_label("Subject").fill("Teapot arrived with a cracked lid")
    page.get_by_label("Category").select_option(label="Damage")
    page.get_by_label("Severity").select_option(label="High")
    page.get_by_label("What the customer says").fill("The lid was in two pieces when I opened the box.")
    visit.shot("ticket-new")
    page.get_by_role("button", name="Open ticket").click()

    ticket = Ticket.objects.get(order=order)
    visit.expect_message(f"Ticket {ticket.number} is open: answer it by")
    expect(page.locator(".oc-order-title h1 .oc-badge")).to_have_text(["Open", "High"])
    expect(page.locator(".oc-facts")).to_contain_text(f"{order.customer.name} · mei@example.com")
    expect(card(page, "Conversation")).to_contain_text("Nobody has answered or noted anything yet.")
    visit.shot("ticket-open")

    conversation = page.locator("#oc-conversation")
    conversation.locator("summary").filter(has_text="Reply to the customer").click()
    expect(conversation).to_contain_text("Sent by email to mei@example.com.")
    conversation.get_by_role("textbox", name="Reply to the customer").fill(
        "We are sorry: a new lid is on its way to you today."
    )
    conversation.get_by_role("button", name="Send reply").click()
    visit.expect_message("Your reply is on its way to mei@example.com.")
    reply = page.locator("#oc-conversation li.oc-message-reply")
    expect(reply).to_have_count(1)
    expect(reply).to_contain_text("Reply to the customer (mei@example.com)")
    expect(reply).to_contain_text("We are sorry: a new lid is on its way to you today.")
    expect(page.locator(".oc-facts div").filter(has_text="First answered").locator("dd")).not_to_have_text("—")
    visit.shot("ticket-replied")

    page.locator(".oc-steps summary").filter(has_text="Resolve").click()
    page.get_by_label("Root cause").fill("The lid was packed loose on top of the pot.")
    page.get_by_label("Corrective action").fill("Lids are wrapped separately; packers were shown how.")
    page.get_by_role("button", name="Confirm: Resolve").click()
    visit.expect_message(f"Ticket {ticket.number} is now Resolved.")
    expect(page.locator(".oc-order-title h1 .oc-badge")).to_have_text(["Resolved", "High"])
    resolution = card(page, "Resolution")
    expect(resolution).to_contain_text("The lid was packed loose on top of the pot.")
    expect(resolution).to_contain_text("Lids are wrapped separately; packers were shown how.")
    visit.shot("ticket-resolved")

    page.locator(".oc-facts").get_by_role("link", name=order.number).click()
    ticket_row = page.locator("#oc-tickets").get_by_role("row").filter(has_text=ticket.number)
    expect(ticket_row).to_contain_text("Teapot arrived with a cracked lid")
    expect(ticket_row.locator(".oc-badge")).to_have_text(["High", "Resolved"])
    visit.shot("order-complaint-resolved")
    visit.context.close()

    assert visit.problems == []
    ticket.refresh_from_db()
    assert (ticket.status, ticket.category, ticket.severity, ticket.customer_id, ticket.opened_by) == (
        Ticket.Status.RESOLVED,
        Ticket.Category.DAMAGE,
        Ticket.Severity.HIGH,
        order.customer_id,
        agent,
    )
    assert ticket.root_cause == "The lid was packed loose on top of the pot."
    assert ticket.corrective_action == "Lids are wrapped separately; packers were shown how."
    [message] = ticket.messages.all()
    assert (message.kind, message.sent_to, message.author) == (TicketMessage.Kind.REPLY, "mei@example.com", agent)
    assert ticket.first_response_at == message.created_at
    assert list(ticket.events.order_by("pk").values_list("transition", "to_status", "actor__username")) == [
        ("open", "open", "cora"),
        ("resolve", "resolved", "cora"),
    ]
    [email] = mailoutbox
    assert email.to == ["mei@example.com"]
    assert email.subject == f"About your order {order.number} (our reference {ticket.number})"
    assert email.body.startswith("We are sorry: a new lid is on its way to you today.")
