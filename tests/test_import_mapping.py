"""Reading marketplaces' order reports through import profiles: each built-in profile's report
comes out as the order template's rows (order numbers unguarded, masked phones as written, whole
addresses passed on, discounts worked out so each order costs what the buyer paid, closed orders
skipped and counted, unpaid ones with nothing paid); a report that changed (a column gone, a new
status word) or an items file without its orders file is refused before any row; bad profiles are
caught; and unknown headers and words get a suggested field or value."""

import copy

import pytest

from core.spreadsheets.problems import Problems
from orders.importers import mapping
from orders.importers.marketplaces import BUILT_IN_PROFILES, built_in_profile
from orders.importers.orders import _read
from tests import marketplace_samples as samples
from tests.marketplace_samples import csv_file, headers, xlsx_file

TEA, CUP = "TEA-001", "CUP-002"


def read(files, profile, *, max_rows=1000):
    problems = Problems()
    table = mapping.MappedTable(files, profile, "shop", problems, max_rows=max_rows)
    return table, list(table), problems.sorted()


def order_row(**values):
    return {"channel": "shop", "payment_method": "e_wallet", "express": "", **values}


TAOBAO_FIRST = {
    "channel_order_id": "2400000000000001",
    "order_date": "2026-05-01 10:00:00",
    "recipient": "张三",
    "phone": "138****8000",
    "province": "",
    "city": "",
    "district": "",
    "address": "浙江杭州西湖区文三路90号",
    "shipping_fee": "10.00",
    "note": "请尽快发货",
    "express": "yes",
    "discount": "5.00",
    "paid_amount": "135.00",
}


def test_every_built_in_profile_is_valid_and_has_a_stable_key():
    assert [profile["key"] for profile in BUILT_IN_PROFILES] == ["taobao", "jd", "pinduoduo", "douyin"]
    for profile in BUILT_IN_PROFILES:
        assert mapping.validate_profile(built_in_profile(profile["key"])) == [], profile["key"]


def test_taobao_order_and_item_reports_are_joined_by_order_number():
    table, rows, problems = read(samples.taobao_files(TEA, CUP), built_in_profile("taobao"))
    assert problems == []
    assert rows == [
        (2, order_row(**TAOBAO_FIRST, sku=TEA, quantity="2", unit_price="50.00")),
        (3, order_row(**TAOBAO_FIRST, sku=CUP, quantity="1", unit_price="30.00")),
        (
            4,
            order_row(
                channel_order_id="2400000000000002",
                order_date="2026-05-02 09:30:00",
                recipient="李四",
                phone="13900139000",
                province="",
                city="",
                district="",
                address="上海 浦东新区 张江路 1 号",
                shipping_fee="0.00",
                note="",
                sku=CUP,
                quantity="1",
                unit_price="30.00",
                discount="0.00",
                paid_amount="0",
            ),
        ),
    ]
    assert table.count == 4
    assert dict(table.skipped_by_status) == {"交易关闭": 1}
    assert table.names["phone"] == "ExportOrderList202605.csv › 联系手机"
    assert table.names["sku"] == "ExportOrderDetailList202605.csv › 商家编码"
    assert table.orders_rows["2400000000000001"] == 2


def test_an_item_whose_order_is_not_in_the_order_report_is_a_problem_on_its_row():
    table, rows, problems = read(samples.taobao_files(TEA, CUP, orphan_item=True), built_in_profile("taobao"))
    assert problems == [
        {
            "row": 6,
            "column": "channel_order_id",
            "message": "The order “2400000000000009” is not in the orders file “ExportOrderList202605.csv”; "
            "upload the orders file of the same period.",
        }
    ]
    assert [number for number, _row in rows] == [2, 3, 4]
    assert table.names["channel_order_id"] == "ExportOrderDetailList202605.csv › 订单编号"


def test_the_two_taobao_files_are_told_apart_by_their_headers_in_either_order():
    orders, items = samples.taobao_files(TEA, CUP)
    _table, rows, problems = read([items, orders], built_in_profile("taobao"))
    assert problems == []
    assert [number for number, _row in rows] == [2, 3, 4]
    profile = built_in_profile("taobao")
    assert mapping.assign_files(
        profile, [mapping.headers_of(items[1], items[0]), mapping.headers_of(orders[1], orders[0])]
    ) == {
        "orders": 1,
        "items": 0,
    }
    assert mapping.matches(profile, [headers(profile), headers(profile, "items")])
    assert not mapping.matches(profile, [headers(profile)])
    assert not mapping.matches(built_in_profile("jd"), [headers(profile), headers(profile, "items")])


def test_an_items_file_alone_is_refused_before_any_row():
    _orders, items = samples.taobao_files(TEA, CUP)
    table, rows, problems = read([items], built_in_profile("taobao"))
    assert rows == [] and table.count == 0 and not table.readable
    assert problems == [
        {
            "row": 1,
            "column": "",
            "message": "“ExportOrderDetailList202605.csv” is the items file of the profile "
            "“Taobao / Tmall seller order report (order report + item report)”; upload it together with its orders file.",
        }
    ]


def test_jd_rows_carry_the_order_on_every_item_row():
    table, rows, problems = read(samples.jd_file(TEA, CUP), built_in_profile("jd"))
    assert problems == []
    first = {
        "channel_order_id": "30000000001",
        "order_date": "2026-05-01 11:00:00",
        "recipient": "赵六",
        "phone": "13800138000",
        "province": "",
        "city": "",
        "district": "",
        "address": "上海 浦东新区 张江路 1 号",
        "shipping_fee": "6.00",
        "note": None,
        "discount": "10.00",
        "paid_amount": "135.00",
    }
    assert rows[:2] == [
        (2, order_row(**first, sku=TEA, quantity=1, unit_price="99.00")),
        (3, order_row(**first, sku=CUP, quantity=2, unit_price="20.00")),
    ]
    assert rows[2][0] == 4
    assert rows[2][1]["payment_method"] == "cod"
    assert rows[2][1]["address"] == "广东省深圳市南山区科技园路2号"
    assert rows[2][1]["paid_amount"] == "20.00"
    assert rows[3][0] == 6
    assert (rows[3][1]["channel_order_id"], rows[3][1]["paid_amount"]) == ("30000000004", "0")
    assert dict(table.skipped_by_status) == {"已取消": 1}


def test_an_order_amount_without_postage_has_the_shipping_added():
    profile = built_in_profile("jd")
    profile["order_amount_includes_shipping"] = False
    _table, rows, problems = read(samples.jd_file(TEA, CUP, amounts_include_shipping=False), profile)
    assert problems == []
    assert [(row["discount"], row["paid_amount"]) for _number, row in rows[:2]] == [("10.00", "135.00")] * 2


def test_pinduoduo_line_amounts_become_unit_prices_with_the_cents_left_in_the_discount():
    table, rows, problems = read(samples.pinduoduo_file(TEA, CUP), built_in_profile("pinduoduo"))
    assert problems == []
    place = {
        "province": "四川省",
        "city": "成都市",
        "district": "武侯区",
        "order_date": "2026-05-01 12:00:00",
        "note": "",
    }
    assert rows == [
        (
            2,
            order_row(
                **place,
                channel_order_id="250501-001",
                recipient="吴十",
                phone="1**********",
                address="玉林北路5号2单元",
                shipping_fee="0.00",
                sku=TEA,
                quantity="3",
                unit_price="19.90",
                discount="5.00",
                paid_amount="54.70",
            ),
        ),
        (
            3,
            order_row(
                **place,
                channel_order_id="250501-002",
                recipient="郑十一",
                phone="13300133000",
                address="科华北路6号",
                shipping_fee="5.00",
                sku=CUP,
                quantity="3",
                unit_price="33.34",
                discount="0.02",
                paid_amount="0",
                express="yes",
            ),
        ),
    ]
    assert dict(table.skipped_by_status) == {"已取消": 1}


def test_douyin_sub_orders_make_one_order_paid_as_the_lines_say():
    table, rows, problems = read(samples.douyin_file(TEA, CUP), built_in_profile("douyin"))
    assert problems == []
    first = {
        "channel_order_id": "6900000000000001",
        "order_date": "2026-05-01 20:00:00",
        "recipient": "陈十三",
        "phone": "139＊＊＊＊9000",
        "province": "湖北省",
        "city": "武汉市",
        "district": "洪山区",
        "address": "珞喻路8号",
        "shipping_fee": "8.00",
        "note": None,
        "discount": "8.00",
        "paid_amount": "108.00",
    }
    assert rows[:2] == [
        (2, order_row(**first, sku=TEA, quantity=1, unit_price="88.00")),
        (3, order_row(**first, sku=CUP, quantity=2, unit_price="10.00")),
    ]
    assert [(number, row["channel_order_id"], row["paid_amount"]) for number, row in rows[2:]] == [
        (4, "6900000000000002", "0")
    ]
    assert dict(table.skipped_by_status) == {"已关闭": 1}


def test_the_order_reader_takes_the_mapped_rows_as_it_takes_the_template():
    problems = Problems()
    table = mapping.MappedTable(
        samples.taobao_files(TEA, CUP), built_in_profile("taobao"), "shop", problems, max_rows=100
    )
    read_file = _read(table)
    assert read_file.problems.sorted() == []
    assert [(order.value("channel_order_id"), len(order.lines)) for order in read_file.orders] == [
        ("2400000000000001", 2),
        ("2400000000000002", 1),
    ]
    assert read_file.orders[0].value("payment_method") == "e_wallet"
    assert read_file.orders[0].lines == [(2, TEA, "2", "50.00"), (3, CUP, "1", "30.00")]


def test_a_report_missing_a_mapped_column_is_refused_before_any_row():
    profile = built_in_profile("jd")
    header = [name for name in headers(profile) if name != "联系电话"]
    files = [("jd.xlsx", xlsx_file(header, [{"订单号": "1", "订购数量": 1}]))]
    table, rows, problems = read(files, profile)
    assert rows == [] and table.count == 0
    assert problems == [
        {
            "row": 1,
            "column": "jd.xlsx › 联系电话",
            "message": "The column “联系电话” is missing from “jd.xlsx”, but the profile “JD seller order export” reads it; "
            "the marketplace may have changed its report.",
        }
    ]


def test_a_status_word_the_profile_does_not_know_is_a_problem_naming_it_and_its_column():
    profile = built_in_profile("pinduoduo")
    del profile["values"]["status"]["待发货"]
    _table, _rows, problems = read(samples.pinduoduo_file(TEA, CUP), profile)
    assert problems == [
        {
            "row": 2,
            "column": "status",
            "message": "The status “待发货” in column “订单状态” is not in the profile “Pinduoduo seller order export”; "
            "the marketplace may have changed its report. Say in the profile whether to import, import as unpaid or skip it.",
        }
    ]


def test_an_order_amount_above_its_lines_and_shipping_is_a_problem():
    profile = built_in_profile("pinduoduo")
    row = {"订单号": "9", "订单状态": "待发货", "商家编码-SKU维度": TEA, "商品数量(件)": "1", "商品总价(元)": "10.00"}
    row.update({"邮费(元)": "0", "用户实付金额(元)": "12.00", "收货人": "A", "手机": "13800138000"})
    _table, _rows, problems = read([("pdd.csv", csv_file(headers(profile), [row]))], profile)
    assert [(problem["row"], problem["column"]) for problem in problems] == [(2, "order_amount")]
    assert "do not add up" in problems[0]["message"]


def test_excel_guards_around_order_numbers_are_taken_off():
    profile = built_in_profile("pinduoduo")
    base = {
        "订单状态": "待发货",
        "商家编码-SKU维度": TEA,
        "商品数量(件)": "1",
        "商品总价(元)": "10",
        "用户实付金额(元)": "10",
    }
    rows = [{**base, "订单号": '="250501-009"'}, {**base, "订单号": "'250501-010"}, {**base, "订单号": "\t250501-011"}]
    _table, read_rows, _problems = read([("pdd.csv", csv_file(headers(profile), rows))], profile)
    assert [row["channel_order_id"] for _number, row in read_rows] == ["250501-009", "250501-010", "250501-011"]


def test_a_file_with_more_rows_than_allowed_stops_with_a_problem():
    table, _rows, problems = read(samples.douyin_file(TEA, CUP), built_in_profile("douyin"), max_rows=2)
    assert table.count == 3
    assert problems[-1]["row"] == 4 and "at most 2 rows" in problems[-1]["message"]


# --- Profiles people make ---------------------------------------------------------------------------


def broken(change):
    profile = copy.deepcopy(built_in_profile("jd"))
    change(profile)
    return mapping.validate_profile(profile)


def test_a_required_field_left_unmapped_is_named():
    assert broken(lambda profile: profile["files"]["orders"]["columns"].update({"联系电话": ""})) == [
        "Map a column to Phone: the import needs it."
    ]


def test_two_columns_mapped_to_one_field_are_both_named():
    assert broken(lambda profile: profile["files"]["orders"]["columns"].update({"应付金额": "order_amount"})) == [
        (
            "“结算金额” and “应付金额” are both mapped to Order amount (what the buyer pays for the order); "
            "map one of them to “not imported”."
        )
    ]


def test_an_items_file_without_an_orders_file_is_refused():
    profile = built_in_profile("taobao")
    del profile["files"]["orders"]
    messages = mapping.validate_profile(profile)
    assert (
        "The profile has an items file but no orders file: the items are joined to their orders by order number."
        in messages
    )


def test_an_items_file_without_its_order_number_is_refused():
    profile = built_in_profile("taobao")
    profile["files"]["items"]["columns"]["订单编号"] = ""
    assert mapping.validate_profile(profile) == [
        "The items file needs its order number column mapped to “Order number”: it joins each item to its order."
    ]


def test_unknown_fields_and_value_targets_are_named():
    assert broken(lambda profile: profile["values"]["payment_method"].update({"白条": "credit"})) == [
        "The Payment method “白条” is mapped to “credit”, which is not one of card, e_wallet, bank_transfer, cod, instalments."
    ]
    assert broken(lambda profile: profile["files"]["orders"]["columns"].update({"货号": "barcode"})) == [
        "The column “货号” is mapped to “barcode”, which is not a field an order has."
    ]


def test_an_address_must_be_whole_or_in_parts_not_both():
    assert broken(lambda profile: profile["files"]["orders"]["columns"].update({"订单类型": "province"})) == [
        "The address is mapped both as one cell (“客户地址”) and in parts (“订单类型”); map one or the other."
    ]
    assert broken(lambda profile: profile["files"]["orders"]["columns"].update({"客户地址": ""})) == [
        (
            "Map the address: one column to Full address (province, city, district and street in one cell), "
            "or columns to province, city and street (missing: Province, City, Street address)."
        )
    ]


# --- Suggestions ------------------------------------------------------------------------------------


def test_suggest_maps_english_and_chinese_headers():
    suggested = mapping.suggest(
        ["Order No.", "Consignee", "收件人手机", "详细收货地址", "Qty", "货品编码", "Unit Price", "物流单号", "备注"],
        {"详细收货地址": ["浙江杭州西湖区文三路90号", "上海 浦东新区 张江路 1 号"]},
    )
    assert suggested == {
        "Order No.": "channel_order_id",
        "Consignee": "recipient",
        "收件人手机": "phone",
        "详细收货地址": "full_address",
        "Qty": "quantity",
        "货品编码": "sku",
        "Unit Price": "unit_price",
        "物流单号": "",
        "备注": "note",
    }


def test_suggest_reads_columns_whose_header_says_nothing_from_their_values():
    suggested = mapping.suggest(
        ["A", "B", "C", "D", "E"],
        {
            "A": ["138****8000", "13900139000", "1**********"],
            "B": ["浙江杭州西湖区文三路90号", "上海 浦东新区 张江路 1 号"],
            "C": ["2026-05-01 10:00:00"],
            "D": ["交易关闭", "等待买家付款"],
            "E": ["龙井茶", "茶杯"],
        },
    )
    assert suggested == {"A": "phone", "B": "full_address", "C": "order_date", "D": "status", "E": ""}


def test_suggest_never_gives_one_field_to_two_columns():
    suggested = mapping.suggest(["电话", "手机", "X"], {"X": ["13800138000"]})
    assert suggested == {"电话": "phone", "手机": "", "X": ""}
    assert mapping.suggest(["商家编码-SKU维度", "商家编码-商品维度"]) == {
        "商家编码-SKU维度": "sku",
        "商家编码-商品维度": "",
    }


def test_a_street_column_beside_province_and_city_is_the_street():
    suggested = mapping.suggest(["省", "市", "区", "详细地址"], {"详细地址": ["浙江省杭州市文三路90号"]})
    assert suggested == {"省": "province", "市": "city", "区": "district", "详细地址": "address"}


def test_suggest_values_for_payment_status_and_delivery_words():
    assert mapping.suggest_values(
        "payment_method", ["支付宝", "微信支付", "花呗", "货到付款", "信用卡", "银行卡", "积分"]
    ) == {
        "支付宝": "e_wallet",
        "微信支付": "e_wallet",
        "花呗": "e_wallet",
        "货到付款": "cod",
        "信用卡": "card",
        "银行卡": "card",
        "积分": "",
    }
    assert mapping.suggest_values(
        "status",
        [
            "交易关闭",
            "已关闭",
            "已取消",
            "退款成功",
            "等待买家付款",
            "待付款",
            "等待卖家发货",
            "待发货",
            "买家已付款，等待卖家发货",
        ],
    ) == {
        "交易关闭": "skip",
        "已关闭": "skip",
        "已取消": "skip",
        "退款成功": "skip",
        "等待买家付款": "unpaid",
        "待付款": "unpaid",
        "等待卖家发货": "import",
        "待发货": "import",
        "买家已付款，等待卖家发货": "import",
    }
    assert mapping.suggest_values("delivery", ["顺丰速运", "SF Express", "京东物流", "中通快递", "某某物流"]) == {
        "顺丰速运": "express",
        "SF Express": "express",
        "京东物流": "express",
        "中通快递": "standard",
        "某某物流": "standard",
    }


def test_distinct_values_lists_a_columns_words_most_frequent_first():
    orders, _items = samples.taobao_files(TEA, CUP)
    assert mapping.distinct_values(orders[1], orders[0], "运送方式") == ["快递", "顺丰"]
    assert mapping.distinct_values(orders[1], orders[0], "no such column") == []


@pytest.mark.parametrize("key", ["taobao", "jd", "pinduoduo", "douyin"])
def test_a_built_in_profiles_own_headers_are_suggested_as_it_maps_them(key):
    profile = built_in_profile(key)
    for spec in profile["files"].values():
        mapped = {header: field for header, field in spec["columns"].items() if field}
        suggested = mapping.suggest(list(mapped))
        assert {header: suggested[header] for header in mapped} == mapped
