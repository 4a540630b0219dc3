"""The dashboard's after-sales figures and queues: return rate, complaint rate and satisfaction
against a small hand-built shop where the right answer is known, the packers' wrong-item returns,
the after-sales work queues of each role, and the Excel downloads."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from aftersales.models import Feedback, ReturnReason, ReturnRequest, Ticket
from aftersales.services import feedback as feedback_services
from aftersales.services import returns, tickets
from analytics import dashboard, selectors, services
from analytics.selectors import Filters, Period
from logistics.models import Shipment
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, advance, place, staff, stock

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
HOME = reverse("admin:index")
WEEK = Period(date(2025, 3, 8), date(2025, 3, 14))
WEEK_QUERY = {"range": "custom", "start": "2025-03-08", "end": "2025-03-14"}
WRONG, QUALITY, CHANGED_MIND = ReturnReason.WRONG_ITEM, ReturnReason.QUALITY, ReturnReason.CHANGED_MIND


def at(day, hour, minute=0):
    return datetime(2025, 3, day, hour, minute, tzinfo=SHANGHAI)


def ask_return(order, lines, *, asked_at, actor):
    """A return of (sku, quantity, reason) lines of the order, moved to the hand-built timeline."""
    case = returns.request_return(
        order.pk,
        wanted_outcome="refund",
        actor=actor,
        lines=[
            returns.ReturnLineInput(order.lines.get(sku=sku).pk, quantity, reason) for sku, quantity, reason in lines
        ],
    )
    ReturnRequest.objects.filter(pk=case.pk).update(created_at=asked_at)
    return case


def complain(subject, *, opened_at, actor, order=None, overdue=True):
    ticket = tickets.open_ticket(
        subject=subject,
        category=Ticket.Category.QUALITY,
        severity=Ticket.Severity.NORMAL,
        actor=actor,
        order_id=order.pk if order else None,
    )
    stamp_ticket(ticket, opened_at, overdue=overdue)
    return ticket


def stamp_ticket(ticket, opened_at, *, overdue=True):
    """Open the ticket at `opened_at`; an overdue one had its answer due 72 hours later, long ago."""
    moved = {"created_at": opened_at}
    if overdue:
        moved["respond_by"] = opened_at + timedelta(hours=72)
    Ticket.objects.filter(pk=ticket.pk).update(**moved)


def rate(order, rating, *, given_at):
    given = feedback_services.give_feedback(feedback_services.feedback_token(order), rating=rating)
    Feedback.objects.filter(pk=given.pk).update(created_at=given_at)
    return given


@pytest.fixture
def shop():
    """Four orders placed in the week of 8-14 March 2025 and two in the week before, delivered
    (all but a2) with Li packing the north warehouse's parcels and Wang the south's; then returns,
    complaints and ratings at known times.

    This week:   w1 web A×2, w2 web B×1, a1 app A×1 (north) + C×1 (south), a2 app B×1 (not delivered).
    Week before: p1 web A×1, p2 app B×1 (not delivered).

    Returns  R1 w1 A×1 wrong item, 8 March 00:30 (Shanghai; still 7 March in UTC)   requested
             R2 a1 A×1 + C×1 wrong item, 10 March                                     approved
             R3 w2 B×1 wrong item, 11 March                                          rejected
             R5 w2 B×1 quality, 14 March 23:30                                       requested
             R6 w1 A×1 wrong item, 15 March 00:10 (after the week)                    received
             R4 p1 A×1 changed mind, 6 March                                         inspected
    Tickets  T1 about w1 and T5 about w2 (this week), T2 opened by a1's rating of 2 (this week),
             T3 about no order (this week, not yet due), T4 about p2 (week before).
    Ratings  w1 5, w2 4, a1 2 (this week); p1 3 (week before)."""
    north, south = WarehouseFactory(name="北仓"), WarehouseFactory(name="南仓")
    a, b, c = (ProductFactory(sku=sku) for sku in "ABC")
    for product in (a, b):
        stock(product, north, 100)
    stock(c, south, 100)
    web = ChannelFactory(code="web", name="Web shop")
    app = ChannelFactory(code="app", name="手机 App", kind="app")
    li, wang = staff("Warehouse operator", first_name="Li"), staff("Warehouse operator", first_name="Wang")
    chen, zhao = staff("Customer service", first_name="Chen"), staff("Customer service", first_name="Zhao")

    def order(number, channel, lines, placed_at):
        return place(
            channel, lines=lines, placed_at=placed_at, phone=f"1390000{number:04d}", address=f"文三路 {number} 号"
        )

    w1 = order(1, web, [(a, 2)], at(8, 10))
    w2 = order(2, web, [(b, 1)], at(9, 10))
    a1 = order(3, app, [(a, 1), (c, 1)], at(10, 10))
    order(4, app, [(b, 1)], at(12, 10))
    p1 = order(5, web, [(a, 1)], at(3, 10))
    p2 = order(6, app, [(b, 1)], at(5, 10))
    for delivered in (w1, w2, a1, p1):
        advance(delivered, "delivered", actor=li)
    Shipment.objects.filter(order=a1, warehouse=south).update(packed_by=wang)

    ask_return(w1, [("A", 1, WRONG)], asked_at=at(8, 0, 30), actor=chen)
    r2 = ask_return(a1, [("A", 1, WRONG), ("C", 1, WRONG)], asked_at=at(10, 15), actor=chen)
    returns.approve_return(r2.pk, actor=chen)
    r3 = ask_return(w2, [("B", 1, WRONG)], asked_at=at(11, 9), actor=chen)
    returns.reject_return(r3.pk, reason="Sent back a different product", actor=chen)
    ask_return(w2, [("B", 1, QUALITY)], asked_at=at(14, 23, 30), actor=chen)
    r6 = ask_return(w1, [("A", 1, WRONG)], asked_at=at(15, 0, 10), actor=chen)
    r4 = ask_return(p1, [("A", 1, CHANGED_MIND)], asked_at=at(6, 9), actor=chen)
    for case in (r6, r4):
        returns.approve_return(case.pk, actor=chen)
        returns.receive_return(case.pk, warehouse_id=north.pk, received={case.lines.get().pk: 1}, actor=li)
    returns.inspect_return(r4.pk, results={r4.lines.get().pk: (1, 0, "")}, actor=li)

    t1 = complain("Scratched kettle", order=w1, opened_at=at(9, 9), actor=chen)
    tickets.assign(t1.pk, zhao.pk, actor=chen)
    complain("Box was wet", order=w2, opened_at=at(13, 9), actor=chen)
    t3 = complain("Rude on the phone", opened_at=at(12, 9), actor=chen, overdue=False)
    tickets.assign(t3.pk, chen.pk, actor=chen)
    complain("Late", order=p2, opened_at=at(6, 9), actor=chen)

    rate(w1, 5, given_at=at(11, 20))
    rate(w2, 4, given_at=at(12, 20))
    low = rate(a1, 2, given_at=at(13, 20))
    stamp_ticket(low.ticket, at(13, 20))
    rate(p1, 3, given_at=at(4, 20))
    services.rebuild()
    return {
        "web": web,
        "app": app,
        "north": north,
        "south": south,
        "li": li,
        "wang": wang,
        "chen": chen,
        "zhao": zhao,
        "t3": t3,
    }


def figures(filters):
    return {figure.key: figure for figure in selectors.key_figures(filters)}


def now_and_before(figure):
    return figure.current, figure.previous


# Figures --------------------------------------------------------------------------------------


def test_return_rate_counts_returns_asked_for_in_the_period_less_rejected_ones_per_order_placed(shop):
    found = figures(Filters(WEEK))

    # R1 (asked at 00:30 on the 8th, shop time), R2 and R5 of 4 orders; R4 of 2 orders before.
    assert now_and_before(found["return_rate"]) == (Decimal("0.75"), Decimal("0.5"))
    assert found["return_rate"].trend == "worse"


def test_complaint_rate_counts_tickets_about_an_order_opened_in_the_period_per_order_placed(shop):
    found = figures(Filters(WEEK))

    # T1, T5 and the ticket a low rating opened; T3 is about no order.
    assert now_and_before(found["complaint_rate"]) == (Decimal("0.75"), Decimal("0.5"))


def test_satisfaction_is_the_share_of_ratings_of_4_or_5_with_their_number(shop):
    found = figures(Filters(WEEK))

    assert now_and_before(found["csat"]) == (Decimal(2) / 3, 0)
    assert now_and_before(found["ratings"]) == (3, 1)
    assert found["csat"].trend == "better"


def test_a_channel_filter_counts_the_returns_complaints_and_ratings_of_its_orders(shop):
    web = figures(Filters(WEEK, channel_id=shop["web"].pk))
    app = figures(Filters(WEEK, channel_id=shop["app"].pk))

    assert now_and_before(web["return_rate"]) == (1, 1)
    assert now_and_before(app["return_rate"]) == (Decimal("0.5"), 0)
    assert now_and_before(web["complaint_rate"]) == (1, 0)
    assert now_and_before(app["complaint_rate"]) == (Decimal("0.5"), 1)
    assert (web["csat"].current, web["ratings"].current) == (1, 2)
    assert (app["csat"].current, app["ratings"].current) == (0, 1)


def test_a_warehouse_filter_leaves_the_after_sales_rates_for_all_warehouses(shop):
    everywhere = figures(Filters(WEEK))
    south = figures(Filters(WEEK, warehouse_id=shop["south"].pk))

    for key in ("return_rate", "complaint_rate", "csat", "ratings"):
        assert now_and_before(south[key]) == now_and_before(everywhere[key])


def test_a_period_without_ratings_has_no_satisfaction_rather_than_zero(shop):
    found = figures(Filters(Period(date(2025, 2, 1), date(2025, 2, 7))))

    assert found["csat"].current is None and found["ratings"].current == 0
    assert found["return_rate"].current is None


def test_after_sales_figures_cost_four_queries_however_many_records(shop, django_assert_num_queries):
    # Returns, complaints, ratings, and the kept figures of archived orders (docs/architecture.md, "Archive").
    with django_assert_num_queries(4):
        selectors.after_sales_totals(Filters(WEEK, channel_id=shop["web"].pk))


# Staff ------------------------------------------------------------------------------------------


def test_wrong_item_returns_are_credited_to_whoever_packed_the_returned_line(shop):
    people = {row.name: row.wrong_item_returns for row in selectors.staff(Filters(WEEK))}

    # Li packed R1's A and R2's A (north); Wang packed R2's C (south). R3 was rejected, R6 is after the week.
    assert people == {"Li": 2, "Wang": 1}


def test_wrong_item_returns_of_one_warehouse_count_only_its_parcels(shop):
    people = {row.name: row.wrong_item_returns for row in selectors.staff(Filters(WEEK, warehouse_id=shop["south"].pk))}

    assert people == {"Wang": 1}


def test_the_staff_table_shows_wrong_item_returns_as_a_count(shop):
    table = dashboard.staff_section(Filters(WEEK)).table

    wrong_items = [str(column.label) for column in table.columns].index("Wrong-item returns")
    assert table.columns[wrong_items].kind == "count"
    assert {row[0]: row[wrong_items] for row in table.rows} == {"Li": 2, "Wang": 1}


# The page and Excel -----------------------------------------------------------------------------


def test_the_manager_sees_the_after_sales_figures_on_the_page(client, shop):
    client.force_login(staff("Manager"))

    page = client.get(HOME, WEEK_QUERY).content.decode()

    card = page[page.index('data-figure="return_rate"') : page.index('data-figure="complaint_rate"')]
    assert "75.0 %" in card and "50.0 %" in card and "+25.0 pts" in card
    csat = page[page.index('data-figure="csat"') : page.index('data-figure="ratings"')]
    assert "66.7 %" in csat and "+66.7 pts" in csat  # rounded, not cut to 66.6
    assert "Not recorded yet" not in page
    assert "Return rate: returns asked for in the period, less those rejected" in page


def download(client, table):
    response = client.get(reverse("admin:analytics_dashboard_export", args=[table]), WEEK_QUERY)
    assert response.status_code == 200
    return {
        row[0]: row for row in load_workbook(BytesIO(response.content)).active.iter_rows(min_row=5, values_only=True)
    }


def test_excel_has_the_after_sales_figures_and_wrong_item_returns_as_numbers(client, shop):
    client.force_login(staff("Manager"))

    key_figures = download(client, "figures")
    people = download(client, "staff")

    assert key_figures["Return rate"][1:3] == (0.75, 0.5)
    assert key_figures["Complaint rate"][1:3] == (0.75, 0.5)
    assert key_figures["Satisfaction (CSAT)"][1] == pytest.approx(2 / 3)
    assert key_figures["Ratings given"][1:3] == (3, 1)
    columns = dashboard.staff_section(Filters(WEEK)).table.columns
    wrong_items = [str(column.label) for column in columns].index("Wrong-item returns")
    assert (people["Li"][wrong_items], people["Wang"][wrong_items]) == (2, 1)


def test_the_dashboard_costs_the_same_queries_with_more_after_sales_records(client, shop):
    client.force_login(staff("Manager"))

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(HOME, WEEK_QUERY).status_code == 200
        return len(captured)

    few = queries()
    product = ProductFactory(sku="D")
    stock(product, shop["north"], 10)
    for n in range(3):
        extra = advance(
            place(
                shop["web"],
                lines=[(product, 1)],
                placed_at=at(12, 11),
                phone=f"1390001{n:04d}",
                address=f"文一路 {n} 号",
            ),
            "delivered",
            actor=shop["li"],
        )
        ask_return(extra, [("D", 1, WRONG)], asked_at=at(12, 12), actor=shop["chen"])
        rate(extra, 1, given_at=at(12, 13))
    services.rebuild()

    assert queries() == few


# Work queues ------------------------------------------------------------------------------------


def queues_of(client, user):
    client.force_login(user)
    response = client.get(HOME)
    return {str(queue["label"]): queue for queue in response.context["queues"]}


AFTER_SALES_QUEUES = {
    "Returns to approve",
    "Returns to receive",
    "Returns to inspect",
    "Returns to resolve",
    "Overdue tickets",
    "My open tickets",
}


@pytest.mark.parametrize(
    "role, expected",
    [
        ("Order reviewer", set()),
        ("Warehouse operator", {"Returns to receive", "Returns to inspect"}),
        ("Logistics coordinator", set()),
        ("Customer service", {"Returns to approve", "Returns to resolve", "Overdue tickets", "My open tickets"}),
        ("Finance", set()),
        ("Manager", AFTER_SALES_QUEUES),
    ],
)
def test_each_role_sees_the_after_sales_queues_its_permissions_make_its_work(client, shop, role, expected):
    assert set(queues_of(client, staff(role))) & AFTER_SALES_QUEUES == expected


def test_return_queues_count_returns_waiting_for_each_step_and_open_their_list(client, shop):
    queues = queues_of(client, staff("Manager"))

    # Requested: R1 and R5; approved: R2; received: R6; inspected: R4 (R3 was rejected).
    counts = {label: queues[label]["count"] for label in AFTER_SALES_QUEUES - {"Overdue tickets", "My open tickets"}}
    assert counts == {
        "Returns to approve": 2,
        "Returns to receive": 1,
        "Returns to inspect": 1,
        "Returns to resolve": 1,
    }
    listed = client.get(queues["Returns to approve"]["url"])
    assert listed.status_code == 200
    assert {case.status for case in listed.context["cl"].result_list} == {ReturnRequest.Status.REQUESTED}
    assert len(listed.context["cl"].result_list) == 2


def test_the_overdue_queue_counts_unanswered_tickets_past_their_deadline_and_opens_them(client, shop):
    queue = queues_of(client, shop["chen"])["Overdue tickets"]

    # T1, T2 (the low rating's), T4 and T5; T3 is not due yet.
    assert queue["count"] == 4
    listed = client.get(queue["url"])
    assert listed.status_code == 200
    assert len(listed.context["cl"].result_list) == 4
    assert shop["t3"] not in listed.context["cl"].result_list


def test_my_open_tickets_are_those_assigned_to_me_that_are_still_open(client, shop):
    chen = queues_of(client, shop["chen"])["My open tickets"]
    zhao = queues_of(client, shop["zhao"])["My open tickets"]

    assert (chen["count"], zhao["count"]) == (1, 1)
    client.force_login(shop["chen"])
    listed = client.get(chen["url"])
    assert list(listed.context["cl"].result_list) == [shop["t3"]]
