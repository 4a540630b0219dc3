"""The Simplified Chinese catalog: complete, compiled, in step with the code, and what a browser
asking for Chinese gets in the console (and a browser asking for English does not)."""

import ast
import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from core.roles import MANAGER, ROLE_LABELS, ROLES
from inventory.forms import AdjustForm
from orders import services
from orders.models import Order
from orders.services import checks
from tests.factories import ProductFactory, WarehouseFactory, place, staff, stock

CATALOG_DIR = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_FILE = CATALOG_DIR / "django.po"
MO_FILE = CATALOG_DIR / "django.mo"
ORDER_LIST = reverse("admin:orders_order_changelist")
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]+\}")
HTML_TAG = re.compile(r"</?[a-z][^>]*>")
# What `makemessages --ignore=.venv --ignore=bench --ignore=staticfiles` skips, and what it need not read.
NOT_SCANNED = (".venv", "bench", "staticfiles", ".git", "__pycache__", ".pytest_cache", "*.sqlite3")


def read_po(path):
    """The entries of a .po file as dicts: msgctxt, msgid, msgid_plural, msgstr (a list: one item,
    or one per plural form), flags, obsolete. Enough of the format for what makemessages writes."""
    entries, entry, key = [], None, None

    def start():
        return {"msgctxt": None, "msgid": None, "msgid_plural": None, "msgstr": [], "flags": set(), "obsolete": False}

    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry is not None and entry["msgid"] is not None:
                entries.append(entry)
            entry, key = None, None
            continue
        entry = entry or start()
        if line.startswith("#~"):
            entry["obsolete"] = True
            continue
        if line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        match = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr)(?:\[\d+\])?\s+(\".*\")$", line)
        if match:
            key, text = match.group(1), ast.literal_eval(match.group(2))
            if key == "msgstr":
                entry["msgstr"].append(text)
            else:
                entry[key] = text
        elif key == "msgstr":
            entry["msgstr"][-1] += ast.literal_eval(line)
        else:
            entry[key] += ast.literal_eval(line)
    return entries


def messages_of(path):
    return [entry for entry in read_po(path) if entry["msgid"]]


@pytest.fixture(autouse=True)
def _english_afterwards():
    """A request through LocaleMiddleware leaves its language active in this thread; put English
    back so later tests read the messages they expect."""
    yield
    translation.deactivate()


# The catalog ------------------------------------------------------------------------------------


def test_catalog_has_every_message_translated_and_nothing_fuzzy_or_obsolete():
    entries = read_po(PO_FILE)
    messages = [entry for entry in entries if entry["msgid"]]

    assert len(messages) > 400
    assert [e["msgid"] for e in messages if not e["msgstr"] or not all(e["msgstr"])] == []
    assert [e["msgid"] for e in entries if "fuzzy" in e["flags"]] == []
    assert [e["msgid"] for e in entries if e["obsolete"]] == []


def test_catalog_declares_the_single_chinese_plural_form():
    header = next(entry for entry in read_po(PO_FILE) if entry["msgid"] == "")

    assert "Plural-Forms: nplurals=1; plural=0;" in header["msgstr"][0]
    assert "Language: zh_Hans" in header["msgstr"][0]
    assert all(len(entry["msgstr"]) == 1 for entry in messages_of(PO_FILE) if entry["msgid_plural"])


def test_translations_keep_every_placeholder_and_html_tag():
    mismatched = []
    for entry in messages_of(PO_FILE):
        source = entry["msgid_plural"] or entry["msgid"]
        for translated in entry["msgstr"]:
            if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(translated)):
                mismatched.append((entry["msgid"], translated))
            if sorted(HTML_TAG.findall(source)) != sorted(HTML_TAG.findall(translated)):
                mismatched.append((entry["msgid"], translated))

    assert mismatched == []


def test_compiled_catalog_matches_the_po_file():
    """The .mo is committed for newcomers without gettext, so it must be rebuilt with every change."""
    with MO_FILE.open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)

    stale = []
    for entry in messages_of(PO_FILE):
        if entry["msgid_plural"]:
            found = catalog.ngettext(entry["msgid"], entry["msgid_plural"], 1)
        elif entry["msgctxt"]:
            found = catalog.pgettext(entry["msgctxt"], entry["msgid"])
        else:
            found = catalog.gettext(entry["msgid"])
        if found != entry["msgstr"][0]:
            stale.append(entry["msgid"])

    assert stale == []


@pytest.mark.gettext
def test_catalog_holds_exactly_the_messages_the_code_marks(tmp_path):
    """makemessages on a copy of the sources: any string marked for translation but missing from
    the catalog comes back untranslated (or fuzzy), any string the code dropped comes back obsolete."""
    project = tmp_path / "project"
    shutil.copytree(settings.BASE_DIR, project, ignore=shutil.ignore_patterns(*NOT_SCANNED))

    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-location"],
        cwd=project,
        check=True,
        capture_output=True,
    )

    entries = read_po(project / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
    assert [e["msgid"] for e in entries if e["msgid"] and not all(e["msgstr"] or [""])] == []
    assert [e["msgid"] for e in entries if "fuzzy" in e["flags"] and e["msgid"]] == []
    assert [e["msgid"] for e in entries if e["obsolete"]] == []
    assert len([e for e in entries if e["msgid"]]) == len(messages_of(PO_FILE))


# Messages in Chinese -----------------------------------------------------------------------------


def test_order_statuses_payment_methods_and_roles_read_in_chinese():
    with translation.override("zh-hans"):
        statuses = {value: str(label) for value, label in Order.Status.choices}
        roles = {name: str(ROLE_LABELS[name]) for name in [*ROLES, MANAGER]}
        cod = str(Order._meta.get_field("payment_method").choices[3][1])

    assert statuses["on_hold"] == "待审核"
    assert statuses["picking"] == "拣货中"
    assert statuses["delivered"] == "已签收"
    assert statuses["cancelled"] == "已取消"
    assert cod == "货到付款"
    assert roles == {
        "Order reviewer": "审核员",
        "Warehouse operator": "仓库操作员",
        "Logistics coordinator": "物流协调员",
        "Customer service": "客服",
        "Finance": "财务",
        "Analyst": "数据分析",
        "Buyer": "采购",
        "Manager": "经理",
    }


def test_hold_reasons_are_described_in_the_readers_language():
    reason = checks.reason("high_value", total="6000.00", threshold="5000.00")

    with translation.override("zh-hans"):
        chinese = checks.describe(reason)
    with translation.override("en"):
        english = checks.describe(reason)

    assert chinese == "订单金额 6000.00 超过 5000.00。"
    assert english == "Order value 6000.00 is over 5000.00."


@pytest.mark.django_db
def test_a_service_refusal_speaks_chinese_to_a_chinese_operator():
    product = ProductFactory()
    stock(product, WarehouseFactory(), 5)
    order = place(lines=[(product, 1)])
    manager = staff("Manager")

    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused:
        services.cancel(order.pk, actor=manager, reason="  ")

    assert refused.value.message_dict["reason"] == ["请填写原因，它将记入订单历史。"]


def test_stock_adjustment_label_does_not_replace_the_admins_own_change_link():
    """“Change” means two things: the admin's edit link (Django's catalog) and the units a stock
    adjustment books (ours, with a context). Ours must not override the admin's."""
    admins_edit_link = "Change"  # a variable, so makemessages does not take it for one of ours
    with translation.override("zh-hans"):
        adjustment_label = str(AdjustForm().fields["change"].label)
        admin_change = translation.gettext(admins_edit_link)

    assert adjustment_label == "变动数量"
    assert admin_change == "修改"


# The console, chosen by the browser's language ---------------------------------------------------


@pytest.fixture
def held(db):
    product = ProductFactory()
    stock(product, WarehouseFactory(), 10)
    # A card order that arrived paid in part is held for review.
    return place(lines=[(product, 1)], payment_method="card", paid_amount="1.00")


def test_order_list_in_chinese_for_a_browser_asking_for_chinese(client, held):
    client.force_login(staff("Manager"))

    content = client.get(ORDER_LIST, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert '<html lang="zh-hans"' in content
    assert '<span class="oc-badge oc-status-on_hold">待审核</span>' in content
    for heading in ("状态", "下单时间", "渠道", "收货人", "合计", "支付", "风险评分"):
        assert f">{heading}</a>" in content or f">{heading}</span>" in content, heading
    assert "审核队列" in content
    assert "Held for review" not in content


def test_a_browser_asking_for_zh_cn_gets_simplified_chinese(client, held):
    client.force_login(staff("Manager"))

    content = client.get(ORDER_LIST, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.8").content.decode()

    assert '<span class="oc-badge oc-status-on_hold">待审核</span>' in content


def test_order_list_stays_english_for_a_browser_asking_for_english(client, held):
    client.force_login(staff("Manager"))

    content = client.get(ORDER_LIST, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()

    assert '<span class="oc-badge oc-status-on_hold">Held for review</span>' in content
    assert "Review queue" in content
    assert "待审核" not in content
    assert "审核队列" not in content


def test_order_page_in_chinese_shows_steps_reasons_and_sections(client, held):
    client.force_login(staff("Manager"))

    content = client.get(
        reverse("admin:orders_order_change", args=[held.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()

    assert "转入人工审核的原因：" in content
    assert "已付 1.00，但订单总额为" in content
    assert ">审核通过</button>" in content
    for section in ("商品明细", "库存分配", "包裹", "收款记录", "配送", "订单动态与备注"):
        assert f"<h2>{section}</h2>" in content, section
