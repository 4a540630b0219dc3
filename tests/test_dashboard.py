"""The manager's dashboard on the console's front page: every figure against a small hand-built shop
where the right answer is known, the Excel downloads, and who sees what."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from analytics import dashboard, selectors, services
from analytics.selectors import Filters, Period
from inventory.models import Product
from orders.models import Order
from tests.factories import (
    ProductFactory,
    WarehouseFactory,
    advance,
    place,
    staff,
    stock,
)

pytestmark = pytest.mark.django_db
Status = Order.Status
HOME = reverse("admin:index")
WEEK = Period(date(2025, 3, 8), date(2025, 3, 14))
WEEK_QUERY = {"range": "custom", "start": "2025-03-08", "end": "2025-03-14"}


def figures(filters):
    return {figure.key: figure for figure in selectors.key_figures(filters)}


# Figures --------------------------------------------------------------------------------------


def test_key_figures_of_the_week_against_the_week_before(dashboard_week):
    found = figures(Filters(WEEK))

    assert (found["orders"].current, found["orders"].previous) == (4, 2)
    assert (found["gmv"].current, found["gmv"].previous) == (Decimal("245.00"), Decimal("65.00"))
    assert (found["average_order_value"].current, found["average_order_value"].previous) == (
        Decimal("61.25"),
        Decimal("32.50"),
    )
    assert (found["paid_share"].current, found["paid_share"].previous) == (Decimal("0.5"), Decimal("0.5"))
    assert (found["cancellation_rate"].current, found["cancellation_rate"].previous) == (Decimal("0.25"), 0)
    assert found["orders"].change == 1 and found["orders"].trend == "better"
    assert found["cancellation_rate"].change == Decimal("0.25") and found["cancellation_rate"].trend == "worse"
    assert found["paid_share"].trend == "same"


def test_delivery_figures_come_from_the_parcels(dashboard_week):
    found = figures(Filters(WEEK))

    assert found["on_time_rate"].current == Decimal("0.5")
    assert found["order_to_dispatch"].current == 4 * 3600
    assert found["dispatch_to_delivery"].current == 60 * 3600
    assert found["on_time_rate"].previous is None


def test_a_week_without_returns_complaints_or_ratings_has_zero_rates_and_no_satisfaction(dashboard_week):
    found = figures(Filters(WEEK))

    assert (found["return_rate"].current, found["complaint_rate"].current, found["ratings"].current) == (0, 0, 0)
    assert found["csat"].current is None and found["csat"].change is None


def test_a_channel_filter_narrows_every_figure_to_that_channel(dashboard_week):
    found = figures(Filters(WEEK, channel_id=dashboard_week["app"].pk))

    assert (found["orders"].current, found["gmv"].current) == (2, Decimal("155.00"))
    assert found["order_to_dispatch"].current == 4 * 3600
    assert found["on_time_rate"].current == 0


def test_a_warehouse_filter_narrows_parcels_but_not_orders(dashboard_week):
    found = figures(Filters(WEEK, warehouse_id=dashboard_week["south"].pk))

    assert found["orders"].current == 4
    assert found["order_to_dispatch"].current == 6 * 3600
    assert found["on_time_rate"].current is None


def test_orders_and_gmv_per_day_include_the_days_without_orders(dashboard_week):
    days = selectors.per_day(Filters(WEEK))

    assert [(row.day.day, row.orders, row.gmv) for row in days] == [
        (8, 1, Decimal("50.00")),
        (9, 1, Decimal("40.00")),
        (10, 1, Decimal("35.00")),
        (11, 0, Decimal("0")),
        (12, 1, Decimal("120.00")),
        (13, 0, Decimal("0")),
        (14, 0, Decimal("0")),
    ]


def test_channels_and_provinces_with_their_shares(dashboard_week):
    filters = Filters(WEEK)

    assert [(r.label, r.orders, r.gmv, r.share) for r in selectors.per_channel(filters)] == [
        ("Web shop", 2, Decimal("90.00"), Decimal("0.5")),
        ("手机 App", 2, Decimal("155.00"), Decimal("0.5")),
    ]
    assert [(r.label, r.orders, r.gmv) for r in selectors.per_province(filters)] == [
        ("浙江省", 2, Decimal("85.00")),
        ("广东省", 1, Decimal("40.00")),
        ("江苏省", 1, Decimal("120.00")),
    ]


def test_top_products_by_quantity_and_by_revenue(dashboard_week):
    filters = Filters(WEEK)

    by_quantity = [(r.sku, r.quantity, r.revenue) for r in selectors.top_products(filters, by="quantity")]
    by_revenue = [r.sku for r in selectors.top_products(filters, by="revenue", limit=2)]

    assert by_quantity == [("B", 4, Decimal("160.00")), ("A", 3, Decimal("75.00")), ("C", 1, Decimal("10.00"))]
    assert by_revenue == ["B", "A"]


def test_the_funnel_follows_the_weeks_orders_as_far_as_each_got(dashboard_week):
    rows = selectors.funnel(Filters(WEEK))

    assert [(row.stage, row.orders) for row in rows] == [
        ("placed", 4),
        ("confirmed", 4),
        ("picking", 2),
        ("packed", 2),
        ("shipped", 2),
        ("delivered", 1),
        ("completed", 0),
    ]
    assert rows[-2].share == Decimal("0.25")


def test_time_in_each_status_from_the_event_log_marks_the_slowest_as_the_bottleneck(dashboard_week):
    rows = {row.status: row for row in selectors.stage_times(Filters(WEEK))}

    assert {status: (row.stays, row.average_seconds) for status, row in rows.items()} == {
        Status.PENDING: (4, 0),
        Status.ON_HOLD: (1, 3 * 3600),
        Status.CONFIRMED: (3, 80 * 60),
        Status.PICKING: (2, 50 * 60),
        Status.PACKED: (2, 70 * 60),
        Status.PARTIALLY_SHIPPED: (1, 4 * 3600),
        Status.SHIPPED: (1, 48 * 3600),
    }
    assert [status for status, row in rows.items() if row.bottleneck] == [Status.SHIPPED]


def test_staff_get_their_steps_and_median_handling_times(dashboard_week):
    people = {row.name: row.steps for row in selectors.staff(Filters(WEEK))}

    operator = people["Li"]
    assert {step: figures.handled for step, figures in operator.items()} == {
        "review": 0,
        "pick": 2,
        "pack": 3,
        "dispatch": 3,
    }
    assert operator["pick"].median_range == (3600, 5400)
    assert operator["pack"].median_range == (1800, 2700)
    assert operator["dispatch"].median_range == (7200, 10800)
    assert people["Zhou"]["review"].handled == 1
    assert people["Zhou"]["review"].median_range == (10800, 14400)


def test_staff_of_one_warehouse_count_only_its_packing_and_dispatch(dashboard_week):
    [operator] = selectors.staff(Filters(WEEK, warehouse_id=dashboard_week["south"].pk))

    assert {step: figures.handled for step, figures in operator.steps.items()} == {
        "review": 0,
        "pick": 0,
        "pack": 1,
        "dispatch": 1,
    }
    assert operator.steps["dispatch"].median_range == (14400, 21600)


def test_the_previous_period_has_the_same_length_and_ends_the_day_before():
    assert WEEK.previous() == Period(date(2025, 3, 1), date(2025, 3, 7))
    month = Period(date(2025, 3, 1), date(2025, 3, 20))
    assert month.previous() == Period(date(2025, 2, 9), date(2025, 2, 28))


def test_medians_and_durations_read_as_ranges_and_units():
    assert dashboard.duration_range_text((1800, 2700)) == "30 min – 45 min"
    assert dashboard.duration_range_text((5400, 7200)) == "1.5 h – 2 h"
    assert dashboard.duration_range_text((0, 60)) == "under 1 min"
    assert dashboard.duration_range_text((30 * 86400, None)) == "30 d or more"
    assert dashboard.duration_text(60 * 3600) == "2 d 12 h"
    assert dashboard.duration_text(80 * 60) == "1 h 20 min"


# The page ---------------------------------------------------------------------------------------


def test_the_manager_sees_the_figures_charts_and_queues_of_the_chosen_week(client, dashboard_week):
    client.force_login(staff("Manager"))

    page = client.get(HOME, WEEK_QUERY).content.decode()

    assert "2025-03-08 to 2025-03-14 (7 days), compared with 2025-03-01 to 2025-03-07" in page
    figure = page[page.index('data-figure="gmv"') :]
    assert "245.00" in figure[:400] and "+276.9 %" in figure[:600]
    assert page.count('<svg class="oc-chart') == 9
    assert "手机 App" in page[page.index('id="dash-channels"') : page.index('id="dash-provinces"')]
    assert "2 d 0 h · bottleneck" in page
    assert "Overdue shipments" in page and "Overdue tickets" in page


def test_satisfaction_without_ratings_shows_a_dash_rather_than_zero(client, dashboard_week):
    client.force_login(staff("Manager"))

    page = client.get(HOME, WEEK_QUERY).content.decode()

    returns_card = page[page.index('data-figure="return_rate"') : page.index('data-figure="complaint_rate"')]
    csat_card = page[page.index('data-figure="csat"') : page.index('data-figure="ratings"')]
    assert "0.0 %" in returns_card
    assert '<div class="oc-figure-value">—</div>' in csat_card


def test_a_custom_period_without_its_last_day_is_refused_naming_the_field(client, dashboard_week):
    client.force_login(staff("Manager"))

    response = client.get(HOME, {"range": "custom", "start": "2025-03-08"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "To: Enter the last day of the period." in page
    assert "(30 days)" in page


def test_a_custom_period_ending_before_it_starts_is_refused(client):
    client.force_login(staff("Manager"))

    page = client.get(HOME, {"range": "custom", "start": "2025-03-08", "end": "2025-03-01"}).content.decode()

    assert "To: The last day cannot be before the first day." in page


def test_the_dashboard_costs_the_same_queries_for_few_or_more_orders(client):
    client.force_login(staff("Manager"))
    product = ProductFactory()
    stock(product, WarehouseFactory(), 100)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(HOME).status_code == 200
        return len(captured)

    place(lines=[(product, 1)], phone="13900000001", address="文三路 1 号")
    services.rebuild()
    few = queries()
    for n in range(2, 8):
        advance(place(lines=[(product, 1)], phone=f"1390000{n:04d}", address=f"文三路 {n} 号"), "packed")
    services.rebuild()

    assert queries() == few


# Who sees what ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [None, "Manager"])
def test_managers_and_superusers_see_business_and_staff_figures(client, dashboard_week, role):
    client.force_login(staff(role))

    page = client.get(HOME, WEEK_QUERY).content.decode()

    assert 'id="dash-figures"' in page and 'id="dash-staff"' in page and "Li" in page


@pytest.mark.parametrize(
    "role, queues",
    [
        ("Order reviewer", {"Held for review"}),
        (
            "Warehouse operator",
            {
                "Confirmed, to pick",
                "Being picked, to pack",
                "Packed, to dispatch",
                "Partially shipped, rest to dispatch",
                "Returns to receive",
                "Returns to inspect",
                "Purchase orders to receive",
            },
        ),
        (
            "Logistics coordinator",
            {"Packed, to dispatch", "Partially shipped, rest to dispatch", "Overdue shipments", "Delivery exceptions"},
        ),
        ("Customer service", {"Returns to approve", "Returns to resolve", "Overdue tickets", "My open tickets"}),
        ("Finance", {"Refunds to approve", "Approved refunds to pay"}),
        ("Buyer", {"Purchase orders to send", "Overdue purchase orders"}),
    ],
)
def test_other_roles_see_their_work_queues_and_no_figures(client, dashboard_week, role, queues):
    client.force_login(staff(role))

    response = client.get(HOME, WEEK_QUERY)

    page = response.content.decode()
    assert {str(queue["label"]) for queue in response.context["queues"]} == queues
    assert 'id="dash-figures"' not in page and 'id="dash-staff"' not in page
    assert "245.00" not in page


def test_the_coordinators_overdue_queue_counts_parcels_past_their_promised_day(client, dashboard_week):
    client.force_login(staff("Logistics coordinator"))

    response = client.get(HOME)

    overdue = next(queue for queue in response.context["queues"] if str(queue["label"]) == "Overdue shipments")
    assert overdue["count"] == 1
    opened = client.get(overdue["url"])
    assert [row["shipment"] for row in opened.context["rows"]] == [dashboard_week["overdue"]]


# Excel ----------------------------------------------------------------------------------------------


def download(client, table, query=WEEK_QUERY):
    response = client.get(reverse("admin:analytics_dashboard_export", args=[table]), query)
    assert response.status_code == 200, response
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return load_workbook(BytesIO(response.content)).active


@pytest.mark.parametrize("table", dashboard.TABLE_KEYS)
def test_every_dashboard_table_downloads_as_excel_with_the_rows_the_page_shows(client, dashboard_week, table):
    client.force_login(staff("Manager"))
    expected = dashboard.build(Filters(WEEK), keys=[table]).sections[table].table

    sheet = download(client, table)

    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == expected.title
    assert "2025-03-08 to 2025-03-14" in rows[1][0]
    assert list(rows[3]) == [column.label for column in expected.columns]
    assert len([row for row in rows[4:] if any(cell is not None for cell in row)]) == (
        len(expected.rows) + (1 if expected.note else 0)
    )


def test_excel_keeps_numbers_as_numbers(client, dashboard_week):
    client.force_login(staff("Manager"))

    figures_sheet = {row[0]: row for row in download(client, "figures").iter_rows(min_row=5, values_only=True)}
    per_day = list(download(client, "per_day").iter_rows(min_row=5, values_only=True))

    assert figures_sheet["GMV"][1:3] == (245, 65)
    assert figures_sheet["Paid share"][1] == 0.5
    assert figures_sheet["Return rate"][1:3] == (0, 0)
    assert figures_sheet["Satisfaction (CSAT)"][1] is None
    assert figures_sheet["Order to shipment"][1] == timedelta(hours=4)
    assert per_day[0][:2] == (datetime(2025, 3, 8), 1)


def test_excel_drops_characters_a_workbook_cannot_hold_instead_of_failing(client, dashboard_week):
    Product.objects.filter(pk=dashboard_week["c"].pk).update(name="茶\x01杯")
    client.force_login(staff("Manager"))

    rows = list(download(client, "products_by_quantity").iter_rows(min_row=5, values_only=True))

    assert ("C", "茶杯") in {row[:2] for row in rows}


def test_only_managers_may_download_the_figures(client, dashboard_week):
    client.force_login(staff("Warehouse operator"))

    response = client.get(reverse("admin:analytics_dashboard_export", args=["staff"]), WEEK_QUERY)

    assert response.status_code == 403


def test_a_download_with_a_bad_period_goes_back_to_the_page_saying_why(client):
    client.force_login(staff("Manager"))

    response = client.get(
        reverse("admin:analytics_dashboard_export", args=["per_day"]),
        {"range": "custom", "start": "2025-03-08", "end": "nonsense"},
        follow=True,
    )

    assert response.redirect_chain[-1][0].startswith(HOME)
    assert "To: Enter a valid date." in response.content.decode()


def test_a_name_that_looks_like_a_formula_stays_text_in_excel(client):
    client.force_login(staff("Manager"))
    product = ProductFactory(sku="=HYPERLINK(1)", name="=1+1")
    stock(product, WarehouseFactory(), 10)
    place(lines=[(product, 1)])
    services.rebuild()

    sheet = download(client, "products_by_quantity", {"range": "today"})

    assert sheet.cell(row=5, column=1).value == "=HYPERLINK(1)"
    assert sheet.cell(row=5, column=1).data_type == "s"
