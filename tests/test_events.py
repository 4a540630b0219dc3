"""Domain events, the one way a higher app takes part in a lower app's work: the mechanism, the
listing of every event with its publishers and subscribers, and what the apps do through it
(cancelling voids parcels, the order page's cards, the message context, completion blockers)."""

import re
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models.signals import post_delete, post_init, post_save, pre_delete, pre_init, pre_save
from django.urls import NoReverseMatch, reverse
from django_fsm.signals import post_transition, pre_transition

from aftersales.admin.returns import order_returns_card
from aftersales.admin.tickets import order_tickets_section
from core.events import Event, declared_events, describe, publications, publishers
from logistics import services as logistics
from logistics.admin.interceptions import order_interceptions_card
from logistics.models import Shipment
from orders import services as orders
from orders.admin.order import admin_url
from orders.events import MESSAGE_CONTEXT, ORDER_CANCELLED, ORDER_PAGE_SECTIONS
from orders.models import Order
from orders.services import notifications
from tests.factories import ProductFactory, WarehouseFactory, advance, pick_all, place, staff, stock

pytestmark = pytest.mark.django_db

# The whole wiring, as `manage.py events` lists it: publishers, then subscribers.
WIRING = {
    "orders.orders_placed": (
        ["orders.services.intake._create_all"],
        ["analytics.services.orders_placed"],
    ),
    "orders.order_status_changed": (
        ["orders.services.transitions.record_order_transition"],
        ["analytics.services.order_status_changed"],
    ),
    "orders.order_cancelled": (
        ["orders.services.lifecycle._end_before_shipping"],
        ["logistics.services.cancellation.cancel_open_shipments"],
    ),
    "orders.payment_captured": (
        ["orders.services.settlement._capture"],
        ["analytics.services.payment_captured"],
    ),
    "orders.payments_captured": (
        ["orders.services.settlement.record_cod_remitted"],
        ["analytics.services.payments_captured"],
    ),
    "orders.cod_outstanding": (
        ["orders.selectors.cod_outstanding"],
        ["logistics.selectors.cod_outstanding"],
    ),
    "orders.delivery_address_corrected": (
        ["orders.services.lifecycle.update_delivery_address"],
        ["analytics.services.delivery_address_corrected"],
    ),
    "orders.personal_data_erased": (
        ["orders.services.privacy._erase"],
        ["logistics.services.privacy.erase_personal_data", "aftersales.services.privacy.erase_personal_data"],
    ),
    "orders.order_page_sections": (
        ["orders.admin.order.OrderAdmin.render_order_page"],
        [
            "logistics.admin.interceptions.order_interceptions_card",
            "aftersales.admin.returns.order_returns_card",
            "aftersales.admin.tickets.order_tickets_section",
        ],
    ),
    "orders.order_list_actions": (
        ["orders.admin.order_desk.OrderDeskMixin.get_actions"],
        ["logistics.admin.order_actions.order_list_actions"],
    ),
    "orders.message_context": (
        ["orders.services.notifications.message_context"],
        ["aftersales.services.feedback.message_context"],
    ),
    "orders.unreachable_regions": (
        ["orders.services.checks.unreachable_regions"],
        ["logistics.selectors.unreachable_regions"],
    ),
    "orders.completion_blockers": (
        ["orders.services.acceptance._held_back"],
        [
            "aftersales.selectors.returns.orders_with_open_returns",
            "aftersales.selectors.tickets.orders_with_open_complaints",
        ],
    ),
    "orders.order_api_parts": (
        ["orders.api.serializers.order_parts"],
        ["logistics.api.order_shipments", "aftersales.api.order_returns"],
    ),
    "orders.customer_data_sheets": (
        ["orders.services.privacy.customer_data_sheets"],
        ["logistics.selectors.customer_data_sheets", "aftersales.selectors.privacy.customer_data_sheets"],
    ),
    "orders.erasure_blockers": (
        ["orders.services.privacy.erasure_blockers"],
        ["aftersales.selectors.privacy.erasure_blockers"],
    ),
    "orders.archive_held_back": (
        ["orders.services.archiving.archivable_orders"],
        ["aftersales.selectors.archive.orders_kept_live"],
    ),
    "orders.orders_archiving": (
        ["orders.services.archiving.archive_batch"],
        [
            "logistics.selectors.rows_to_archive",
            "aftersales.selectors.archive.rows_to_archive",
            "analytics.services.keep_archived_figures",
        ],
    ),
    "orders.order_rewriting": (
        ["orders.services.transitions.rewriting"],
        ["analytics.services.order_rewriting"],
    ),
    "orders.erasing_archived_order": (
        ["orders.services.privacy._erase_archived"],
        [
            "logistics.services.privacy.erase_archived_personal_data",
            "aftersales.services.privacy.erase_archived_personal_data",
        ],
    ),
    "orders.order_search": (
        ["orders.selectors.search_orders"],
        ["logistics.selectors.orders_with_tracking_number"],
    ),
    "orders.order_list_shipping": (
        ["orders.admin.desk_columns.OrderDeskColumns.annotate_page"],
        ["logistics.selectors.shipping_columns"],
    ),
    "logistics.parcel_packed": (
        ["logistics.services.packing.finish_packing"],
        ["analytics.services.parcel_packed"],
    ),
    "logistics.parcel_dispatched": (
        ["logistics.services.dispatch.dispatch"],
        ["analytics.services.parcel_dispatched"],
    ),
    "logistics.parcel_delivered": (
        ["logistics.services.tracking._apply_event"],
        ["analytics.services.parcel_delivered"],
    ),
    "logistics.packing_scan_refused": (
        ["logistics.services.packing.scan_item"],
        ["analytics.services.packing_scan_refused"],
    ),
}


def listing():
    """`manage.py events` as {event name: (published by, subscribers)}."""
    out = StringIO()
    call_command("events", stdout=out, no_color=True)
    listed, name = {}, None
    for line in out.getvalue().splitlines():
        if not line.startswith(" "):
            name = line
            listed[name] = ([], [])
        elif match := re.fullmatch(r"  published by (\S+)", line):
            listed[name][0].append(match.group(1))
        elif match := re.fullmatch(r"  -> (\S+)", line):
            listed[name][1].append(match.group(1))
    return listed


# The mechanism -----------------------------------------------------------------------------------


def test_subscribers_are_called_in_the_order_they_subscribed_with_the_payload_and_answer_in_turn():
    event = Event(name="test.happened", doc="", payload=("order",))
    event.subscribe(lambda order: f"first saw {order}")
    event.subscribe(lambda order: f"second saw {order}")

    assert event.publish(order="OC1") == ["first saw OC1", "second saw OC1"]


def test_subscribing_the_same_function_twice_calls_it_once():
    event = Event(name="test.happened", doc="", payload=())

    def subscriber():
        return "called"

    event.subscribe(subscriber)
    event.subscribe(subscriber)

    assert event.publish() == ["called"]


def test_an_event_published_with_other_arguments_than_it_declares_is_refused():
    event = Event(name="test.happened", doc="", payload=("order",))

    with pytest.raises(TypeError, match="test.happened is published with"):
        event.publish(order="OC1", actor="someone")


def test_publications_are_found_however_the_event_is_imported():
    source = """
from orders.events import ORDER_CANCELLED as CANCELLED
from logistics import events as parcels
from ..events import ORDERS_PLACED
import orders.events as order_events
import logistics.events

def cancel():
    CANCELLED.publish(order=None)

class Packing:
    def close(self):
        parcels.PARCEL_PACKED.publish(shipment=None)

def place():
    ORDERS_PLACED.publish(orders=[], order_events=[], payments=[])
    order_events.PAYMENT_CAPTURED.publish(payment=None)
    logistics.events.PARCEL_DELIVERED.publish(shipment=None)
    something_else.publish()
    order_events.NOT_AN_EVENT.publish()
"""
    found = publications(source, "orders.services.example")

    assert [(event.name, where) for event, where in found] == [
        ("orders.order_cancelled", "orders.services.example.cancel"),
        ("logistics.parcel_packed", "orders.services.example.Packing.close"),
        ("orders.orders_placed", "orders.services.example.place"),
        ("orders.payment_captured", "orders.services.example.place"),
        ("logistics.parcel_delivered", "orders.services.example.place"),
    ]


# The listing -------------------------------------------------------------------------------------


def test_every_event_is_listed_with_its_publishers_and_subscribers():
    listed = listing()

    assert list(listed) == [event.name for event in declared_events()]
    for event in declared_events():
        assert listed[event.name] == (
            publishers().get(event.name, []),
            [describe(handler) for handler in event.subscribers],
        )
    assert {name: wiring for name, wiring in listed.items() if not name.startswith("core.")} == WIRING


def test_every_event_of_the_apps_is_published_somewhere_and_has_a_subscriber():
    """An event nobody publishes, or nobody listens to, is dead code."""
    published = publishers()
    for event in declared_events():
        if event.name.startswith("core."):
            continue
        assert published.get(event.name), f"{event.name} is published nowhere"
        assert event.subscribers, f"{event.name} has no subscribers"


def test_no_model_signal_of_the_apps_carries_a_business_rule():
    """What happens when an order, payment or parcel changes is said by the service that changes it."""
    signals = [pre_init, post_init, pre_save, post_save, pre_delete, post_delete, pre_transition, post_transition]
    project_apps = {"core", "inventory", "orders", "logistics", "aftersales", "analytics"}
    listened = [
        (model.__name__, signal)
        for model in apps.get_models()
        if model._meta.app_label in project_apps
        for signal in signals
        if signal.has_listeners(model)
    ]

    assert listened == []


# What the apps do through the events ------------------------------------------------------------


@pytest.fixture
def product():
    product = ProductFactory(sku="KETTLE")
    stock(product, WarehouseFactory(), 20)
    return product


def test_cancel_voids_open_parcels_through_the_event(product, monkeypatch):
    operator, service = staff("Warehouse operator"), staff("Customer service")
    picked = place(lines=[(product, 1)], phone="13700000001", address="文三路 1 号")
    pick_all(picked, actor=operator)
    assert ORDER_CANCELLED.subscribers == [logistics.cancel_open_shipments]

    orders.cancel(picked.pk, actor=service, reason="customer asked")

    assert list(picked.shipments.values_list("status", flat=True)) == [Shipment.Status.CANCELLED]

    # Without logistics' subscription nothing else voids them: no model signal does it behind the service.
    monkeypatch.setattr(ORDER_CANCELLED, "subscribers", [])
    other = place(lines=[(product, 1)], phone="13700000002", address="文三路 2 号")
    pick_all(other, actor=operator)
    orders.cancel(other.pk, actor=service, reason="customer asked")
    assert list(other.shipments.values_list("status", flat=True)) == [Shipment.Status.PENDING]


def test_parcels_are_voided_in_the_cancellations_own_transaction(product, monkeypatch):
    picked = place(lines=[(product, 1)])
    pick_all(picked, actor=staff("Warehouse operator"))

    def void_then_fail(order):
        logistics.cancel_open_shipments(order)
        raise RuntimeError("the subscriber failed")

    monkeypatch.setattr(ORDER_CANCELLED, "subscribers", [void_then_fail])
    with pytest.raises(RuntimeError):
        orders.cancel(picked.pk, actor=staff("Customer service"), reason="customer asked")

    picked.refresh_from_db()
    assert picked.status == Order.Status.PICKING
    assert list(picked.shipments.values_list("status", flat=True)) == [Shipment.Status.PENDING]


def test_order_page_sections_come_from_subscribers(client, product, monkeypatch):
    order = advance(place(lines=[(product, 1)]), "delivered")
    client.force_login(staff("Customer service"))
    page = reverse("admin:orders_order_change", args=[order.pk])
    assert ORDER_PAGE_SECTIONS.subscribers == [order_interceptions_card, order_returns_card, order_tickets_section]

    content = client.get(page).content.decode()
    assert 'id="oc-returns"' in content and 'id="oc-tickets"' in content
    assert content.index('id="oc-returns"') < content.index('id="oc-tickets"')

    seen = []
    monkeypatch.setattr(ORDER_PAGE_SECTIONS, "subscribers", [lambda request, order: seen.append((request, order))])
    response = client.get(page)
    content = response.content.decode()

    assert [(request.user, order.pk) for request, order in seen] == [(response.wsgi_request.user, order.pk)]
    assert response.context["extra_sections"] == []
    assert 'id="oc-returns"' not in content and 'id="oc-tickets"' not in content


def test_the_message_context_takes_what_subscribers_add(product, monkeypatch):
    order = place(lines=[(product, 1)])
    assert "feedback_url" in notifications.message_context(order)

    monkeypatch.setattr(MESSAGE_CONTEXT, "subscribers", [lambda order: {"greeting": f"Hello {order.recipient}"}])
    context = notifications.message_context(order)

    assert context["greeting"] == f"Hello {order.recipient}"
    assert "feedback_url" not in context


# Console links ------------------------------------------------------------------------------------


def test_a_mistyped_console_url_name_fails_loudly_instead_of_hiding_its_button():
    assert admin_url("logistics_shipment_change", 7) == reverse("admin:logistics_shipment_change", args=[7])

    with pytest.raises(NoReverseMatch):
        admin_url("logistics_shipment_chnage", 7)


def test_shipment_buttons_show_by_permission_and_every_link_resolves(client, product):
    order = advance(place(lines=[(product, 1)]), "picking", actor=staff("Warehouse operator"))
    [parcel] = order.shipments.all()
    page = reverse("admin:orders_order_change", args=[order.pk])
    pack_url = reverse("admin:logistics_shipment_pack_parcel", args=[parcel.pk])
    parcel_url = reverse("admin:logistics_shipment_change", args=[parcel.pk])

    client.force_login(staff("Warehouse operator"))
    content = client.get(page).content.decode()
    assert pack_url in content and parcel_url in content

    client.force_login(staff("Finance"))
    content = client.get(page).content.decode()
    assert pack_url not in content
