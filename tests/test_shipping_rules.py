"""Shipping rules: each parcel gets the carrier service the rules choose, with the rule that decided,
shown ahead on the order page and on the shipment; a coordinator may override the choice."""

import hashlib
from datetime import timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from core.actors import SYSTEM
from core.transitions import TransitionRefused
from logistics import selectors
from logistics import services as logistics
from logistics.models import CarrierService, Shipment
from orders import services as orders
from tests.factories import (
    CarrierFactory,
    CarrierServiceFactory,
    ProductFactory,
    WarehouseFactory,
    advance,
    order_input,
    pick_all,
    place,
    staff,
    stock,
)

pytestmark = pytest.mark.django_db

Kind = CarrierService.Kind
Reason = Shipment.ServiceReason
_customers = count(1)


@pytest.fixture
def warehouse():
    return WarehouseFactory()


@pytest.fixture
def rates():
    """A cheap standard service that does not collect cash, a dearer one that does, an express one
    and a special-handling one for fragile goods."""
    sf = CarrierFactory(code="sf", name="SF Express")
    ems = CarrierFactory(code="ems", name="EMS")
    careful = CarrierFactory(code="careful", name="Careful Couriers")
    return {
        "standard": CarrierServiceFactory(carrier=sf, code="standard", base_fee=Decimal("8"), fee_per_kg=Decimal("2")),
        "express": CarrierServiceFactory(
            carrier=sf,
            code="express",
            name="Express",
            kind=Kind.EXPRESS,
            base_fee=Decimal("15"),
            fee_per_kg=Decimal("3"),
            transit_days=1,
        ),
        "cod": CarrierServiceFactory(
            carrier=ems, code="standard", supports_cod=True, base_fee=Decimal("10"), fee_per_kg=Decimal("2")
        ),
        "fragile": CarrierServiceFactory(
            carrier=careful,
            code="special",
            name="Special handling",
            kind=Kind.SPECIAL_HANDLING,
            supports_fragile=True,
            base_fee=Decimal("20"),
            fee_per_kg=Decimal("3"),
        ),
    }


def order_of(warehouse, *, quantity=1, fragile=False, weight="0.500", paid=True, **overrides):
    """A confirmed order from a customer of its own; paid by card unless `paid` is False (then
    cash on delivery)."""
    product = ProductFactory(fragile=fragile, weight_kg=Decimal(weight))
    stock(product, warehouse, 50)
    n = next(_customers)
    payment = {"payment_method": "card", "paid_amount": product.unit_price * quantity} if paid else {}
    order = place(
        lines=[(product, quantity)], phone=f"1370000{n:04d}", address=f"学院路 {n} 号", **payment, **overrides
    )
    assert order.status == "confirmed"
    return order


def chosen(order, warehouse):
    (shipment,) = logistics.create_pick_wave(warehouse.pk, [order.pk], actor=SYSTEM).shipments.all()
    return shipment


# --- the rules ---------------------------------------------------------------------------------


def test_fragile_goods_travel_with_special_handling(rates, warehouse):
    shipment = chosen(order_of(warehouse, fragile=True), warehouse)

    assert (shipment.service, shipment.service_reason) == (rates["fragile"], Reason.FRAGILE)
    assert shipment.carrier == rates["fragile"].carrier


def test_fragile_goods_outrank_an_express_request(rates, warehouse):
    shipment = chosen(order_of(warehouse, fragile=True, express_requested=True), warehouse)

    assert (shipment.service, shipment.service_reason) == (rates["fragile"], Reason.FRAGILE)


def test_an_express_request_goes_express(rates, warehouse):
    shipment = chosen(order_of(warehouse, express_requested=True), warehouse)

    assert (shipment.service, shipment.service_reason) == (rates["express"], Reason.EXPRESS_REQUESTED)


def test_a_delivery_window_standard_transit_would_miss_goes_express(rates, warehouse):
    tight = order_of(warehouse, delivery_window_end=timezone.now() + timedelta(days=1))
    roomy = order_of(warehouse, delivery_window_end=timezone.now() + timedelta(days=30))

    tight_shipment, roomy_shipment = chosen(tight, warehouse), chosen(roomy, warehouse)

    assert (tight_shipment.service, tight_shipment.service_reason) == (rates["express"], Reason.TIGHT_WINDOW)
    assert (roomy_shipment.service, roomy_shipment.service_reason) == (rates["standard"], Reason.CHEAPEST)


def test_cash_on_delivery_goes_only_with_a_carrier_that_collects(rates, warehouse):
    shipment = chosen(order_of(warehouse, paid=False), warehouse)

    assert (shipment.service, shipment.service_reason) == (rates["cod"], Reason.CASH_ON_DELIVERY)
    assert rates["standard"].fee_for(Decimal("0.5")) < rates["cod"].fee_for(Decimal("0.5"))


def test_otherwise_the_cheapest_service_for_the_weight_wins(warehouse):
    light_rate = CarrierServiceFactory(
        carrier=CarrierFactory(code="yto", name="YTO"), code="light", base_fee=Decimal("5"), fee_per_kg=Decimal("4")
    )
    heavy_rate = CarrierServiceFactory(
        carrier=CarrierFactory(code="zto", name="ZTO"), code="heavy", base_fee=Decimal("12"), fee_per_kg=Decimal("1")
    )

    light = chosen(order_of(warehouse, weight="0.500"), warehouse)
    heavy = chosen(order_of(warehouse, quantity=4, weight="2.000"), warehouse)

    assert (light.service, light.service_reason, light.shipping_cost) == (light_rate, Reason.CHEAPEST, Decimal("7.00"))
    assert (heavy.service, heavy.service_reason, heavy.shipping_cost) == (heavy_rate, Reason.CHEAPEST, Decimal("20.00"))


def test_inactive_services_and_carriers_are_never_chosen(rates, warehouse):
    rates["standard"].active = False
    rates["standard"].save()
    rates["cod"].carrier.active = False
    rates["cod"].carrier.save()

    shipment = chosen(order_of(warehouse), warehouse)

    assert (shipment.service, shipment.service_reason) == (rates["express"], Reason.CHEAPEST)


def test_a_parcel_no_service_fits_gets_none_and_still_goes_on_the_pick_list(rates, warehouse):
    for rate in rates.values():
        rate.supports_cod = False
        rate.save()
    order = order_of(warehouse, paid=False)

    shipment = chosen(order, warehouse)

    assert (shipment.service, shipment.carrier, shipment.service_reason, shipment.shipping_cost) == (
        None,
        None,
        "",
        None,
    )
    order.refresh_from_db()
    assert order.status == "picking"


def test_fragile_goods_with_no_service_that_takes_them_get_none(rates, warehouse):
    rates["fragile"].delete()

    shipment = chosen(order_of(warehouse, fragile=True), warehouse)

    assert shipment.service is None


def test_the_plan_shown_ahead_is_what_the_pick_list_then_chooses(rates):
    near, far = WarehouseFactory(), WarehouseFactory()
    vase, book = ProductFactory(fragile=True), ProductFactory()
    stock(vase, near, 5)
    stock(book, far, 5)
    order = place(lines=[(vase, 1), (book, 2)], payment_method="card", paid_amount=Decimal("75.00"))

    plans = logistics.plan_parcels(order, selectors.goods_waiting([order.pk])[order.pk])
    pick_all(order)

    assert [(p.warehouse, p.units, p.service, p.reason) for p in plans] == [
        (near, 1, rates["fragile"], Reason.FRAGILE),
        (far, 2, rates["standard"], Reason.CHEAPEST),
    ]
    assert [(s.warehouse, s.service, s.service_reason) for s in order.shipments.order_by("warehouse__priority")] == [
        (p.warehouse, p.service, p.reason) for p in plans
    ]


# --- the coordinator's override ----------------------------------------------------------------


def test_a_coordinator_overrides_the_service_and_the_fee_follows(rates, warehouse):
    shipment = chosen(order_of(warehouse), warehouse)
    coordinator = staff("Logistics coordinator")

    logistics.choose_carrier(shipment.pk, rates["express"].pk, actor=coordinator)

    shipment.refresh_from_db()
    assert (shipment.service, shipment.carrier, shipment.service_reason) == (
        rates["express"],
        rates["express"].carrier,
        Reason.CHOSEN_BY_STAFF,
    )
    assert shipment.shipping_cost == rates["express"].fee_for(Decimal("0.5"))


@pytest.mark.parametrize("role", ["Warehouse operator", "Customer service", "Order reviewer"])
def test_only_coordinators_and_managers_may_override_the_service(rates, warehouse, role):
    shipment = chosen(order_of(warehouse), warehouse)

    with pytest.raises(PermissionDenied):
        logistics.choose_carrier(shipment.pk, rates["express"].pk, actor=staff(role))

    shipment.refresh_from_db()
    assert (shipment.service, shipment.service_reason) == (rates["standard"], Reason.CHEAPEST)


def test_a_cash_on_delivery_order_refuses_a_service_that_does_not_collect(rates, warehouse):
    shipment = chosen(order_of(warehouse, paid=False), warehouse)

    with pytest.raises(ValidationError) as refused:
        logistics.choose_carrier(shipment.pk, rates["express"].pk, actor=staff("Logistics coordinator"))

    assert "service" in refused.value.message_dict
    assert "cash on delivery" in " ".join(refused.value.message_dict["service"])
    shipment.refresh_from_db()
    assert (shipment.service, shipment.service_reason) == (rates["cod"], Reason.CASH_ON_DELIVERY)


def test_the_service_of_a_parcel_that_left_cannot_change(rates, warehouse):
    order = advance(order_of(warehouse), "shipped")
    shipment = order.shipments.get()

    with pytest.raises(TransitionRefused):
        logistics.choose_carrier(shipment.pk, rates["express"].pk, actor=staff("Logistics coordinator"))

    shipment.refresh_from_db()
    assert shipment.service_reason != Reason.CHOSEN_BY_STAFF


# --- the console -------------------------------------------------------------------------------


def shipment_page(shipment):
    return reverse("admin:logistics_shipment_change", args=[shipment.pk])


def service_url(shipment):
    return reverse("admin:logistics_shipment_service", args=[shipment.pk])


def test_the_order_page_shows_the_planned_service_and_why_before_any_pick_list(client, rates, warehouse):
    order = order_of(warehouse, express_requested=True)
    client.force_login(staff("Warehouse operator"))

    content = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()

    assert "SF Express · Express" in content
    assert str(Reason.EXPRESS_REQUESTED.label) in content
    assert "Not on a pick list yet" in content


def test_the_order_page_shows_each_shipment_with_its_service_and_reason(client, rates, warehouse):
    order = order_of(warehouse, paid=False)
    pick_all(order)
    client.force_login(staff("Warehouse operator"))

    content = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()

    assert "EMS · Standard" in content
    assert str(Reason.CASH_ON_DELIVERY.label) in content
    assert "Not on a pick list yet" not in content


def test_the_shipment_list_shows_service_reason_and_status(client, rates, warehouse):
    order = order_of(warehouse, fragile=True)
    pick_all(order)
    client.force_login(staff("Logistics coordinator"))

    response = client.get(reverse("admin:logistics_shipment_changelist"))

    content = response.content.decode()
    assert order.number in content
    assert "Careful Couriers · Special handling" in content
    assert str(Reason.FRAGILE.label) in content
    assert 'class="oc-badge oc-shipment-pending"' in content


def test_the_shipment_page_shows_lines_reason_and_tracking_events(client, rates, warehouse):
    order = advance(order_of(warehouse, quantity=2), "shipped")
    shipment = order.shipments.get()
    logistics.record_tracking_event(
        shipment.pk,
        status="in_transit",
        occurred_at=timezone.now(),
        location="杭州转运中心",
        source="console",
        actor=SYSTEM,
    )
    client.force_login(staff("Logistics coordinator"))

    response = client.get(shipment_page(shipment))

    content = response.content.decode()
    assert [(line.packed_quantity, line.quantity) for line in response.context["shipment_lines"]] == [(2, 2)]
    assert str(Reason.CHEAPEST.label) in content
    assert "杭州转运中心" in content
    assert response.context["service_form"] is None


def test_a_coordinator_overrides_the_service_on_the_shipment_page(client, rates, warehouse):
    shipment = chosen(order_of(warehouse), warehouse)
    client.force_login(staff("Logistics coordinator"))
    assert client.get(shipment_page(shipment)).context["service_form"] is not None

    response = client.post(service_url(shipment), {"service": rates["express"].pk}, follow=True)

    shipment.refresh_from_db()
    assert shipment.service == rates["express"]
    assert any("now goes with SF Express · Express" in str(m) for m in response.context["messages"])
    assert str(Reason.CHOSEN_BY_STAFF.label) in response.content.decode()


def test_the_shipment_page_shows_a_refused_override_and_keeps_the_service(client, rates, warehouse):
    shipment = chosen(order_of(warehouse, paid=False), warehouse)
    client.force_login(staff("Logistics coordinator"))

    response = client.post(service_url(shipment), {"service": rates["standard"].pk}, follow=True)

    messages = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("Carrier service:") and "cash on delivery" in m for m in messages)
    shipment.refresh_from_db()
    assert shipment.service == rates["cod"]


def test_staff_without_the_carrier_permission_get_no_override_form_and_cannot_post_one(client, rates, warehouse):
    shipment = chosen(order_of(warehouse), warehouse)
    client.force_login(staff("Warehouse operator"))

    assert client.get(shipment_page(shipment)).context["service_form"] is None
    assert client.post(service_url(shipment), {"service": rates["express"].pk}).status_code == 403
    shipment.refresh_from_db()
    assert shipment.service == rates["standard"]


# --- carriers: on-time rate and webhook tokens -------------------------------------------------


def delivered(order, *, late):
    """Ship the order and deliver its parcel now, after its expected date when `late`."""
    shipment = advance(order, "shipped").shipments.get()
    if late:
        Shipment.objects.filter(pk=shipment.pk).update(expected_delivery_on=timezone.localdate() - timedelta(days=1))
    logistics.record_tracking_event(
        shipment.pk, status="delivered", occurred_at=timezone.now(), source="console", actor=SYSTEM
    )


def test_a_carriers_on_time_rate_counts_its_real_deliveries(client, rates, warehouse):
    for late in (False, False, True):
        delivered(order_of(warehouse), late=late)
    advance(order_of(warehouse), "shipped")
    client.force_login(staff("Logistics coordinator"))

    response = client.get(reverse("admin:logistics_carrier_changelist"))

    sf = next(carrier for carrier in response.context["cl"].result_list if carrier.code == "sf")
    assert (sf.delivered_count, sf.on_time_count) == (3, 2)
    assert selectors.on_time_rate(sf) == 66.7
    content = response.content.decode()
    assert "66.7% (2 of 3)" in content
    assert "no deliveries yet" in content


def test_a_webhook_token_is_shown_once_and_only_its_hash_is_kept(rates):
    carrier = rates["standard"].carrier

    token = logistics.issue_webhook_token(carrier.pk, actor=staff("Logistics coordinator"))

    carrier.refresh_from_db()
    assert len(token) >= 40
    assert carrier.webhook_token_hash == hashlib.sha256(token.encode()).hexdigest() != token
    assert carrier.webhook_token_prefix == token[:8]
    assert selectors.carrier_for_webhook_token(token) == carrier
    assert selectors.carrier_for_webhook_token(token[:-1]) is None
    assert selectors.carrier_for_webhook_token("") is None


def test_a_new_webhook_token_replaces_the_old_one_at_once(rates):
    carrier = rates["standard"].carrier
    old = logistics.issue_webhook_token(carrier.pk, actor=SYSTEM)

    new = logistics.issue_webhook_token(carrier.pk, actor=SYSTEM)

    assert new != old
    assert selectors.carrier_for_webhook_token(old) is None
    assert selectors.carrier_for_webhook_token(new) == carrier


def test_an_inactive_carriers_webhook_token_is_refused(rates):
    carrier = rates["standard"].carrier
    token = logistics.issue_webhook_token(carrier.pk, actor=SYSTEM)
    carrier.active = False
    carrier.save()

    assert selectors.carrier_for_webhook_token(token) is None


def test_only_staff_who_may_change_carriers_issue_webhook_tokens(rates):
    carrier = rates["standard"].carrier

    with pytest.raises(PermissionDenied):
        logistics.issue_webhook_token(carrier.pk, actor=staff("Warehouse operator"))

    carrier.refresh_from_db()
    assert carrier.webhook_token_hash == ""


def test_the_console_asks_first_then_shows_the_token_once_and_never_again(client, rates):
    carrier = rates["standard"].carrier
    client.force_login(staff("Logistics coordinator"))
    url = reverse("admin:logistics_carrier_webhook_token", args=[carrier.pk])
    assert reverse("admin:logistics_carrier_change", args=[carrier.pk]) in client.get(url).content.decode()
    carrier.refresh_from_db()
    assert carrier.webhook_token_hash == ""

    response = client.post(url)

    token = response.context["token"]
    assert token in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert selectors.carrier_for_webhook_token(token) == carrier
    change_page = client.get(reverse("admin:logistics_carrier_change", args=[carrier.pk])).content.decode()
    assert token not in change_page and token[:8] in change_page


def test_staff_who_may_not_change_carriers_cannot_reach_the_token_page(client, rates):
    carrier = rates["standard"].carrier
    client.force_login(staff("Warehouse operator"))

    assert client.post(reverse("admin:logistics_carrier_webhook_token", args=[carrier.pk])).status_code == 403
    carrier.refresh_from_db()
    assert carrier.webhook_token_hash == ""


def test_a_coordinator_adds_a_carrier_service_on_the_carrier_page(client, rates):
    carrier = rates["standard"].carrier
    client.force_login(staff("Logistics coordinator"))
    existing = list(carrier.services.order_by("pk"))
    data = {
        "code": carrier.code,
        "name": carrier.name,
        "tracking_url_template": carrier.tracking_url_template,
        "active": "on",
        "services-TOTAL_FORMS": str(len(existing) + 1),
        "services-INITIAL_FORMS": str(len(existing)),
        "services-MIN_NUM_FORMS": "0",
        "services-MAX_NUM_FORMS": "1000",
    }
    for index, service in enumerate(existing):
        data.update(
            {
                f"services-{index}-id": service.pk,
                f"services-{index}-carrier": carrier.pk,
                f"services-{index}-code": service.code,
                f"services-{index}-name": service.name,
                f"services-{index}-kind": service.kind,
                f"services-{index}-base_fee": service.base_fee,
                f"services-{index}-fee_per_kg": service.fee_per_kg,
                f"services-{index}-transit_days": service.transit_days,
                f"services-{index}-active": "on",
            }
        )
    new = len(existing)
    data.update(
        {
            f"services-{new}-carrier": carrier.pk,
            f"services-{new}-code": "cod",
            f"services-{new}-name": "Cash collect",
            f"services-{new}-kind": "standard",
            f"services-{new}-supports_cod": "on",
            f"services-{new}-base_fee": "9.50",
            f"services-{new}-fee_per_kg": "1.5",
            f"services-{new}-transit_days": "4",
            f"services-{new}-active": "on",
        }
    )

    response = client.post(reverse("admin:logistics_carrier_change", args=[carrier.pk]), data)

    assert response.status_code == 302, response.context["errors"] if response.context else response
    added = carrier.services.get(code="cod")
    assert (added.supports_cod, added.base_fee, added.fee_per_kg, added.transit_days) == (
        True,
        Decimal("9.50"),
        Decimal("1.50"),
        4,
    )


def test_the_shipment_list_says_when_no_service_fits_so_a_coordinator_chooses(client, rates, warehouse):
    rates["fragile"].delete()
    pick_all(order_of(warehouse, fragile=True))
    client.force_login(staff("Logistics coordinator"))

    content = client.get(reverse("admin:logistics_shipment_changelist")).content.decode()

    assert "No active service fits: a coordinator chooses one." in content


def test_a_cash_on_delivery_order_with_nothing_left_to_pay_goes_with_the_cheapest_service(rates, warehouse):
    product = ProductFactory(weight_kg=Decimal("0.500"))
    stock(product, warehouse, 5)
    free_replacement = order_input(lines=[], payment_method="cod", phone="13700009999", address="学院路 999 号")
    free_replacement.lines = [orders.LineInput(sku=product.sku, quantity=1, unit_price=Decimal("0"))]
    order = orders.place_order(free_replacement, actor=SYSTEM).order

    shipment = chosen(order, warehouse)

    assert (order.total, order.payment_status, shipment.service_reason) == (Decimal("0.00"), "paid", Reason.CHEAPEST)
    assert shipment.service != rates["cod"]
