"""Every service that writes orders, payments, shipments or returns many at a time keeps the
dashboard's rollups exact: after each one, `rebuild_rollups --check` agrees with what the events it
published counted. The tests commit for real (transaction=True), so the rollup writes run after
each commit as they do in production; they run on SQLite, and on PostgreSQL with DATABASE_URL set."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.admin import helpers
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from aftersales.models import Outcome, ReturnReason
from aftersales.services import returns
from analytics.models import ROLLUPS, DailyOrders
from core.actors import SYSTEM
from logistics import services as logistics
from logistics.models import Shipment
from orders import services as orders
from orders.models import Order, Refund
from tests.factories import (
    CarrierFactory,
    ChannelFactory,
    ProductFactory,
    WarehouseFactory,
    advance,
    order_input,
    place,
    staff,
    stock,
    tracking_number,
)

pytestmark = pytest.mark.django_db(transaction=True)
Status = Order.Status


def rollups():
    return {model.__name__: sorted(model.objects.values_list(*model.KEY, *model.amount_fields())) for model in ROLLUPS}


def assert_rebuild_agrees():
    out = StringIO()
    call_command("rebuild_rollups", "--check", stdout=out)
    assert "The rollups agreed with the recomputation" in out.getvalue(), out.getvalue()


def assert_counted_exactly(write):
    """`write` changes the rollups, and they agree with a recomputation afterwards."""
    before = rollups()
    write()
    assert rollups() != before, "the writer counted nothing"
    assert_rebuild_agrees()


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def shop():
    warehouses = [WarehouseFactory(), WarehouseFactory()]
    kettle, mug = ProductFactory(sku="KETTLE"), ProductFactory(sku="MUG", unit_price=Decimal("40.00"))
    stock(kettle, warehouses[0], 500)
    stock(mug, warehouses[1], 500)
    return {
        "channel": ChannelFactory(),
        "warehouses": warehouses,
        "kettle": kettle,
        "mug": mug,
        "carrier": CarrierFactory(),
    }


_customers = iter(range(1, 10**6))


def buyer(**overrides):
    """Each order to its own phone and address, so no repeat-order rule holds it."""
    n = next(_customers)
    return {"phone": f"1380000{n:04d}", "address": f"文三路 {n} 号", **overrides}


def placed(shop, *lines, **overrides):
    return place(shop["channel"], lines=lines or [(shop["kettle"], 1)], **buyer(**overrides))


def paid(shop, *lines, **overrides):
    """Placed with its total paid to the channel: a kettle is 25.00, a mug 40.00."""
    lines = lines or ((shop["kettle"], 1),)
    total = sum(product.unit_price * quantity for product, quantity in lines)
    return placed(shop, *lines, payment_method="card", paid_amount=str(total), **overrides)


def test_an_excel_batch_placed_with_place_orders(shop):
    kettle, mug = shop["kettle"], shop["mug"]
    earlier = placed(shop)
    inputs = [
        order_input(
            shop["channel"], lines=[(kettle, 2), (mug, 1)], payment_method="card", paid_amount="90.00", **buyer()
        ),
        order_input(shop["channel"], lines=[(mug, 1)], payment_method="card", paid_amount="10.00", **buyer()),
        order_input(shop["channel"], lines=[(kettle, 1)], **buyer(city="", district="")),
        order_input(shop["channel"], lines=[(kettle, 1)], channel_order_id="DUP-1", **buyer()),
        order_input(shop["channel"], lines=[(kettle, 1)], channel_order_id="DUP-1", **buyer()),
        order_input(shop["channel"], lines=[(kettle, 1)], channel_order_id=earlier.channel_order_id, **buyer()),
        order_input(shop["channel"], lines=[(kettle, 0)], **buyer()),
        order_input(shop["channel"], lines=[(kettle, 9999)], **buyer()),
    ]

    assert_counted_exactly(lambda: orders.place_orders(inputs, actor=staff("Manager")))
    assert Order.objects.count() == 6


def test_the_api_intake(shop):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {orders.issue_token(shop['channel'].pk, actor=SYSTEM).secret}")

    def post_orders():
        for n, payment in enumerate([{"payment_method": "cod"}, {"payment_method": "card", "paid_amount": "25.00"}]):
            body = {
                "channel_order_id": f"API-{n}",
                "recipient": "王小明",
                "province": "浙江省",
                "city": "杭州市",
                "lines": [{"sku": "KETTLE", "quantity": 1}],
                **buyer(),
                **payment,
            }
            response = client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=f"key-{n}")
            assert response.status_code == 201, response.content

    assert_counted_exactly(post_orders)


def test_a_pick_list_that_starts_many_orders(shop):
    confirmed = [placed(shop).pk for _n in range(5)]
    already_picking = placed(shop, (shop["kettle"], 1), (shop["mug"], 1))
    logistics.create_pick_wave(shop["warehouses"][1].pk, [already_picking.pk], actor=SYSTEM)

    assert_counted_exactly(
        lambda: logistics.create_pick_wave(
            shop["warehouses"][0].pk, [*confirmed, already_picking.pk], actor=staff("Warehouse operator")
        )
    )


def test_dispatch_by_an_uploaded_sheet(shop):
    operator = staff("Warehouse operator")
    packed = [advance(placed(shop), "packed", actor=operator) for _n in range(3)]
    rows = [
        {
            "row": n + 2,
            "order_number": order.number,
            "carrier": shop["carrier"].code,
            "tracking_number": f"SF{5570000000000 + n}",
        }
        for n, order in enumerate(packed)
    ]

    assert_counted_exactly(lambda: logistics.dispatch_by_upload(rows, actor=staff("Logistics coordinator")))
    assert {order.status for order in Order.objects.all()} == {Status.SHIPPED}


def test_deliveries_from_an_uploaded_tracking_file(shop):
    operator = staff("Warehouse operator")
    shipped = [advance(placed(shop), "shipped", actor=operator) for _n in range(3)]
    now = timezone.now()
    rows = [
        {
            "row": n + 2,
            "carrier": shop["carrier"].code,
            "tracking_number": order.shipments.get().tracking_number,
            "status": status,
            "occurred_at": now - timedelta(hours=3 - n),
        }
        for n, (order, status) in enumerate(zip(shipped, ["delivered", "delivered", "in_transit"], strict=True))
    ]

    assert_counted_exactly(lambda: logistics.record_events_by_upload(rows, actor=staff("Logistics coordinator")))
    assert sorted(Order.objects.values_list("status", flat=True)) == [
        Status.DELIVERED,
        Status.DELIVERED,
        Status.SHIPPED,
    ]


def test_deliveries_reported_by_a_carriers_webhook(shop):
    shipped = [advance(placed(shop), "shipped", actor=staff("Warehouse operator")) for _n in range(2)]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {logistics.issue_webhook_token(shop['carrier'].pk, actor=SYSTEM)}")
    events = [
        {
            "tracking_number": order.shipments.get().tracking_number,
            "status": "delivered",
            "occurred_at": timezone.now().isoformat(),
        }
        for order in shipped
    ]

    def report():
        response = client.post("/api/v1/tracking-events/", events, format="json")
        assert response.json()["recorded"] == 2, response.content

    assert_counted_exactly(report)


def test_the_auto_completion_command(shop):
    delivered = [advance(placed(shop), "delivered", actor=staff("Warehouse operator")) for _n in range(3)]
    Order.objects.filter(pk__in=[order.pk for order in delivered]).update(
        delivered_at=timezone.now() - timedelta(days=30)
    )

    assert_counted_exactly(lambda: call_command("complete_delivered_orders", stdout=StringIO()))
    assert {order.status for order in Order.objects.all()} == {Status.COMPLETED}


def test_a_carriers_cash_on_delivery_remittance(shop):
    operator = staff("Warehouse operator")
    delivered = [advance(placed(shop), "delivered", actor=operator, remitted=False) for _n in range(3)]
    lines = [
        {
            "row": n + 2,
            "tracking_number": order.shipments.get().tracking_number,
            "amount": order.total,
            "fee": Decimal("1.00"),
            "remitted_on": None,
            "reference": "SF-B1",
        }
        for n, order in enumerate(delivered)
    ]

    assert_counted_exactly(
        lambda: logistics.record_remittance(shop["carrier"].pk, lines, file_name="sf.xlsx", actor=staff("Finance"))
    )
    assert {order.payment_status for order in Order.objects.all()} == {Order.PaymentStatus.PAID}


def action(client, changelist, name, selected, **fields):
    response = client.post(
        changelist,
        {
            "action": name,
            helpers.ACTION_CHECKBOX_NAME: [order.pk for order in selected],
            "select_across": "0",
            **fields,
        },
    )
    assert response.status_code in (200, 302), response.content


def test_the_consoles_bulk_actions_approve_reject_and_cancel_selected(client, shop):
    held = [placed(shop, city="", district="") for _n in range(4)]
    to_cancel = [paid(shop), placed(shop), advance(paid(shop), "picking", actor=staff("Warehouse operator"))]
    review_queue = reverse("admin:orders_heldorder_changelist")
    client.force_login(staff("Order reviewer"))

    assert_counted_exactly(lambda: action(client, review_queue, "approve_selected", held[:2]))
    assert_counted_exactly(
        lambda: action(client, review_queue, "reject_selected", held[2:], confirm_reason="yes", reason="unreachable")
    )

    client.force_login(staff("Customer service"))
    assert_counted_exactly(
        lambda: action(
            client,
            reverse("admin:orders_order_changelist"),
            "cancel_selected",
            to_cancel,
            confirm_reason="yes",
            reason="customer asked",
        )
    )
    assert Order.objects.filter(status=Status.CANCELLED).count() == 5
    assert Shipment.objects.get().status == Shipment.Status.CANCELLED


def inspected_return(order, wanted, warehouse):
    service, operator = staff("Customer service"), staff("Warehouse operator")
    line = order.lines.get()
    case = returns.request_return(
        order.pk,
        lines=[returns.ReturnLineInput(order_line_id=line.pk, quantity=line.quantity, reason=ReturnReason.QUALITY)],
        wanted_outcome=wanted,
        actor=service,
    )
    returns.approve_return(case.pk, actor=service)
    [return_line] = case.lines.all()
    returns.receive_return(case.pk, warehouse_id=warehouse.pk, received={return_line.pk: line.quantity}, actor=operator)
    repairing = wanted == Outcome.REPAIR
    returns.inspect_return(
        case.pk,
        results={return_line.pk: (0, line.quantity, "broken") if repairing else (line.quantity, 0, "")},
        actor=operator,
    )
    return case


def test_returns_resolved_by_refund_exchange_and_repair_and_the_refunds_paid(shop):
    operator, service, finance = staff("Warehouse operator"), staff("Customer service"), staff("Finance")
    warehouse = shop["warehouses"][0]
    refunded, exchanged, repaired = (
        advance(paid(shop, (shop["kettle"], 2)), "delivered", actor=operator) for _n in range(3)
    )

    before = rollups()
    case = inspected_return(refunded, Outcome.REFUND, warehouse)
    returns.resolve_return(case.pk, outcome=Outcome.REFUND, actor=service)
    for refund in Refund.objects.filter(order=refunded):
        orders.approve_refund(refund.pk, actor=finance)
        orders.mark_refund_paid(refund.pk, actor=finance, reference="BANK-1")
    # Refunds are not in the rollups: nothing moves, and nothing disagrees.
    assert rollups() == before
    assert_rebuild_agrees()

    case = inspected_return(exchanged, Outcome.EXCHANGE, warehouse)
    assert_counted_exactly(lambda: returns.resolve_return(case.pk, outcome=Outcome.EXCHANGE, actor=service))

    case = inspected_return(repaired, Outcome.REPAIR, warehouse)
    parcel = returns.resolve_return(case.pk, outcome=Outcome.REPAIR, actor=service).repair_shipment

    def send_the_repair_back():
        for _unit in range(2):
            logistics.pack_item(parcel.pk, "KETTLE", actor=operator)
        logistics.finish_packing(parcel.pk, weight_kg="1.0", package_count=1, actor=operator)
        logistics.dispatch(parcel.pk, carrier_id=shop["carrier"].pk, tracking_number=tracking_number(), actor=operator)
        logistics.mark_delivered(parcel.pk, actor=operator)

    assert_counted_exactly(send_the_repair_back)


def test_closing_an_incident_that_confirms_the_orders_its_channel_hold_kept_back(shop):
    from incidents import services as incidents

    manager = staff("Manager")
    incident = incidents.declare(kind="channel_bad_orders", title="Bad feed", actor=manager)
    incidents.hold_channel(incident.pk, shop["channel"].pk, actor=manager)
    held = [placed(shop), paid(shop), placed(shop, city="", district="")]
    assert {order.status for order in held} == {Status.ON_HOLD}

    assert_counted_exactly(lambda: incidents.close(incident.pk, actor=manager))
    assert Order.objects.filter(status=Status.CONFIRMED).count() == 2


def test_a_parcel_intercepted_and_received_back_closing_its_order_as_returned(shop):
    order = advance(paid(shop, (shop["kettle"], 2)), "shipped")
    parcel = order.shipments.get()
    coordinator = staff("Logistics coordinator")
    interception = logistics.request_interception(parcel.pk, reason="cancelled", actor=coordinator)
    logistics.record_interception_outcome(interception.pk, intercepted=True, actor=coordinator)

    assert_counted_exactly(
        lambda: logistics.receive_parcel_back(
            parcel.pk, counts={parcel.lines.get().pk: (1, 1)}, actor=staff("Warehouse operator")
        )
    )
    assert Order.objects.get(pk=order.pk).status == Status.RETURNED
    assert sum(DailyOrders.objects.values_list("returned_orders", flat=True)) == 1
