"""The order desk walked in a real browser, in both languages, as the issue asks: a manager holds
an order and releases it, edits it, splits another into a linked order, merges two orders of one
buyer from the merge queue, and makes the pick list that gives them one parcel
(docs/architecture.md, "Orders that wait", "Orders that change", "Merging orders")."""

import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from inventory.selectors import ledger_mismatches
from logistics.models import Shipment, ShipmentLine
from orders.models import Order, OrderEvent
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, place, staff, stock

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BUYER = {"phone": "13800138000", "address": "文三路 90 号"}


def order_page(order):
    return f"/admin/orders/order/{order.pk}/change/"


def signed_in_page(browser, live_server, language):
    client = Client()
    client.force_login(staff("Manager"))
    context = browser.new_context(base_url=live_server.url, locale="en-US" if language == "en" else "zh-CN")
    context.add_cookies(
        [
            {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url},
            {"name": "django_language", "value": language, "url": live_server.url},
        ]
    )
    page = context.new_page()
    problems = []
    page.on(
        "response", lambda response: response.status >= 400 and problems.append(f"{response.status} {response.url}")
    )
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    return context, page, problems


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_hold_edit_split_merge_and_pick_two_orders_into_one_parcel(browser, live_server, language):
    warehouse = WarehouseFactory()
    kettle, mug = ProductFactory(sku="KETTLE"), ProductFactory(sku="MUG")
    stock(kettle, warehouse, 20)
    stock(mug, warehouse, 20)
    channel = ChannelFactory()
    first = place(channel, lines=[(kettle, 1)], **BUYER)
    second = place(channel, lines=[(mug, 2)], **BUYER)
    other = place(channel, lines=[(kettle, 1), (mug, 3)], phone="13900139000", address="延安路 1 号")
    assert first.status == second.status == other.status == Order.Status.CONFIRMED
    context, page, problems = signed_in_page(browser, live_server, language)

    # Hold by hand with a reason, then release.
    page.goto(order_page(first))
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.locator(".oc-manual-hold summary").click()
    page.locator(".oc-manual-hold textarea, .oc-manual-hold input[name='reason']").first.fill("买家要求周五后发货")
    page.locator(".oc-manual-hold form button[type='submit']").click()
    expect(page.locator(".oc-manual-hold.oc-alert")).to_contain_text("买家要求周五后发货")
    assert Order.objects.get(pk=first.pk).manual_hold_reason == "买家要求周五后发货"
    page.locator(".oc-manual-hold form[action$='/release/'] button").click()
    expect(page.locator(".oc-manual-hold summary")).to_be_visible()
    assert Order.objects.get(pk=first.pk).manual_hold_reason == ""

    # Edit: two kettles instead of one; the total and the reservation follow.
    page.locator(f"a[href$='/{first.pk}/edit/']").click()
    page.locator(".oc-lines-table").first.locator("input[name$='quantity']").first.fill("2")
    page.locator(".oc-submit button[type='submit']").click()
    expect(page).to_have_url(re.compile(rf"/admin/orders/order/{first.pk}/change/"))
    edited = Order.objects.get(pk=first.pk)
    assert edited.lines.get().quantity == 2
    assert edited.subtotal == 2 * kettle.unit_price
    assert OrderEvent.objects.filter(order=edited, transition="edit").exists()

    # Split another buyer's order: the mugs go into a new linked order.
    page.goto(order_page(other))
    page.locator(f"a[href$='/{other.pk}/split/']").click()
    mug_line = other.lines.get(sku="MUG")
    page.locator(f"input[name='units-{mug_line.pk}']").fill("3")
    page.locator("input[type='radio'][value='new_order']").check()
    page.locator(".oc-submit button[type='submit']").click()
    split = Order.objects.get(split_from=other)
    assert list(split.lines.values_list("sku", "quantity")) == [("MUG", 3)]
    expect(page.get_by_role("link", name=split.number)).to_be_visible()

    # Merge the first buyer's two orders from the queue.
    page.goto("/admin/orders/order/merge-queue/")
    group = page.locator("#oc-merge-offered .oc-merge-group").filter(has_text=first.number)
    expect(group).to_contain_text(second.number)
    group.locator("button[type='submit']").click()
    expect(page.locator("#oc-merge-merged")).to_contain_text(first.number)
    first_merge = Order.objects.get(pk=first.pk).merge_id
    assert first_merge is not None and Order.objects.get(pk=second.pk).merge_id == first_merge

    # One pick list: one parcel carries both orders' goods.
    page.goto(f"/admin/logistics/pickwave/add/?orders={first.pk},{second.pk}")
    page.locator("form.oc-form button[type='submit']").click()
    parcels = Shipment.objects.filter(order__in=[first, second]) | Shipment.objects.filter(merge_id=first_merge)
    assert parcels.distinct().count() == 1
    parcel = parcels.first()
    assert sorted(ShipmentLine.objects.filter(shipment=parcel).values_list("order_line__sku", "quantity")) == [
        ("KETTLE", 2),
        ("MUG", 2),
    ]
    assert set(Order.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {
        Order.Status.PICKING
    }
    page.goto(order_page(second))
    expect(page.locator("body")).to_contain_text(first.number)

    assert list(ledger_mismatches()) == []
    assert problems == []
    context.close()
