"""The inventory page in headless Chromium, in English and Chinese: a manager recomputes the figures,
sees the ABC split and stock value drawn as charts that fit the screen, narrows the page to one
warehouse and downloads the workbook."""

from datetime import timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from tests.factories import ProductFactory, WarehouseFactory, place_apart, staff, stock

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGE = "/admin/planning/inventorysnapshot/"

LAYOUT = """() => {
  const content = document.querySelector("#content");
  const charts = [...document.querySelectorAll("svg.oc-chart")];
  return {
    overflow: content.scrollWidth - content.clientWidth,
    charts: charts.length,
    narrowest: Math.min(...charts.map(svg => svg.getBoundingClientRect().width)),
    labels: charts.flatMap(svg => [...svg.querySelectorAll("text")].map(t => t.textContent)),
    lang: document.documentElement.lang,
  };
}"""


@pytest.fixture
def shop():
    hangzhou = WarehouseFactory(code="HZ", name="杭州仓")
    shanghai = WarehouseFactory(code="SH", name="上海仓")
    best, slow, dead = (
        ProductFactory(sku=sku, unit_price=Decimal("10.00"), cost=Decimal("4.00")) for sku in ("BEST", "SLOW", "DEAD")
    )
    for product in (best, slow, dead):
        stock(product, hangzhou, 100)
    stock(dead, shanghai, 20)
    placed_at = timezone.now() - timedelta(days=5)
    place_apart(lines=[(best, 40)], placed_at=placed_at)
    place_apart(lines=[(slow, 10)], placed_at=placed_at)
    return shanghai


def signed_in(browser, live_server, locale):
    manager = staff("Manager", username=f"mia_{locale}")
    context = browser.new_context(
        base_url=live_server.url, locale=locale, viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    page.goto("/admin/login/")
    page.fill("#id_username", manager.username)
    page.fill("#id_password", "pw")
    page.click("#login-form [type=submit]")
    return context, page


@pytest.mark.parametrize(("locale", "lang", "home"), [("en-US", "en", "Home"), ("zh-CN", "zh-hans", "首页")])
def test_a_manager_recomputes_reads_the_charts_filters_and_downloads(browser, live_server, shop, locale, lang, home):
    context, page = signed_in(browser, live_server, locale)
    page.goto(PAGE)
    assert page.locator("#inventory-empty").is_visible()

    page.click("#inventory-recompute button")
    page.wait_for_selector("#inventory-figures")
    layout = page.evaluate(LAYOUT)
    breadcrumbs = page.locator(".breadcrumbs").inner_text()
    classes = page.locator("#inventory-classes tbody tr").all_inner_texts()
    dead = page.locator("#inventory-dead tbody tr").all_inner_texts()

    page.select_option("#id_warehouse", str(shop.pk))
    page.click("#inventory-filters [type=submit]")
    page.wait_for_url(f"**warehouse={shop.pk}")
    filtered_dead = page.locator("#inventory-dead tbody tr").all_inner_texts()
    with page.expect_download() as download:
        page.click("#inventory-excel")
    with open(download.value.path(), "rb") as downloaded:
        book = load_workbook(BytesIO(downloaded.read()))
    file_name = download.value.suggested_filename
    context.close()

    assert layout["lang"] == lang and home in breadcrumbs
    assert layout["overflow"] <= 0, layout
    assert layout["charts"] == 3 and layout["narrowest"] >= 300
    assert "HZ · 杭州仓" in layout["labels"] and "SH · 上海仓" in layout["labels"]
    assert [row.split("\t")[:2] for row in classes] == [["A", "1"], ["B", "1"], ["C", "1"]]
    assert len(dead) == 2 and all("DEAD" in row for row in dead)
    assert len(filtered_dead) == 1 and "SH" in filtered_dead[0]
    assert file_name.startswith("inventory-") and file_name.endswith("-SH.xlsx")
    assert [row[0] for row in book.worksheets[4].iter_rows(min_row=2, values_only=True)] == ["DEAD"]
