"""Channel SKU mapping: a channel's own code for one of our products (a pack of several, maybe) is
read at intake before our SKUs, through the service, the API and the Excel import; an unknown SKU
is refused naming it and the channel; a batch resolves its lines in a fixed number of queries."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.actors import SYSTEM
from inventory.models import BundleComponent, StockLevel
from orders import services as orders
from orders.models import ChannelSku, OrderLine
from orders.services.catalogue import load_catalogue
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, order_input, place, staff, stock
from tests.test_api_orders import ORDERS, order_body
from tests.test_import_orders import check, confirm, errors_of, row, xlsx

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="MAIN")


@pytest.fixture
def taobao():
    return ChannelFactory(code="taobao", name="Taobao")


@pytest.fixture
def socks(warehouse):
    product = ProductFactory(sku="SOCKS", name="Socks", unit_price=Decimal("10.00"))
    stock(product, warehouse, 100)
    return product


@pytest.fixture
def mapped(taobao, socks):
    ChannelSku.objects.create(channel=taobao, code="TB-123", product=socks)
    ChannelSku.objects.create(channel=taobao, code="TB-6PACK", product=socks, quantity=6)


def test_a_channel_code_is_read_as_our_product(taobao, socks, mapped):
    order = place(taobao, lines=[("TB-123", 2)])

    assert list(order.lines.values_list("sku", "quantity", "line_total")) == [("SOCKS", 2, Decimal("20.00"))]


def test_a_pack_code_orders_its_units_at_the_packs_price(taobao, socks, mapped):
    data = order_input(taobao, lines=[("TB-6PACK", 2)])
    data.lines[0].unit_price = "50.00"

    order = orders.place_order(data, actor=SYSTEM).order

    line = order.lines.get()
    assert (line.sku, line.quantity, line.line_total, line.unit_price) == (
        "SOCKS",
        12,
        Decimal("100.00"),
        Decimal("8.33"),
    )
    assert StockLevel.objects.get(product=socks).reserved == 12


def test_our_own_sku_still_works_on_a_channel_with_codes(taobao, socks, mapped):
    assert place(taobao, lines=[("SOCKS", 1)]).lines.get().sku == "SOCKS"


def test_the_channels_code_comes_before_our_sku_of_the_same_text(taobao, socks, warehouse):
    other = ProductFactory(sku="TB-123", unit_price=Decimal("1.00"))
    stock(other, warehouse, 5)
    ChannelSku.objects.create(channel=taobao, code="TB-123", product=socks)

    assert place(taobao, lines=[("TB-123", 1)]).lines.get().sku == "SOCKS"
    # Another channel knows no such code: there it is our SKU.
    assert place(lines=[("TB-123", 1)], phone="13800138001").lines.get().sku == "TB-123"


def test_a_code_of_another_channel_is_unknown_here_and_the_error_names_sku_and_channel(taobao, socks, mapped):
    with pytest.raises(ValidationError) as refused:
        place(lines=[("TB-123", 1)])

    assert refused.value.message_dict["lines[1].sku"] == [
        "Unknown SKU “TB-123”: it is neither a product nor a code of channel Web shop."
    ]


def test_a_code_can_name_a_bundle(taobao, socks, warehouse):
    shoes = ProductFactory(sku="SHOES", unit_price=Decimal("90.00"))
    stock(shoes, warehouse, 5)
    kit = ProductFactory(sku="KIT", unit_price=Decimal("95.00"))
    BundleComponent.objects.create(bundle=kit, component=shoes, quantity=1)
    BundleComponent.objects.create(bundle=kit, component=socks, quantity=2)
    ChannelSku.objects.create(channel=taobao, code="TB-KIT", product=kit)

    order = place(taobao, lines=[("TB-KIT", 1)])

    assert list(order.lines.values_list("sku", "quantity", "bundle_sku")) == [("SHOES", 1, "KIT"), ("SOCKS", 2, "KIT")]
    assert sum(order.lines.values_list("line_total", flat=True)) == Decimal("95.00")


def test_the_api_takes_a_channel_code_and_points_at_an_unknown_one(taobao, socks, mapped):
    from tests.factories import channel_client

    api = channel_client(taobao)

    placed = api.post(ORDERS, order_body(("TB-123", 3)), format="json")
    refused = api.post(ORDERS, order_body(("SOCKS", 1), ("TB-999", 1)), format="json")

    assert placed.status_code == 201, placed.content
    assert [(line["sku"], line["quantity"]) for line in placed.json()["lines"]] == [("SOCKS", 3)]
    assert refused.status_code == 400
    errors = {error["pointer"]: error["detail"] for error in refused.json()["errors"]}
    assert errors["#/lines/1/sku"] == "Unknown SKU “TB-999”: it is neither a product nor a code of channel Taobao."


def test_the_excel_import_reads_channel_codes_and_names_an_unknown_one_by_row_and_column(taobao, socks, mapped):
    clerk = staff("Customer service")

    refused = check(
        xlsx([row("X-1", "TB-123", 1, channel="taobao"), row("X-2", "TB-999", 1, channel="taobao")]), actor=clerk
    )
    assert errors_of(refused) == {
        (3, "sku"): "Unknown SKU “TB-999”: it is neither a product nor a code of channel Taobao."
    }

    job = confirm(check(xlsx([row("X-1", "TB-6PACK", 1, channel="taobao")]), actor=clerk), actor=clerk)
    assert job.status == "done", job.errors
    assert list(OrderLine.objects.values_list("sku", "quantity")) == [("SOCKS", 6)]


def test_a_batch_resolves_its_lines_in_one_query_however_many_lines(taobao, socks, mapped, warehouse):
    skus = [ProductFactory(sku=f"P-{n}").sku for n in range(20)]
    pairs = [(taobao, "TB-123"), (taobao, "TB-6PACK"), *((taobao, sku) for sku in skus)]

    with CaptureQueriesContext(connection) as queries:
        catalogue = load_catalogue(pairs)

    assert len(queries) == 1
    assert catalogue.lookup(taobao, "TB-6PACK") == (socks, 6)
    assert set(catalogue.products) == set(skus)


def test_place_orders_costs_no_more_queries_for_more_lines(taobao, socks, mapped, warehouse):
    products = [ProductFactory(sku=f"Q-{n}") for n in range(10)]
    for product in products:
        stock(product, warehouse, 10)

    def statements(lines_per_order):
        inputs = [
            order_input(
                taobao,
                lines=[(p, 1) for p in products[:lines_per_order]] + [("TB-123", 1)],
                phone=f"138{lines_per_order:02d}13{n:04d}",
                address=f"文三路 {lines_per_order * 10 + n} 号",
            )
            for n in range(3)
        ]
        with CaptureQueriesContext(connection) as queries:
            orders.place_orders(inputs, actor=SYSTEM)
        return len(queries)

    statements(2)  # settings and the like read once per process
    assert statements(1) == statements(9)


def test_a_manager_maps_a_code_in_the_console(taobao, socks):
    from django.test import Client

    client = Client()
    client.force_login(staff("Manager"))

    assert client.get("/admin/orders/channelsku/add/").status_code == 200
    response = client.post(
        "/admin/orders/channelsku/add/",
        {"channel": taobao.pk, "code": " TB-777 ", "product": socks.pk, "quantity": "2"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert ChannelSku.objects.get().code == "TB-777"
    assert client.get("/admin/orders/channelsku/").status_code == 200
    assert client.get("/admin/orders/giftrule/").status_code == 200


def test_a_pack_quantity_past_the_most_units_of_a_line_is_refused_on_its_quantity(taobao, socks, mapped):
    with pytest.raises(ValidationError) as refused:
        place(taobao, lines=[("TB-6PACK", 200_000)])

    assert "more than 1000000 units" in refused.value.message_dict["lines[1].quantity"][0]


def test_a_manager_uploads_channel_codes_from_excel_updating_known_ones(taobao, socks, mapped):
    from django.test import Client
    from django.urls import reverse

    from tests.test_import_stock_products import workbook

    client = Client()
    client.force_login(staff("Manager"))
    assert client.get(reverse("admin:orders_channelsku_import_template")).status_code == 200
    rows = [["channel", "code", "sku", "quantity"], ["taobao", "TB-123", "SOCKS", 2], ["taobao", "TB-NEW", "SOCKS", ""]]

    previewed = client.post(reverse("admin:orders_channelsku_import"), {"file": workbook(rows)}, follow=True)
    assert previewed.context["job"].errors == []
    client.post(previewed.context["confirm_url"])

    assert dict(ChannelSku.objects.values_list("code", "quantity")) == {"TB-123": 2, "TB-NEW": 1, "TB-6PACK": 6}


def test_an_upload_row_naming_an_unknown_channel_or_sku_is_refused_on_its_column(taobao, socks):
    from django.test import Client
    from django.urls import reverse

    from tests.test_import_stock_products import workbook

    client = Client()
    client.force_login(staff("Manager"))
    rows = [["channel", "code", "sku", "quantity"], ["nope", "X-1", "SOCKS", 1], ["taobao", "X-2", "NOPE", 1]]

    previewed = client.post(reverse("admin:orders_channelsku_import"), {"file": workbook(rows)}, follow=True)

    problems = {(error["row"], error["column"]) for error in previewed.context["job"].errors}
    assert problems == {(2, "channel"), (3, "sku")}
    assert not ChannelSku.objects.exists()


def test_only_a_manager_uploads_channel_codes(taobao, socks):
    from orders.services.channel_skus import save_channel_skus

    with pytest.raises(PermissionDenied):
        save_channel_skus([("taobao", "TB-9", "SOCKS", 1)], actor=staff("Customer service"))
