"""The dashboard in headless Chromium: it fits the screen in both languages, its charts carry their
labels as text, and printing leaves out the controls and shows every table whole."""

import pytest

from tests.factories import staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WEEK = "/admin/?range=custom&start=2025-03-08&end=2025-03-14"

LAYOUT = """() => {
  const content = document.querySelector("#content");
  const charts = [...document.querySelectorAll("svg.oc-chart")];
  return {
    overflow: content.scrollWidth - content.clientWidth,
    page: document.documentElement.scrollWidth - window.innerWidth,
    charts: charts.length,
    narrowest: Math.min(...charts.map(svg => svg.getBoundingClientRect().width)),
    labels: charts.flatMap(svg => [...svg.querySelectorAll("text")].map(t => t.textContent)),
  };
}"""

PRINTED = """() => ({
  filters: getComputedStyle(document.querySelector("#dashboard-filters")).display,
  excel: getComputedStyle(document.querySelector(".oc-dash-excel")).display,
  header: getComputedStyle(document.querySelector("#header")).display,
  clipped: [...document.querySelectorAll(".oc-dash-table-scroll")]
    .filter(box => box.scrollHeight > box.clientHeight + 1).length,
})"""


def signed_in_page(browser, live_server, locale, width):
    manager = staff("Manager", username=f"mia_{locale}_{width}")
    context = browser.new_context(base_url=live_server.url, locale=locale, viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto("/admin/login/")
    page.fill("#id_username", manager.username)
    page.fill("#id_password", "pw")
    page.click("#login-form [type=submit]")
    return context, page


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_dashboard_fits_a_1280_screen_with_its_charts_labelled_in_text(
    browser, live_server, dashboard_week, locale
):
    context, page = signed_in_page(browser, live_server, locale, 1280)
    page.goto(WEEK)
    layout = page.evaluate(LAYOUT)
    context.close()

    assert layout["overflow"] <= 0 and layout["page"] <= 0, layout
    assert layout["charts"] == 9
    assert layout["narrowest"] >= 300
    assert "手机 App" in layout["labels"] and "浙江省" in layout["labels"]


MARGIN_AND_STOCK = """() => ({
  margin: document.querySelector('[data-figure="gross_margin"] .oc-figure-value').textContent.trim(),
  rate: document.querySelector('[data-figure="gross_margin_rate"] .oc-figure-value').textContent.trim(),
  stock: [...document.querySelectorAll("#dash-stock tbody tr")].map(row => [...row.cells].map(c => c.textContent.trim())),
  heading: document.querySelector("#dash-figures h2").textContent.trim(),
})"""


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_manager_reads_the_gross_margin_and_the_stock_value_per_warehouse(
    browser, live_server, dashboard_week, locale
):
    context, page = signed_in_page(browser, live_server, locale, 1280)
    page.goto(WEEK)
    shown = page.evaluate(MARGIN_AND_STOCK)
    context.close()

    assert shown["heading"] == {"en-US": "Key figures", "zh-CN": "核心指标"}[locale]
    # o1, the week's one delivered order: A × 2 sold for 50.00, bought at 10.00 each.
    assert (shown["margin"], shown["rate"]) == ("30.00", "60.0 %")
    north, south = dashboard_week["north"], dashboard_week["south"]
    # Each language groups thousands its own way.
    grouped = {"en-US": "{:,.2f}", "zh-CN": "{:.2f}"}[locale].format
    assert [cells[1:] for cells in shown["stock"]] == [
        ["197", grouped(1970)],
        ["99", grouped(990)],
        ["296", grouped(2960)],
    ]
    assert [cells[0] for cells in shown["stock"][:2]] == [f"{north.code} · 北仓", f"{south.code} · 南仓"]


def test_printing_leaves_out_the_controls_and_shows_every_table_whole(browser, live_server, dashboard_week):
    context, page = signed_in_page(browser, live_server, "zh-CN", 1280)
    page.goto(WEEK)
    page.emulate_media(media="print")
    printed = page.evaluate(PRINTED)
    pdf = page.pdf(format="A4")
    context.close()

    assert printed == {"filters": "none", "excel": "none", "header": "none", "clipped": 0}
    assert pdf.startswith(b"%PDF")


def test_typing_a_date_chooses_a_custom_period(browser, live_server, dashboard_week):
    context, page = signed_in_page(browser, live_server, "en-US", 1280)
    page.goto("/admin/")
    page.fill("#id_start", "2025-03-08")
    page.fill("#id_end", "2025-03-14")
    page.click("#dashboard-filters button[type=submit]")
    text = page.inner_text(".oc-dash-period")
    context.close()

    assert "2025-03-08 to 2025-03-14 (7 days)" in text
