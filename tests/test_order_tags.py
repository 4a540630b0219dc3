"""Tags on orders: created by those who may, put on and taken off many orders at once, shown on
the list (one query per page) and the order page, and a list filter."""

import pytest
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.actors import SYSTEM
from orders import services
from orders.models import OrderTag, OrderTagging
from tests.factories import ProductFactory, WarehouseFactory, staff, stock
from tests.factories import place as place_order

pytestmark = pytest.mark.django_db

ORDER_LIST = reverse("admin:orders_order_changelist")
_customers = iter(range(1, 10_000))


def place(product):
    n = next(_customers)
    return place_order(lines=[(product, 1)], phone=f"1390000{n:04d}", address=f"文三路 {n} 号")


@pytest.fixture
def product():
    product = ProductFactory()
    stock(product, WarehouseFactory(), 100)
    return product


def signed_in(client, role):
    user = staff(role)
    client.force_login(user)
    return user


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def tag_names(order):
    return sorted(order.tags.values_list("name", flat=True))


# Services ---------------------------------------------------------------------------------------


def test_tagging_puts_the_tag_once_and_records_who(product):
    first, second = place(product), place(product)
    agent = staff("Customer service")
    vip = services.create_tag("VIP", colour=OrderTag.Colour.RED, actor=staff("Manager"))
    services.tag_orders([first.pk], tag_id=vip.pk, actor=agent)

    result = services.tag_orders([first.pk, second.pk], tag_id=vip.pk, actor=agent)

    assert (result.changed, result.unchanged) == (1, 1)
    assert OrderTagging.objects.filter(tag=vip).count() == 2
    assert set(OrderTagging.objects.values_list("added_by", flat=True)) == {agent.pk}


def test_a_new_name_creates_the_tag_only_for_those_who_may_create_tags(product):
    order = place(product)
    with pytest.raises(ValidationError) as refused:
        services.tag_orders([order.pk], name="Gift wrap", actor=staff("Customer service"))
    assert "may not create tags" in " ".join(refused.value.messages)
    assert not OrderTag.objects.exists()

    services.tag_orders([order.pk], name="Gift wrap", actor=staff("Manager"))
    assert tag_names(order) == ["Gift wrap"]
    # The same name in another case is the same tag.
    services.tag_orders([order.pk], name="gift  WRAP", actor=staff("Customer service"))
    assert OrderTag.objects.count() == 1


def test_untagging_takes_the_tag_off(product):
    first, second = place(product), place(product)
    vip = services.create_tag("VIP", actor=SYSTEM)
    services.tag_orders([first.pk, second.pk], tag_id=vip.pk, actor=SYSTEM)

    result = services.untag_orders([first.pk], tag_id=vip.pk, actor=staff("Order reviewer"))

    assert result.changed == 1
    assert (tag_names(first), tag_names(second)) == ([], ["VIP"])


def test_analysts_and_finance_may_not_tag(product):
    order = place(product)
    vip = services.create_tag("VIP", actor=SYSTEM)
    for role in ("Analyst", "Finance"):
        with pytest.raises(PermissionDenied):
            services.tag_orders([order.pk], tag_id=vip.pk, actor=staff(role))


def test_two_tags_may_not_share_a_name():
    services.create_tag("VIP", actor=SYSTEM)
    with pytest.raises(ValidationError):
        services.create_tag("vip", actor=SYSTEM)


# Console ----------------------------------------------------------------------------------------


def action(client, action_name, orders, **extra):
    data = {"action": action_name, helpers.ACTION_CHECKBOX_NAME: [o.pk for o in orders], "index": "0", **extra}
    return client.post(ORDER_LIST, data, follow=True)


def test_bulk_add_tag_asks_which_then_tags_the_chosen_orders(client, product):
    orders = [place(product), place(product)]
    untouched = place(product)
    services.create_tag("VIP", actor=SYSTEM)
    signed_in(client, "Customer service")

    asked = action(client, "add_tag_selected", orders)
    assert asked.templates[0].name == "admin/orders/order/action_form.html"
    assert "name" not in asked.context["form"].fields  # may not create tags
    vip = OrderTag.objects.get()
    done = action(client, "add_tag_selected", orders, confirm_action="yes", tag=vip.pk)

    assert "Tag “VIP” added to 2 orders." in messages_of(done)
    assert [tag_names(o) for o in (*orders, untouched)] == [["VIP"], ["VIP"], []]


def test_a_manager_types_a_new_tag_in_the_bulk_action(client, product):
    order = place(product)
    signed_in(client, "Manager")

    done = action(client, "add_tag_selected", [order], confirm_action="yes", tag="", name="Fragile care")

    assert tag_names(order) == ["Fragile care"]
    assert "Tag “Fragile care” added to 1 order." in messages_of(done)


def test_bulk_remove_tag(client, product):
    order = place(product)
    vip = services.create_tag("VIP", actor=SYSTEM)
    services.tag_orders([order.pk], tag_id=vip.pk, actor=SYSTEM)
    signed_in(client, "Order reviewer")

    done = action(client, "remove_tag_selected", [order], confirm_action="yes", tag=vip.pk)

    assert tag_names(order) == []
    assert "Tag “VIP” removed from 1 order." in messages_of(done)


def test_the_list_filters_by_tag_and_shows_tags_in_one_query_per_page(client, product):
    tagged = [place(product) for _ in range(3)]
    plain = place(product)
    vip = services.create_tag("VIP", colour=OrderTag.Colour.RED, actor=SYSTEM)
    wrap = services.create_tag("Gift wrap", actor=SYSTEM)
    services.tag_orders([o.pk for o in tagged], tag_id=vip.pk, actor=SYSTEM)
    services.tag_orders([tagged[0].pk], tag_id=wrap.pk, actor=SYSTEM)
    signed_in(client, "Analyst")

    filtered = client.get(ORDER_LIST, {"tag": vip.pk})
    assert sorted(o.number for o in filtered.context["cl"].result_list) == sorted(o.number for o in tagged)
    assert plain.number not in filtered.content.decode()
    assert '<span class="oc-tag oc-tag-red">VIP</span>' in filtered.content.decode()

    with CaptureQueriesContext(connection) as queries:
        client.get(ORDER_LIST)
    tag_reads = [
        q["sql"] for q in queries.captured_queries if "orders_ordertag" in q["sql"] and "INNER JOIN" in q["sql"]
    ]
    assert len(tag_reads) == 1


def test_the_order_page_shows_its_tags(client, product):
    order = place(product)
    vip = services.create_tag("VIP", colour=OrderTag.Colour.BLUE, actor=SYSTEM)
    services.tag_orders([order.pk], tag_id=vip.pk, actor=SYSTEM)
    signed_in(client, "Customer service")

    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))

    assert '<span class="oc-tag oc-tag-blue">VIP</span>' in page.content.decode()


def test_tag_actions_are_hidden_from_roles_that_may_not_tag(client, product):
    place(product)
    signed_in(client, "Analyst")
    choices = dict(client.get(ORDER_LIST).context["action_form"].fields["action"].choices)
    assert not {"add_tag_selected", "remove_tag_selected"} & set(choices)


def test_a_finished_order_goes_to_the_archive_with_its_tags_and_carrier_choice(product):
    from logistics import services as logistics
    from logistics.models import CarrierChoice
    from orders.models import ArchivedOrder
    from tests.factories import CarrierServiceFactory, advance
    from tests.test_archive import finished_long_ago

    order = place(product)
    services.tag_orders([order.pk], name="VIP", actor=SYSTEM)
    logistics.choose_carrier_service([order.pk], CarrierServiceFactory(supports_cod=True).pk, actor=SYSTEM)
    order = advance(order, "completed")
    finished_long_ago(order)

    assert services.archive_finished_orders(actor=SYSTEM) == 1

    assert not OrderTagging.objects.exists() and not CarrierChoice.objects.exists()
    archived = ArchivedOrder.objects.get(pk=order.pk)
    assert len(archived.rows["orders.ordertagging"]) == 1
    assert len(archived.rows["logistics.carrierchoice"]) == 1


def test_managers_name_tags_in_the_console_and_others_may_not(client, product):
    signed_in(client, "Manager")
    client.post(reverse("admin:orders_ordertag_add"), {"name": "VIP", "colour": "red"})
    vip = OrderTag.objects.get()
    assert (vip.name, vip.colour) == ("VIP", "red")
    order = place(product)
    services.tag_orders([order.pk], tag_id=vip.pk, actor=SYSTEM)

    duplicate = client.post(reverse("admin:orders_ordertag_add"), {"name": "vip", "colour": "blue"})
    assert duplicate.status_code == 200 and OrderTag.objects.count() == 1
    client.post(reverse("admin:orders_ordertag_delete", args=[vip.pk]), {"post": "yes"})
    assert not OrderTag.objects.exists() and tag_names(order) == []

    signed_in(client, "Customer service")
    assert client.get(reverse("admin:orders_ordertag_add")).status_code == 403
