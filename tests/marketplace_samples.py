"""Order reports as the marketplaces' seller back offices write them, built in each built-in
profile's format (orders/importers/marketplaces.py) around SKUs the test passes in: several items
of one order on several rows, closed and unpaid orders, masked phones, whole addresses in one cell
(with and without spaces, the province shortened), order numbers written as ="…" so Excel keeps
them whole, and Taobao's two GB18030 CSV files joined by order number."""

import csv
import io

from openpyxl import Workbook

from orders.importers.marketplaces import DOUYIN, JD, PINDUODUO, TAOBAO


def headers(profile, file_key="orders"):
    return list(profile["files"][file_key]["columns"])


def csv_file(header, rows, *, encoding="utf-8-sig"):
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(name, "") for name in header])
    return output.getvalue().encode(encoding)


def xlsx_file(header, rows):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(name) for name in header])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def taobao_files(sku_a, sku_b, *, orphan_item=False, encoding="gb18030"):
    """The order report and the item report: order 2400000000000001 (two items, paid, postage,
    a masked phone, an address without spaces or 省), 2400000000000002 (unpaid, an address with
    spaces), 2400000000000003 (closed). `orphan_item` adds an item of an order that is not in the
    order report."""
    orders = [
        {
            "订单编号": '="2400000000000001"',
            "买家会员名": "tb_buyer1",
            "买家应付货款": "125.00",
            "买家应付邮费": "10.00",
            "总金额": "135.00",
            "买家实际支付金额": "135.00",
            "订单状态": "买家已付款，等待卖家发货",
            "买家留言": "请尽快发货",
            "收货人姓名": "张三",
            "收货地址": "浙江杭州西湖区文三路90号",
            "运送方式": "顺丰",
            "联系手机": "138****8000",
            "订单创建时间": "2026-05-01 10:00:00",
            "宝贝总数量": "3",
        },
        {
            "订单编号": '="2400000000000002"',
            "买家应付邮费": "0.00",
            "总金额": "30.00",
            "买家实际支付金额": "0.00",
            "订单状态": "等待买家付款",
            "收货人姓名": "李四",
            "收货地址": "上海 浦东新区 张江路 1 号",
            "运送方式": "快递",
            "联系手机": "13900139000",
            "订单创建时间": "2026-05-02 09:30:00",
        },
        {
            "订单编号": '="2400000000000003"',
            "买家应付邮费": "0.00",
            "总金额": "30.00",
            "订单状态": "交易关闭",
            "收货人姓名": "王五",
            "收货地址": "北京 北京市 朝阳区 建国路 8 号",
            "运送方式": "快递",
            "联系手机": "13700137000",
            "订单创建时间": "2026-05-03 08:00:00",
        },
    ]
    items = [
        {"订单编号": "2400000000000001", "标题": "龙井茶", "价格": "50.00", "购买数量": "2", "商家编码": sku_a},
        {"订单编号": "2400000000000001", "标题": "茶杯", "价格": "30.00", "购买数量": "1", "商家编码": sku_b},
        {"订单编号": "2400000000000002", "标题": "茶杯", "价格": "30.00", "购买数量": "1", "商家编码": sku_b},
        {"订单编号": "2400000000000003", "标题": "茶杯", "价格": "30.00", "购买数量": "1", "商家编码": sku_b},
    ]
    if orphan_item:
        items.append({"订单编号": "2400000000000009", "价格": "30.00", "购买数量": "1", "商家编码": sku_b})
    return [
        ("ExportOrderList202605.csv", csv_file(headers(TAOBAO), orders, encoding=encoding)),
        ("ExportOrderDetailList202605.csv", csv_file(headers(TAOBAO, "items"), items, encoding=encoding)),
    ]


def jd_file(sku_a, sku_b, *, amounts_include_shipping=True):
    """One row per item: order 30000000001 (two items, 6.00 freight, 10.00 off, paid online),
    30000000002 (cash on delivery), 30000000003 (cancelled), 30000000004 (not yet paid)."""
    settled = "135.00" if amounts_include_shipping else "129.00"
    first = {
        "订单号": "30000000001",
        "支付方式": "在线支付",
        "下单时间": "2026-05-01 11:00:00",
        "结算金额": settled,
        "订单状态": "等待出库",
        "客户姓名": "赵六",
        "客户地址": "上海 浦东新区 张江路 1 号",
        "联系电话": "13800138000",
        "订单备注": "",
        "运费金额": "6.00",
    }
    rows = [
        {**first, "商品名称": "龙井茶", "订购数量": 1, "京东价": 99, "商家SKUID": sku_a},
        {**first, "商品名称": "茶杯", "订购数量": 2, "京东价": "20.00", "商家SKUID": sku_b},
        {
            "订单号": "30000000002",
            "订购数量": 1,
            "京东价": "20.00",
            "商家SKUID": sku_b,
            "支付方式": "货到付款",
            "结算金额": "20.00",
            "运费金额": "0.00",
            "订单状态": "等待出库",
            "客户姓名": "钱七",
            "客户地址": "广东省深圳市南山区科技园路2号",
            "联系电话": "13600136000",
        },
        {
            "订单号": "30000000003",
            "订购数量": 1,
            "京东价": "20.00",
            "商家SKUID": sku_b,
            "支付方式": "在线支付",
            "结算金额": "20.00",
            "订单状态": "已取消",
            "客户姓名": "孙八",
            "客户地址": "江苏南京玄武区中山路3号",
            "联系电话": "13500135000",
        },
        {
            "订单号": "30000000004",
            "订购数量": 1,
            "京东价": "20.00",
            "商家SKUID": sku_a,
            "支付方式": "在线支付",
            "结算金额": "20.00",
            "订单状态": "等待付款",
            "客户姓名": "周九",
            "客户地址": "浙江省杭州市滨江区江南大道4号",
            "联系电话": "13400134000",
        },
    ]
    return [("jd-orders.xlsx", xlsx_file(headers(JD), rows))]


def pinduoduo_file(sku_a, sku_b):
    """Order 250501-001 (line amount 59.70 for 3, 5.00 shop discount, a fully masked phone),
    250501-002 (unpaid, 100.00 for 3, which does not divide into cents), 250501-003 (cancelled)."""
    base = {"省": "四川省", "市": "成都市", "区": "武侯区", "街道": "玉林街道", "订单成交时间": "2026-05-01 12:00:00"}
    rows = [
        {
            **base,
            "订单号": "250501-001",
            "订单状态": "待发货",
            "商家编码-SKU维度": sku_a,
            "商品数量(件)": "3",
            "商品总价(元)": "59.70",
            "店铺优惠折扣(元)": "5.00",
            "邮费(元)": "0.00",
            "用户实付金额(元)": "54.70",
            "收货人": "吴十",
            "手机": "1**********",
            "详细地址": "玉林北路5号2单元",
            "快递公司": "中通快递",
        },
        {
            **base,
            "订单号": "250501-002",
            "订单状态": "待支付",
            "商家编码-SKU维度": sku_b,
            "商品数量(件)": "3",
            "商品总价(元)": "100.00",
            "邮费(元)": "5.00",
            "用户实付金额(元)": "105.00",
            "收货人": "郑十一",
            "手机": "13300133000",
            "详细地址": "科华北路6号",
            "快递公司": "顺丰速运",
        },
        {
            **base,
            "订单号": "250501-003",
            "订单状态": "已取消",
            "商家编码-SKU维度": sku_b,
            "商品数量(件)": "1",
            "商品总价(元)": "10.00",
            "邮费(元)": "0.00",
            "用户实付金额(元)": "10.00",
            "收货人": "王十二",
            "手机": "13200132000",
            "详细地址": "人民南路7号",
        },
    ]
    return [("pdd-orders.csv", csv_file(headers(PINDUODUO), rows))]


def douyin_file(sku_a, sku_b):
    """Order 6900000000000001 on two 子订单 rows (88.00 paid 80.00, and 2 × 10.00; 8.00 freight;
    WeChat Pay; a phone masked with full-width ＊), 6900000000000002 (unpaid), 6900000000000003
    (closed)."""
    first = {
        "主订单编号": "6900000000000001",
        "运费": "8.00",
        "支付方式": "微信",
        "订单提交时间": "2026-05-01 20:00:00",
        "收件人": "陈十三",
        "收件人手机号": "139＊＊＊＊9000",
        "省": "湖北省",
        "市": "武汉市",
        "区": "洪山区",
        "街道": "珞南街道",
        "详细地址": "珞喻路8号",
        "买家留言": "",
        "订单状态": "待发货",
    }
    rows = [
        {
            **first,
            "子订单编号": "6900000000000011",
            "商品数量": 1,
            "商家编码": sku_a,
            "商品单价": "88.00",
            "订单应付金额": "80.00",
        },
        {
            **first,
            "子订单编号": "6900000000000012",
            "商品数量": 2,
            "商家编码": sku_b,
            "商品单价": "10.00",
            "订单应付金额": "20.00",
        },
        {
            **first,
            "主订单编号": "6900000000000002",
            "子订单编号": "6900000000000021",
            "商品数量": 1,
            "商家编码": sku_b,
            "商品单价": "10.00",
            "订单应付金额": "10.00",
            "运费": "0.00",
            "收件人手机号": "13100131000",
            "订单状态": "待支付",
        },
        {
            **first,
            "主订单编号": "6900000000000003",
            "子订单编号": "6900000000000031",
            "商品数量": 1,
            "商家编码": sku_b,
            "商品单价": "10.00",
            "订单应付金额": "10.00",
            "订单状态": "已关闭",
        },
    ]
    return [("douyin-orders.xlsx", xlsx_file(headers(DOUYIN), rows))]
