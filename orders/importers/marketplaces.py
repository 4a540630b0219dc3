"""The import profiles of the order reports Chinese marketplaces let sellers download, so a merchant
uploads the file as the back office gave it (docs: `mapping`). Each is a profile in the exported
format with a stable `key`; which of a report's columns are order-level and which line-level
follows from the fields they map to.

Where the column names come from (public code that reads these exports, as sellers download them):

- Taobao/Tmall: the classic 卖家中心 "已卖出的宝贝" export as two CSV files, the order report
  (ExportOrderList: 订单编号, 买家会员名, 买家支付宝账号, 支付交易号, 买家应付货款, 买家应付邮费, 买家支付积分, 总金额,
  返点积分, 买家实际支付金额, 买家实际支付积分, 订单状态, 买家留言, 收货人姓名, 收货地址, 运送方式, 联系电话,
  联系手机, 订单创建时间, 订单付款时间, 宝贝标题, 宝贝种类, 物流单号, 物流公司, 订单备注, 宝贝总数量, 店铺Id,
  店铺名称, 订单关闭原因, …) and the item report (ExportOrderDetailList: 订单编号, 标题, 价格, 购买数量, 外部系统编号,
  商品属性, 套餐信息, 备注, 订单状态, 商家编码), GB18030 text; the same header lists appear in several
  independent importers (Java, Perl, PHP, Python). Newer 千牛 exports name some columns differently
  (主订单编号/子订单编号 in the item report, 买家实付金额, and the recipient in a separate 发货报表): those need
  a profile of their own, made on the mapping page. 总金额 (goods plus postage the buyer owes, after the
  shop's discounts) is the order amount rather than 买家实际支付金额, which is 0 for an unpaid order and
  less than the order's worth where the platform's coupons or points paid part of it.
- JD: the POP seller back office's order export, one row per item with the order's columns repeated
  (订单号, 商品ID, 商品名称, 订购数量, 支付方式, 下单时间, 京东价, 订单金额, 结算金额, 余额支付, 应付金额, 订单状态,
  订单类型, 下单帐号, 客户姓名, 客户地址, 联系电话, 订单备注, 发票类型, 发票抬头, 发票内容, 商家备注,
  商家备注等级（等级1-5为由高到低）, 运费金额, 付款确认时间, 增值税发票, 货号, 订单完成时间, 订单来源, 订单渠道, …,
  商家SKUID), statuses such as 等待出库 and (删除)等待出库. 结算金额 (after discounts) is the order amount:
  应付金额 leaves out what the buyer paid from a JD balance.
- Pinduoduo: the 拼多多商家后台 order export (商品, 订单号, 订单状态, 商品总价(元), 店铺优惠折扣(元), 平台优惠折扣(元),
  邮费(元), 用户实付金额(元), 商家实收金额(元), 商品数量(件), 收货人, 手机, 省, 市, 区, 街道, 支付时间, 拼单成功时间,
  订单确认时间, 承诺发货时间, 发货时间, 确认收货时间, 商品id, 商品规格, 样式ID, 商家编码-SKU维度, 商家编码-商品维度,
  快递单号, 快递公司, 商家备注, 售后状态, 买家留言, …). A Pinduoduo order holds one SKU, so its row is its
  line. Older exports have only 街道 for the street; newer ones add 详细地址 (the brief's list), which
  is read as the street.
- Douyin (抖店): the order report by product (商品维度), one row per 子订单 (主订单编号, 子订单编号, 选购商品,
  商品规格, 商品ID, 商品数量, 商家编码, 商品单价, 订单应付金额, 运费, 优惠总金额, 支付方式, 收件人, 收件人手机号, 省, 市,
  区, 街道, 详细地址, 买家留言, 商家备注, 订单状态, 订单提交时间, 支付完成时间, …). Sellers' scripts add up
  订单应付金额 row by row, so it is read as the sub-order's line amount (the unit price stays 商品单价 and
  the difference becomes the order's discount), not as the order's total.

In both Douyin and Pinduoduo 街道 is the township (街道/乡镇) and is not imported: 详细地址 holds the
street and house, and province, city and district are columns of their own.

Statuses: an order still to be paid is imported as unpaid, one paid and waiting to ship is
imported, and closed, cancelled, shipped and finished ones are skipped: the seller has shipped
those from the marketplace already, and importing them would ship them twice."""

import copy

from django.utils.translation import gettext_lazy as _

from .mapping import FORMAT, VERSION

TAOBAO = {
    "key": "taobao",
    "format": FORMAT,
    "version": VERSION,
    "name": _("Taobao / Tmall seller order report (order report + item report)"),
    "files": {
        "orders": {
            "columns": {
                "订单编号": "channel_order_id",
                "买家会员名": "",
                "买家应付货款": "",
                "买家应付邮费": "shipping_fee",
                "总金额": "order_amount",
                "买家实际支付金额": "",
                "订单状态": "status",
                "买家留言": "note",
                "收货人姓名": "recipient",
                "收货地址": "full_address",
                "运送方式": "delivery",
                "联系电话": "",
                "联系手机": "phone",
                "订单创建时间": "order_date",
                "宝贝标题": "",
                "物流单号": "",
                "物流公司": "",
                "订单备注": "",
                "宝贝总数量": "",
            }
        },
        "items": {
            "columns": {
                "订单编号": "channel_order_id",
                "标题": "",
                "价格": "unit_price",
                "购买数量": "quantity",
                "外部系统编号": "",
                "商品属性": "",
                "订单状态": "",
                "商家编码": "sku",
            }
        },
    },
    "values": {
        "status": {
            "等待买家付款": "unpaid",
            "买家已付款，等待卖家发货": "import",
            "卖家已发货，等待买家确认": "skip",
            "交易成功": "skip",
            "交易关闭": "skip",
            "付款以后用户退款成功，交易自动关闭": "skip",
        },
        "delivery": {
            "快递": "standard",
            "EMS": "standard",
            "平邮": "standard",
            "顺丰": "express",
            "无需物流": "standard",
        },
    },
    "order_amount_includes_shipping": True,
    "payment_method": "e_wallet",
}

JD = {
    "key": "jd",
    "format": FORMAT,
    "version": VERSION,
    "name": _("JD seller order export"),
    "files": {
        "orders": {
            "columns": {
                "订单号": "channel_order_id",
                "商品ID": "",
                "商品名称": "",
                "订购数量": "quantity",
                "支付方式": "payment_method",
                "下单时间": "order_date",
                "京东价": "unit_price",
                "订单金额": "",
                "结算金额": "order_amount",
                "余额支付": "",
                "应付金额": "",
                "订单状态": "status",
                "客户姓名": "recipient",
                "客户地址": "full_address",
                "联系电话": "phone",
                "订单备注": "note",
                "商家备注": "",
                "运费金额": "shipping_fee",
                "货号": "",
                "商家SKUID": "sku",
            }
        }
    },
    "values": {
        "payment_method": {
            "在线支付": "e_wallet",
            "货到付款": "cod",
            "公司转账": "bank_transfer",
            "邮局汇款": "bank_transfer",
            "分期付款": "instalments",
        },
        "status": {
            "等待付款": "unpaid",
            "等待出库": "import",
            "等待确认收货": "skip",
            "完成": "skip",
            "已取消": "skip",
            "锁定": "skip",
            "(删除)等待出库": "skip",
        },
    },
    "order_amount_includes_shipping": True,
    "payment_method": "e_wallet",
}

PINDUODUO = {
    "key": "pinduoduo",
    "format": FORMAT,
    "version": VERSION,
    "name": _("Pinduoduo seller order export"),
    "files": {
        "orders": {
            "columns": {
                "订单号": "channel_order_id",
                "订单状态": "status",
                "商品": "",
                "商品规格": "",
                "商家编码-SKU维度": "sku",
                "商家编码-商品维度": "",
                "商品数量(件)": "quantity",
                "商品总价(元)": "line_amount",
                "店铺优惠折扣(元)": "",
                "平台优惠折扣(元)": "",
                "邮费(元)": "shipping_fee",
                "用户实付金额(元)": "order_amount",
                "订单成交时间": "order_date",
                "收货人": "recipient",
                "手机": "phone",
                "省": "province",
                "市": "city",
                "区": "district",
                "街道": "",
                "详细地址": "address",
                "快递公司": "delivery",
                "买家留言": "note",
            }
        }
    },
    "values": {
        "status": {
            "待支付": "unpaid",
            "待发货": "import",
            "已发货，待签收": "skip",
            "已签收": "skip",
            "已取消": "skip",
            "未发货，退款成功": "skip",
            "已发货，退款成功": "skip",
        },
    },
    "order_amount_includes_shipping": True,
    "payment_method": "e_wallet",
}

DOUYIN = {
    "key": "douyin",
    "format": FORMAT,
    "version": VERSION,
    "name": _("Douyin (抖店) order report by product"),
    "files": {
        "orders": {
            "columns": {
                "主订单编号": "channel_order_id",
                "子订单编号": "",
                "选购商品": "",
                "商品规格": "",
                "商品数量": "quantity",
                "商家编码": "sku",
                "商品单价": "unit_price",
                "订单应付金额": "line_amount",
                "运费": "shipping_fee",
                "支付方式": "payment_method",
                "订单提交时间": "order_date",
                "收件人": "recipient",
                "收件人手机号": "phone",
                "省": "province",
                "市": "city",
                "区": "district",
                "街道": "",
                "详细地址": "address",
                "买家留言": "note",
                "订单状态": "status",
            }
        }
    },
    "values": {
        "payment_method": {
            "支付宝": "e_wallet",
            "微信": "e_wallet",
            "抖音支付": "e_wallet",
            "月付": "e_wallet",
            "放心花": "e_wallet",
            "货到付款": "cod",
        },
        "status": {
            "待支付": "unpaid",
            "待发货": "import",
            "备货中": "import",
            "已发货": "skip",
            "已完成": "skip",
            "已关闭": "skip",
            "已取消": "skip",
        },
    },
    "order_amount_includes_shipping": True,
    "payment_method": "e_wallet",
}

BUILT_IN_PROFILES = (TAOBAO, JD, PINDUODUO, DOUYIN)
BY_KEY = {profile["key"]: profile for profile in BUILT_IN_PROFILES}


def built_in_profile(key) -> dict:
    """A built-in profile as plain JSON (its name in the reader's language), to use, store or
    export; changing it leaves the built-in one alone."""
    profile = copy.deepcopy(BY_KEY[key])
    profile["name"] = str(profile["name"])
    return profile
