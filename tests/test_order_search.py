"""Finding orders (docs/architecture.md, "Finding orders"): the order list's search as people type
it — part of a number, the last four digits of a phone, the start of a name, a SKU, a tracking
number, a channel order id — with what each role may search by, the items, carrier and tracking
columns, a page's fixed number of queries, and the indexes PostgreSQL reads."""

import re
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from logistics.selectors import orders_with_tracking_number, shipping_columns
from orders import selectors
from orders.admin.desk_columns import items_text
from orders.events import ORDER_LIST_SHIPPING, ORDER_SEARCH
from tests.factories import ProductFactory, WarehouseFactory, advance, place, staff, stock

pytestmark = pytest.mark.django_db

ORDER_LIST = reverse("admin:orders_order_changelist")
_addresses = count(1)


def new_order(*lines, **overrides):
    """An order to its own address, so repeat-order rules never hold it."""
    values = {"address": f"文三路 {next(_addresses)} 号"}
    values.update(overrides)
    return place(lines=list(lines), **values)


def found(client, term):
    response = client.get(ORDER_LIST, {"q": term})
    assert response.status_code == 200
    return sorted(order.number for order in response.context["cl"].result_list)


def signed_in(client, role=None):
    client.force_login(staff(role))


@pytest.fixture
def warehouse():
    return WarehouseFactory()


@pytest.fixture
def shirt(warehouse):
    product = ProductFactory(sku="A-100")
    stock(product, warehouse, 500)
    return product


@pytest.fixture
def mug(warehouse):
    product = ProductFactory(sku="B-7")
    stock(product, warehouse, 500)
    return product


# What people type -----------------------------------------------------------------------------


def test_the_sequence_number_finds_its_order_with_or_without_its_zeros(client, shirt):
    signed_in(client, "Manager")
    orders = [new_order((shirt, 1), phone=f"1390000{n:04d}") for n in range(12)]
    wanted = orders[10]
    sequence = wanted.number.split("-")[1]

    assert found(client, sequence) == [wanted.number]
    assert found(client, str(int(sequence))) == [wanted.number]
    assert found(client, f"{sequence[:3]} {sequence[3:]}") == [wanted.number]


def test_a_part_of_the_number_with_the_date_finds_the_orders_whose_number_holds_it(client, shirt):
    signed_in(client, "Manager")
    orders = [new_order((shirt, 1), phone=f"1390000{n:04d}") for n in range(12)]
    wanted = orders[10]
    day = wanted.number.split("-")[0]

    assert found(client, wanted.number[4:]) == [wanted.number]
    assert found(client, day.lower()) == sorted(order.number for order in orders if order.number.startswith(day))
    assert found(client, wanted.number.lower().replace("-", "")) == [wanted.number]
    assert found(client, wanted.number.replace("-", " - ")) == [wanted.number]


def test_two_characters_of_a_number_are_not_searched_as_a_part(client, shirt):
    signed_in(client, "Manager")
    new_order((shirt, 1))

    assert found(client, "OC") == []


def test_last_four_digits_of_the_phone_find_its_orders_only(client, shirt):
    signed_in(client, "Manager")
    wanted = new_order((shirt, 1), phone="138 0013 8000")
    new_order((shirt, 1), phone="139 1234 5678")

    assert found(client, "8000") == [wanted.number]
    assert found(client, "80-00") == [wanted.number]
    assert found(client, "5679") == []


def test_the_start_of_a_name_finds_the_recipients_it_begins(client, shirt):
    signed_in(client, "Manager")
    zhang_san = new_order((shirt, 1), recipient="张三", phone="13900000001")
    zhang_wei = new_order((shirt, 1), recipient="张伟", phone="13900000002")
    li_wei = new_order((shirt, 1), recipient="Li Wei", phone="13900000003")
    new_order((shirt, 1), recipient="李张", phone="13900000004")
    new_order((shirt, 1), recipient="Lin Wu", phone="13900000005")

    assert found(client, "张") == sorted([zhang_san.number, zhang_wei.number])
    assert found(client, "张伟") == [zhang_wei.number]
    assert found(client, "Li W") == [li_wei.number]
    assert found(client, "  li   w ") == [li_wei.number]


def test_a_sku_finds_the_orders_with_a_line_of_it(client, shirt, mug):
    signed_in(client, "Manager")
    both = new_order((shirt, 1), (mug, 2), phone="13900000001")
    shirt_only = new_order((shirt, 1), phone="13900000002")
    mug_only = new_order((mug, 1), phone="13900000003")

    assert found(client, "B-7") == sorted([both.number, mug_only.number])
    assert found(client, "a-100") == sorted([both.number, shirt_only.number])


def test_a_tracking_number_finds_its_order_however_it_is_grouped(client, shirt):
    signed_in(client, "Manager")
    shipped = advance(new_order((shirt, 1), phone="13900000001"), "shipped")
    new_order((shirt, 1), phone="13900000002")
    number = shipped.shipments.get().tracking_number
    grouped = " ".join(re.findall(".{1,4}", number))

    assert found(client, number) == [shipped.number]
    assert found(client, grouped.lower()) == [shipped.number]


def test_a_channel_order_id_finds_its_order(client, shirt):
    signed_in(client, "Manager")
    wanted = new_order((shirt, 1), channel_order_id="TB-778899", phone="13900000001")
    new_order((shirt, 1), channel_order_id="TB-778800", phone="13900000002")

    assert found(client, " TB-778899 ") == [wanted.number]
    assert found(client, "TB-7788") == []


def test_a_term_that_matches_nothing_finds_nothing(client, shirt):
    signed_in(client, "Manager")
    new_order((shirt, 1))

    assert found(client, "nobody-at-all") == []


# Who may search by what -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "by_name", "by_whole_phone"),
    [
        ("Manager", True, True),
        ("Warehouse operator", True, False),
        ("Analyst", False, False),
    ],
)
def test_search_by_name_and_whole_phone_only_for_roles_that_see_them_whole(
    client, shirt, role, by_name, by_whole_phone
):
    wanted = new_order((shirt, 1), recipient="王小明", phone="13800138000")
    signed_in(client, role)

    assert (found(client, "王小") == [wanted.number]) is by_name
    assert (found(client, "王小明") == [wanted.number]) is by_name
    assert (found(client, "138 0013 8000") == [wanted.number]) is by_whole_phone
    # The masked phone shows its last four digits to everyone, so everyone may search by them.
    assert found(client, "8000") == [wanted.number]


# The columns and the page's queries ----------------------------------------------------------------


def test_items_are_shown_shortened():
    lines = [("A-100", 2), ("B-7", 1), ("C-1", 1), ("D-2", 5), ("E-3", 1)]

    assert items_text(lines) == "A-100 ×2, B-7 ×1 +3 more"
    assert items_text(lines[:2]) == "A-100 ×2, B-7 ×1"
    assert items_text([]) == ""


def test_order_list_shows_items_carrier_and_tracking_number(client, shirt, mug):
    signed_in(client, "Manager")
    shipped = advance(new_order((shirt, 2), (mug, 1), phone="13900000001"), "shipped")
    shipment = shipped.shipments.select_related("carrier").get()

    content = client.get(ORDER_LIST).content.decode()

    row = content[content.index(shipped.number) :]
    row = row[: row.index("</tr>")]
    assert "A-100 ×2, B-7 ×1" in row
    assert shipment.carrier.name in row
    assert shipment.tracking_number in row


def test_a_page_of_50_orders_costs_the_queries_of_a_page_of_2(client, shirt, mug, django_assert_max_num_queries):
    signed_in(client, "Manager")
    for n in range(2):
        advance(new_order((shirt, 1), (mug, 1), phone=f"1390000{n:04d}"), "shipped")
    with CaptureQueriesContext(connection) as two:
        assert len(client.get(ORDER_LIST).context["cl"].result_list) == 2
    with CaptureQueriesContext(connection) as two_found:
        assert len(client.get(ORDER_LIST, {"q": "A-100"}).context["cl"].result_list) == 2
    for n in range(2, 50):
        order = new_order((shirt, 1), (mug, 1), phone=f"1390000{n:04d}")
        if n % 5 == 0:
            advance(order, "shipped")

    with django_assert_max_num_queries(len(two)):
        assert len(client.get(ORDER_LIST).context["cl"].result_list) == 50
    with django_assert_max_num_queries(len(two_found)):
        assert len(client.get(ORDER_LIST, {"q": "A-100"}).context["cl"].result_list) == 50


def test_logistics_answers_the_order_lists_contribution_points(shirt):
    shipped = advance(new_order((shirt, 1), phone="13900000001"), "shipped")
    waiting = new_order((shirt, 1), phone="13900000002")
    shipment = shipped.shipments.select_related("carrier", "service").get()

    assert orders_with_tracking_number in ORDER_SEARCH.subscribers
    assert shipping_columns in ORDER_LIST_SHIPPING.subscribers
    assert orders_with_tracking_number(shipment.tracking_number.lower()) == [shipped.pk]
    assert orders_with_tracking_number("") == []
    columns = shipping_columns([shipped.pk, waiting.pk])
    assert set(columns) == {shipped.pk}
    assert columns[shipped.pk]["tracking"] == shipment.tracking_number
    assert columns[shipped.pk]["carrier"].startswith(shipment.carrier.name)


# On PostgreSQL: every kind of search reads an index ------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    "term",
    ["8000", "000264", "264", "张", "Li W", "TB-778899", "OC261207000264", "SF 1234 5678 90", "138 0013 8000"],
)
def test_every_kind_of_search_reads_orders_through_an_index(term):
    with connection.cursor() as cursor:
        # A tiny test table is cheaper to read whole; forbidding that shows whether an index fits.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = selectors.search_orders(selectors.order_list(), term)[:50].explain()

    assert "Seq Scan on orders_order" not in plan, plan
    assert "Index Cond" in plan, plan


@pytest.mark.postgres
def test_a_sku_search_reads_the_lines_of_that_product_through_its_index(shirt):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = selectors.search_orders(selectors.order_list(), "A-100")[:50].explain()

    assert "Seq Scan" not in plan, plan
    assert "order_line_by_product" in plan, plan
