"""Mapping a workbook the console does not know, in a real browser, in English and in Chinese
(docs/architecture.md, "Workbooks from elsewhere: import profiles"): a service agent uploads a
group-buy sign-up sheet, checks the suggested columns and words, saves the profile, imports the
orders, and uploads next week's sheet from the same channel without a question."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.models import Channel, ImportProfile, Order
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, staff, stock
from tests.test_browser_jobs import signed_in_page
from tests.test_import_profiles import sign_up_sheet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_MS = 10_000
expect.set_options(timeout=WAIT_MS)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Words of each language the pages say: the mapping page's button, the preview's, the done card's.
WORDS = {
    "en": ("Save the profile and check the file", "Import 2 orders", "Imported"),
    "zh-hans": ("保存映射方案并检查文件", "导入 2 个订单", "已导入"),
}


@pytest.fixture
def group_buy():
    warehouse = WarehouseFactory()
    stock(ProductFactory(sku="TEA", unit_price=Decimal("50.00")), warehouse, 100)
    stock(ProductFactory(sku="CUP", unit_price=Decimal("30.00")), warehouse, 100)
    return ChannelFactory(code="group", name="团购", kind=Channel.Kind.EXCEL)


def upload(page, channel, content, name):
    page.goto("/admin/orders/order/import/")
    page.locator("select[name=channel]").select_option(str(channel.pk))
    page.locator("input[name=file]").set_input_files({"name": name, "mimeType": XLSX, "buffer": content})
    page.locator(".oc-import-upload button[type=submit]").click()


@pytest.mark.parametrize("language", WORDS)
def test_an_agent_maps_an_unknown_sheet_once_and_the_next_one_imports_without_questions(
    browser, live_server, group_buy, language
):
    agent = staff("Customer service", username=f"agent-{language}")
    page, problems = signed_in_page(browser, live_server, agent, language)
    save, import_button, imported = WORDS[language]

    upload(page, group_buy, sign_up_sheet(), "团购报名表-第1周.xlsx")

    expect(page.locator(".oc-import-mapping")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", language)
    consignee = page.locator("tr", has=page.locator("th", has_text="Consignee")).locator("select")
    expect(consignee).to_have_value("recipient")
    address = page.locator("tr", has=page.locator("th", has_text="详细收货地址"))
    expect(address).to_contain_text("浙江杭州西湖区文三路90号")
    expect(address.locator("select")).to_have_value("full_address")
    transfer = page.locator(".oc-mapping-words tr", has=page.locator("th", has_text="对公转账")).locator("select")
    expect(transfer).to_have_value("bank_transfer")
    page.locator("input[name=name]").fill("团购报名表")
    page.get_by_role("button", name=save).click()

    page.get_by_role("button", name=import_button).click()
    expect(page.locator(".oc-import-done")).to_contain_text(imported)
    placed = Order.objects.get(channel=group_buy, channel_order_id="G-1")
    assert (placed.province, placed.city, placed.district) == ("浙江省", "杭州市", "西湖区")
    assert ImportProfile.objects.get().name == "团购报名表"

    upload(page, group_buy, sign_up_sheet("G-2"), "团购报名表-第2周.xlsx")

    expect(page.get_by_role("button", name=import_button)).to_be_visible()
    expect(page.locator(".oc-import-mapping")).to_have_count(0)
    expect(page.locator(".oc-facts")).to_contain_text("团购报名表")
    assert problems == []


def test_the_mapping_form_fits_a_handheld_its_columns_table_scrolling_on_its_own(browser, live_server, group_buy):
    agent = staff("Customer service", username="agent-narrow")
    page, problems = signed_in_page(browser, live_server, agent, "zh-hans")
    page.set_viewport_size({"width": 390, "height": 844})

    upload(page, group_buy, sign_up_sheet(), "团购报名表.xlsx")

    expect(page.locator(".oc-import-mapping")).to_be_visible()
    # What sticks out of the screen in the mapping form, outside the columns table's own scroller.
    sticking_out = page.evaluate(
        """() => [...document.querySelectorAll('.oc-import-mapping *')]
            .filter(element => !element.closest('.oc-table-wrap'))
            .filter(element => element.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
            .map(element => element.tagName + '.' + element.className)"""
    )
    assert sticking_out == []
    assert problems == []
