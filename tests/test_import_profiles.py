"""Workbooks from elsewhere, end to end (docs/architecture.md, "Workbooks from elsewhere: import
profiles"): a marketplace's report is read through its shipped profile and imported; a workbook
with unknown headers waits for its columns to be mapped, the mapping is kept as the channel's
profile and the next file from there imports without questions; a bad mapping or half of a pair of
files is refused before anything is written; profiles are edited, exported and imported."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from core import jobs
from core.models import Job
from orders import importers
from orders.admin.import_mapping import profile_form, upload_mapping_form
from orders.importers.marketplaces import built_in_profile
from orders.models import Channel, ImportProfile, Order
from orders.services import import_profiles
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, staff, stock
from tests.marketplace_samples import douyin_file, jd_file, pinduoduo_file, taobao_files

pytestmark = pytest.mark.django_db

# A sign-up sheet no profile knows: English and Chinese headers of someone else's making.
UNKNOWN_HEADERS = ["Order No.", "Consignee", "收件人手机", "详细收货地址", "货品编码", "Qty", "付款方式"]


@pytest.fixture
def shop():
    warehouse = WarehouseFactory()
    tea = ProductFactory(sku="TEA", unit_price=Decimal("50.00"))
    cup = ProductFactory(sku="CUP", unit_price=Decimal("30.00"))
    stock(tea, warehouse, 100)
    stock(cup, warehouse, 100)
    return {"tea": tea, "cup": cup}


@pytest.fixture
def tmall():
    return ChannelFactory(code="tmall", name="Tmall", kind=Channel.Kind.MARKETPLACE)


@pytest.fixture
def manager():
    # Marketplace reports carry the prices sold at; setting prices needs the price permission.
    return staff("Manager")


def sheet(rows, headers=UNKNOWN_HEADERS):
    workbook = Workbook()
    workbook.active.append(headers)
    for row in rows:
        workbook.active.append(row)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def sign_up_sheet(first_id="G-1"):
    return sheet(
        [
            [first_id, "王小明", "139 1234 5678", "浙江杭州西湖区文三路90号", "TEA", 2, "货到付款"],
            [first_id, "王小明", "139 1234 5678", "浙江杭州西湖区文三路90号", "CUP", 1, "货到付款"],
            [f"{first_id}-B", "李小红", "13800138000", "上海 浦东新区 张江路 1 号", "CUP", 3, "对公转账"],
        ]
    )


def start(files, *, actor, channel):
    (name, content), *more = files
    return importers.start_order_import(file_name=name, content=content, actor=actor, channel=channel, more_files=more)


def check_and_import(files, *, actor, channel):
    job = start(files, actor=actor, channel=channel)
    assert not importers.needs_mapping(job), job.parameters
    checked = importers.check_order_import(job.pk)
    assert checked.status == jobs.Status.PREVIEWED, checked.errors
    queued = importers.confirm_order_import(checked.pk, actor=actor)
    done = importers.import_order_file(queued.pk)
    assert done.status == jobs.Status.DONE, done.errors
    return done


def orders_of(channel):
    return {order.channel_order_id: order for order in Order.objects.filter(channel=channel)}


# --- the shipped marketplace profiles -------------------------------------------------------------


def test_taobao_order_and_items_reports_import_as_their_orders(shop, tmall, manager):
    done = check_and_import(taobao_files("TEA", "CUP"), actor=manager, channel=tmall)

    placed = orders_of(tmall)
    assert set(placed) == {"2400000000000001", "2400000000000002"}
    paid = placed["2400000000000001"]
    assert (paid.province, paid.city, paid.district, paid.address) == ("浙江省", "杭州市", "西湖区", "文三路90号")
    assert paid.phone == "138****8000"
    assert [(line.sku, line.quantity) for line in paid.lines.order_by("pk")] == [("TEA", 2), ("CUP", 1)]
    assert (paid.total, paid.shipping_fee, paid.amount_paid) == (Decimal("135.00"), Decimal("10.00"), Decimal("135.00"))
    assert paid.express_requested
    assert paid.status == Order.Status.CONFIRMED, paid.hold_reasons
    assert placed["2400000000000002"].status == Order.Status.AWAITING_PAYMENT
    assert placed["2400000000000002"].city == "上海市"
    assert done.summary["skipped_by_status"] == {"交易关闭": 1}
    assert done.summary["profile"]


def test_taobao_reports_are_recognised_whichever_is_uploaded_first(shop, tmall, manager):
    orders_report, items_report = taobao_files("TEA", "CUP")

    check_and_import([items_report, orders_report], actor=manager, channel=tmall)

    assert set(orders_of(tmall)) == {"2400000000000001", "2400000000000002"}


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (jd_file, {"30000000001", "30000000002", "30000000004"}),
        (pinduoduo_file, {"250501-001", "250501-002"}),
        (douyin_file, {"6900000000000001", "6900000000000002"}),
    ],
)
def test_one_file_marketplace_reports_import_their_open_orders(shop, tmall, manager, build, expected):
    check_and_import(build("TEA", "CUP"), actor=manager, channel=tmall)

    placed = orders_of(tmall)
    assert set(placed) == expected
    for order in placed.values():
        assert order.province and order.city and order.address, order
        assert not any(reason["code"].startswith("region_") for reason in order.hold_reasons)


def test_jd_order_keeps_the_amount_the_buyer_settled(shop, tmall, manager):
    check_and_import(jd_file("TEA", "CUP"), actor=manager, channel=tmall)

    first = orders_of(tmall)["30000000001"]
    assert first.total == Decimal("135.00")
    assert first.payment_method == "e_wallet"
    assert orders_of(tmall)["30000000002"].payment_method == "cod"


def test_items_report_alone_is_refused_naming_the_file_to_add(shop, tmall, manager):
    _orders_report, items_report = taobao_files("TEA", "CUP")

    job = start([items_report], actor=manager, channel=tmall)

    assert job.status == jobs.Status.FAILED
    assert "order report" in job.errors[0]["message"]
    assert items_report[0] in job.errors[0]["message"]
    assert not Order.objects.exists()


def test_marketplace_file_without_a_channel_asks_for_one_on_the_mapping_page(client, shop, tmall, manager):
    job = start(jd_file("TEA", "CUP"), actor=manager, channel=None)

    assert importers.needs_mapping(job)
    client.force_login(manager)
    page = client.get(reverse("admin:orders_order_import_map", args=[job.pk])).text
    # The file is recognised: its columns start on the JD profile's fields, the channel is asked for.
    assert '<option value="channel_order_id" selected>' in page
    assert 'name="channel"' in page


# --- mapping a workbook the console does not know -------------------------------------------------


def initial_data(form):
    data = {}
    for name, field in form.fields.items():
        value = form.get_initial_for_field(field, name)
        data[name] = value.pk if hasattr(value, "pk") else value
    return data


def upload(client, content, *, channel, name="group-buy.xlsx"):
    file = io.BytesIO(content)
    file.name = name
    return client.post(reverse("admin:orders_order_import"), {"file": file, "channel": channel.pk if channel else ""})


def test_unknown_workbook_is_mapped_once_and_the_next_one_imports_without_questions(client, shop, manager):
    group_buy = ChannelFactory(code="group", name="Group buy", kind=Channel.Kind.EXCEL)
    client.force_login(manager)

    response = upload(client, sign_up_sheet(), channel=group_buy)

    job = Job.objects.get()
    assert response.url == reverse("admin:orders_order_import_map", args=[job.pk])
    assert importers.needs_mapping(job)
    form = response_form(client, job)
    suggested = {
        form.fields[name].label: value for name, value in initial_data(form).items() if name.startswith("column-")
    }
    assert suggested == {
        "Order No.": "channel_order_id",
        "Consignee": "recipient",
        "收件人手机": "phone",
        "详细收货地址": "full_address",
        "货品编码": "sku",
        "Qty": "quantity",
        "付款方式": "payment_method",
    }
    # The payment column's words are asked about too, with what each most likely means.
    words = {form.fields[name].label: value for name, value in initial_data(form).items() if name.startswith("word-")}
    assert words == {"货到付款": "cod", "对公转账": "bank_transfer"}
    page = client.get(reverse("admin:orders_order_import_map", args=[job.pk])).text
    assert "货到付款" in page and "Consignee" in page and "浙江杭州西湖区文三路90号" in page

    response = client.post(
        reverse("admin:orders_order_import_map", args=[job.pk]), {**initial_data(form), "name": "Group-buy sheet"}
    )

    assert response.status_code == 302, response.context and response.context["form"].errors
    profile = ImportProfile.objects.get()
    assert (profile.channel, profile.name) == (group_buy, "Group-buy sheet")
    assert profile.definition["values"]["payment_method"] == {"货到付款": "cod", "对公转账": "bank_transfer"}
    job.refresh_from_db()
    assert job.status == jobs.Status.PREVIEWED, job.errors
    assert job.summary["to_create"] == 2
    client.post(reverse("admin:orders_order_import_confirm", args=[job.pk]))
    placed = orders_of(group_buy)
    assert placed["G-1"].district == "西湖区" and placed["G-1"].payment_method == "cod"
    assert placed["G-1-B"].payment_method == "bank_transfer"

    again = upload(client, sign_up_sheet("G-2"), channel=group_buy, name="group-buy-week-2.xlsx")

    second = Job.objects.latest("pk")
    assert again.url == reverse("admin:orders_order_import_job", args=[second.pk])
    assert second.status == jobs.Status.PREVIEWED and second.summary["to_create"] == 2
    assert second.parameters["profile_id"] == profile.pk


def response_form(client, job, data=None):
    return upload_mapping_form(Job.objects.get(pk=job.pk), data)


def test_mapping_without_a_required_field_is_refused_and_nothing_is_kept(client, shop, manager):
    group_buy = ChannelFactory(code="group", name="Group buy", kind=Channel.Kind.EXCEL)
    client.force_login(manager)
    upload(client, sign_up_sheet(), channel=group_buy)
    job = Job.objects.get()
    data = {**initial_data(response_form(client, job)), "name": "Sheet"}
    sku_column = next(name for name, value in data.items() if value == "sku")
    data[sku_column] = ""

    page = client.post(reverse("admin:orders_order_import_map", args=[job.pk]), data)

    assert page.status_code == 200
    assert "SKU" in page.text
    assert not ImportProfile.objects.exists()
    assert importers.needs_mapping(Job.objects.get())


def test_two_columns_on_one_field_are_named_and_refused(client, shop, manager):
    group_buy = ChannelFactory(code="group", name="Group buy", kind=Channel.Kind.EXCEL)
    client.force_login(manager)
    upload(client, sign_up_sheet(), channel=group_buy)
    job = Job.objects.get()
    data = {**initial_data(response_form(client, job)), "name": "Sheet"}
    name_column = next(name for name, value in data.items() if value == "recipient")
    phone_column = next(name for name, value in data.items() if value == "phone")
    data[phone_column] = "recipient"
    data[name_column] = "recipient"

    page = client.post(reverse("admin:orders_order_import_map", args=[job.pk]), data)

    assert page.status_code == 200
    assert "Consignee" in page.text and "收件人手机" in page.text
    assert not ImportProfile.objects.exists()


# --- profiles in the console ----------------------------------------------------------------------


def test_profile_is_exported_and_imported_for_another_channel(client, shop, tmall, manager):

    kept = import_profiles.save_profile(
        channel=tmall, name="JD report", definition=built_in_profile("jd"), actor=manager, based_on="jd"
    )
    client.force_login(manager)
    exported = client.get(reverse("admin:orders_importprofile_export", args=[kept.pk]))
    assert json.loads(exported.content)["files"] == kept.definition["files"]
    other = ChannelFactory(code="jd", name="JD", kind=Channel.Kind.MARKETPLACE)
    file = io.BytesIO(exported.content)
    file.name = "JD report.json"

    client.post(reverse("admin:orders_importprofile_import"), {"channel": other.pk, "file": file})

    copied = ImportProfile.objects.get(channel=other)
    assert copied.name == "JD report"
    assert copied.definition["values"] == kept.definition["values"]


def test_a_file_that_is_not_a_profile_is_refused(client, tmall, manager):
    client.force_login(manager)
    file = io.BytesIO(b'{"columns": {}}')
    file.name = "other.json"

    page = client.post(reverse("admin:orders_importprofile_import"), {"channel": tmall.pk, "file": file})

    assert page.status_code == 200
    assert "not a profile exported from the console" in page.text
    assert not ImportProfile.objects.exists()


def test_profile_edited_in_the_console_reads_the_next_file_its_new_way(client, shop, tmall, manager):

    kept = import_profiles.save_profile(channel=tmall, name="JD", definition=built_in_profile("jd"), actor=manager)
    kept.refresh_from_db()
    client.force_login(manager)
    data = initial_data(profile_form(kept))
    word = next(name for name, field in profile_form(kept).fields.items() if field.label == "货到付款")
    data[word] = "card"

    response = client.post(reverse("admin:orders_importprofile_change", args=[kept.pk]), data)

    assert response.status_code == 302
    kept.refresh_from_db()
    assert kept.definition["values"]["payment_method"]["货到付款"] == "card"
    check_and_import(jd_file("TEA", "CUP"), actor=manager, channel=tmall)
    assert orders_of(tmall)["30000000002"].payment_method == "card"


def test_a_column_newly_mapped_to_payment_asks_what_its_words_mean_before_saving(client, shop, manager):
    group_buy = ChannelFactory(code="group", name="Group buy", kind=Channel.Kind.EXCEL)
    client.force_login(manager)
    upload(client, sign_up_sheet(), channel=group_buy)
    job = Job.objects.get()
    columns_only = {
        name: value for name, value in initial_data(response_form(client, job)).items() if not name.startswith("word-")
    }

    page = client.post(reverse("admin:orders_order_import_map", args=[job.pk]), {**columns_only, "name": "Sheet"})

    assert page.status_code == 200
    assert "Say what each word of the Payment method column means: 货到付款、对公转账." in page.text
    assert not ImportProfile.objects.exists()


def renamed_column(files, old, new):
    """A marketplace's report after it renamed one of its columns."""
    (name, content), *_rest = files
    workbook = load_workbook(io.BytesIO(content))
    for cell in workbook.active[1]:
        if cell.value == old:
            cell.value = new
    output = io.BytesIO()
    workbook.save(output)
    return [(name, output.getvalue())]


def test_a_report_whose_column_was_renamed_says_so_and_its_new_mapping_replaces_the_profile(
    client, shop, tmall, manager
):
    kept = import_profiles.save_profile(channel=tmall, name="JD", definition=built_in_profile("jd"), actor=manager)
    changed = renamed_column(jd_file("TEA", "CUP"), "客户地址", "收货地址")

    job = start(changed, actor=manager, channel=tmall)

    assert importers.needs_mapping(job)
    assert job.parameters["missing_headers"] == ["客户地址"]
    client.force_login(manager)
    page = client.get(reverse("admin:orders_order_import_map", args=[job.pk])).text
    assert "客户地址" in page and "the marketplace may have changed its report" in page
    form = response_form(client, job)
    data = initial_data(form)
    assert {form.fields[name].label: value for name, value in data.items() if value == "sku"} == {"商家SKUID": "sku"}
    renamed = next(name for name in data if name.startswith("column-") and form.fields[name].label == "收货地址")
    data[renamed] = "full_address"

    response = client.post(reverse("admin:orders_order_import_map", args=[job.pk]), {**data, "name": "JD"})

    assert response.status_code == 302
    kept.refresh_from_db()
    assert kept.definition["files"]["orders"]["columns"]["收货地址"] == "full_address"
    assert "客户地址" not in kept.definition["files"]["orders"]["columns"]
    assert ImportProfile.objects.count() == 1
    assert Job.objects.get(pk=job.pk).status == jobs.Status.PREVIEWED


def test_the_errors_copy_of_a_two_file_report_is_its_items_report_with_the_errors_beside_its_rows(
    client, shop, tmall, manager
):
    orders_report, items_report = taobao_files("TEA", "NOPE")
    job = importers.check_order_import(start([orders_report, items_report], actor=manager, channel=tmall).pk)
    assert job.status == jobs.Status.FAILED
    client.force_login(manager)

    response = client.get(reverse("admin:orders_order_import_errors", args=[job.pk]))

    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('ExportOrderDetailList202605-errors.csv"')
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][-1].startswith("errors / 错误")
    assert "NOPE" in rows[2][-1] and rows[1][-1] == ""
