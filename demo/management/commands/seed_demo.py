"""`manage.py seed_demo`: a realistic demo shop for trying the console — a catalogue of 60 products,
three warehouses with stock, every kind of channel, two carriers, a demo user per role and a few
hundred orders of the last 60 days in every state. Everything that changes stock or orders goes
through the services, so the ledger and the event log are whole. Running it again changes nothing."""

import contextlib
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import override_settings
from django.utils import timezone, translation

from aftersales.models import Feedback, ReturnRequest, Ticket
from analytics import services as analytics
from core.actors import SYSTEM
from core.roles import MANAGER
from core.transitions import TransitionRefused
from demo.aftersales import AfterSalesStory
from demo.catalog import seed_catalogue
from demo.changes import play_changes
from demo.channel_stock import seed_channel_stock
from demo.classification import seed_classification
from demo.coverage import seed_coverage
from demo.deadlines import seed_deadlines, set_deadlines, start_clock_at
from demo.import_profiles import seed_import_profiles
from demo.interception import tell_interception
from demo.label_printing import seed_label_printing
from demo.lost_parcels import seed_lost_parcel
from demo.merging import tell_merging
from demo.planning import seed_planning
from demo.purchasing import seed_purchasing
from demo.remittances import seed_remittances
from demo.stations import tell_stations
from demo.stock_moves import seed_transfers_and_counts
from demo.timeline import move, moving, moving_order_stamps
from demo.views import tag_orders_and_save_views
from demo.waiting import seed_waiting
from incidents import services as incidents
from inventory import services as inventory
from inventory.models import Product, StockLevel, StockMovement, Warehouse
from inventory.selectors import low_stock
from logistics import services as logistics
from logistics.models import Carrier, CarrierService, Shipment
from orders import services as orders
from orders.models import (
    Allocation,
    BlockedContact,
    Channel,
    Customer,
    IntakeSettings,
    Notification,
    Order,
    Refund,
)
from orders.services import blocklist

SEED = 20240601
# Plan.paid: a part of the total paid to the channel, not all of it.
PART_PAID = "part"
DEMO_PASSWORD = "demo12345"
Status = Order.Status

# username, role (None: superuser), display name
DEMO_USERS = [
    ("admin", None, "系统管理员"),
    ("manager", MANAGER, "陈晓东"),
    ("reviewer", "Order reviewer", "周敏"),
    ("warehouse", "Warehouse operator", "李强"),
    ("logistics", "Logistics coordinator", "王磊"),
    ("service", "Customer service", "刘芳"),
    ("finance", "Finance", "赵静"),
    ("analyst", "Analyst", "孙悦"),
    ("buyer", "Buyer", "吴婷"),
]

WAREHOUSES = [
    ("SH", "上海青浦中心仓", "上海市青浦区华新镇华腾路 1288 号", 10),
    ("GZ", "广州白云仓", "广东省广州市白云区太和镇广从七路 68 号", 20),
    ("CD", "成都双流仓", "四川省成都市双流区西航港大道二段 99 号", 30),
]

# sku, name, price (CNY), weight (kg), fragile, warehouses that stock it, stock profile
# Profiles: "" plenty, "low" below its reorder point, "scarce" a handful of a precious item, "sold out".
CATALOGUE = [
    ("TEA-001", "西湖龙井 明前特级 250g", "388.00", "0.300", False, "SH", "sold out"),
    ("TEA-002", "安溪铁观音 清香型 500g", "168.00", "0.550", False, "SH CD", ""),
    ("TEA-003", "武夷山大红袍 200g", "298.00", "0.250", False, "SH CD", ""),
    ("TEA-004", "云南普洱熟茶饼 357g", "228.00", "0.400", False, "CD", ""),
    ("TEA-005", "正山小种红茶 250g", "138.00", "0.300", False, "SH CD", ""),
    ("TEA-006", "福鼎白茶 白牡丹 200g", "198.00", "0.250", False, "SH", ""),
    ("TEA-007", "洞庭碧螺春 125g", "258.00", "0.180", False, "SH", "low"),
    ("TEA-008", "黄山毛峰 250g", "128.00", "0.300", False, "SH CD", ""),
    ("TEA-009", "茉莉花茶 罐装 200g", "68.00", "0.280", False, "SH GZ CD", ""),
    ("TEA-010", "祁门红茶 礼盒装", "328.00", "0.800", False, "SH", ""),
    ("TEA-011", "凤凰单丛 鸭屎香 250g", "158.00", "0.300", False, "GZ", ""),
    ("TEA-012", "峨眉竹叶青 100g", "178.00", "0.150", False, "CD", ""),
    ("CER-001", "景德镇青花瓷茶具 8 头套装", "599.00", "2.800", True, "SH GZ", ""),
    ("CER-002", "宜兴紫砂壶 西施壶", "1280.00", "0.450", True, "SH", ""),
    ("CER-003", "大师手作朱泥紫砂壶", "6800.00", "0.400", True, "SH", "scarce"),
    ("CER-004", "汝窑天青茶杯 4 只装", "168.00", "0.600", True, "SH CD", ""),
    ("CER-005", "德化白瓷盖碗", "88.00", "0.350", True, "SH GZ", ""),
    ("CER-006", "骨瓷餐具 16 件套", "459.00", "5.200", True, "SH GZ", ""),
    ("CER-007", "建盏 兔毫", "368.00", "0.350", True, "SH", ""),
    ("CER-008", "龙泉青瓷花瓶", "268.00", "1.200", True, "SH CD", ""),
    ("CER-009", "粗陶马克杯 350ml", "49.00", "0.400", True, "SH GZ CD", ""),
    ("CER-010", "手绘陶瓷饭碗 4 只装", "79.00", "1.100", True, "SH GZ", ""),
    ("CER-011", "高硼硅玻璃公道杯", "39.00", "0.250", True, "SH GZ", "low"),
    ("KIT-001", "章丘手工铁锅 32cm", "239.00", "2.600", False, "SH GZ", ""),
    ("KIT-002", "不锈钢三层蒸锅 28cm", "189.00", "3.100", False, "SH GZ", ""),
    ("KIT-003", "陶瓷不粘炒锅 30cm", "299.00", "1.900", False, "SH", ""),
    ("KIT-004", "德式锻打菜刀", "159.00", "0.450", False, "SH GZ CD", ""),
    ("KIT-005", "竹制砧板 大号", "69.00", "1.500", False, "SH GZ", ""),
    ("KIT-006", "智能电饭煲 4L", "499.00", "4.200", False, "SH GZ", ""),
    ("KIT-007", "破壁料理机", "899.00", "5.500", False, "SH GZ", ""),
    ("KIT-008", "304 不锈钢保温杯 500ml", "129.00", "0.350", False, "SH GZ CD", ""),
    ("KIT-009", "硅胶厨具 6 件套", "99.00", "0.800", False, "SH GZ", ""),
    ("KIT-010", "玻璃保鲜盒 5 件套", "89.00", "2.100", True, "SH GZ", ""),
    ("KIT-011", "陶土砂锅 2.5L", "79.00", "2.300", True, "SH CD", ""),
    ("KIT-012", "手冲咖啡壶套装", "219.00", "1.200", True, "SH", "low"),
    ("KIT-013", "空气炸锅 5L", "399.00", "4.800", False, "SH GZ", ""),
    ("APP-001", "纯棉短袖 T 恤 白色 L", "79.00", "0.220", False, "SH GZ", ""),
    ("APP-002", "纯棉短袖 T 恤 黑色 M", "79.00", "0.220", False, "SH GZ", ""),
    ("APP-003", "桑蚕丝印花丝巾", "299.00", "0.100", False, "SH", ""),
    ("APP-004", "羊绒圆领毛衣", "899.00", "0.400", False, "SH", ""),
    ("APP-005", "直筒牛仔裤 32 码", "259.00", "0.650", False, "SH GZ", ""),
    ("APP-006", "轻薄羽绒服", "599.00", "0.500", False, "SH GZ", ""),
    ("APP-007", "连帽运动卫衣", "199.00", "0.600", False, "GZ", ""),
    ("APP-008", "帆布鞋 39 码", "139.00", "0.800", False, "SH GZ", ""),
    ("APP-009", "马面裙", "468.00", "0.700", False, "SH", "low"),
    ("APP-010", "棉麻衬衫", "169.00", "0.300", False, "SH GZ", ""),
    ("APP-011", "加厚棉袜 5 双装", "39.00", "0.300", False, "SH GZ CD", ""),
    ("ELE-001", "Type-C 快充数据线 1m", "29.00", "0.050", False, "SH GZ CD", ""),
    ("ELE-002", "65W 氮化镓充电器", "129.00", "0.150", False, "SH GZ", ""),
    ("ELE-003", "20000mAh 移动电源", "159.00", "0.420", False, "SH GZ", ""),
    ("ELE-004", "主动降噪蓝牙耳机", "399.00", "0.200", False, "GZ", ""),
    ("ELE-005", "iPhone 15 硅胶手机壳", "59.00", "0.050", False, "SH GZ", ""),
    ("ELE-006", "钢化膜 2 片装", "25.00", "0.030", False, "SH GZ", ""),
    ("ELE-007", "静音无线鼠标", "89.00", "0.100", False, "SH GZ", ""),
    ("ELE-008", "87 键机械键盘", "349.00", "0.950", False, "GZ", ""),
    ("ELE-009", "USB-C 七合一扩展坞", "199.00", "0.120", False, "SH GZ", ""),
    ("ELE-010", "智能手环", "249.00", "0.080", False, "GZ", ""),
    ("ELE-011", "车载手机支架", "49.00", "0.150", False, "SH GZ CD", ""),
    ("ELE-012", "1TB 移动固态硬盘", "599.00", "0.060", False, "SH GZ", ""),
    ("ELE-013", "智能手表 旗舰款", "2999.00", "0.100", False, "SH GZ", ""),
]
BY_SKU = {row[0]: row for row in CATALOGUE}
BIN_ZONES = {"TEA": "A", "CER": "B", "KIT": "C", "APP": "D", "ELE": "E"}
PREMIUM = {"CER-003", "ELE-013"}

# code, name, kind, payment methods with weights, share of orders
CHANNELS = [
    ("tmall", "天猫旗舰店", Channel.Kind.MARKETPLACE, {"e_wallet": 8, "instalments": 2}, 30),
    ("jd", "京东旗舰店", Channel.Kind.MARKETPLACE, {"e_wallet": 5, "card": 3, "cod": 2}, 18),
    ("web", "官网商城", Channel.Kind.WEB, {"e_wallet": 5, "card": 2, "instalments": 1, "cod": 2}, 18),
    ("app", "OrderCycle App", Channel.Kind.APP, {"e_wallet": 7, "card": 2, "cod": 1}, 15),
    ("phone", "电话订购", Channel.Kind.PHONE, {"cod": 3, "bank_transfer": 1}, 6),
    ("store-jingan", "上海静安门店", Channel.Kind.STORE, {"card": 1, "e_wallet": 2}, 5),
    ("partner-api", "分销商 API", Channel.Kind.API, {"bank_transfer": 1}, 4),
    ("excel", "企业团购（Excel 导入）", Channel.Kind.EXCEL, {"bank_transfer": 1}, 4),
]

CARRIERS = [
    ("sf", "顺丰速运", "https://www.sf-express.com/chn/sc/waybill/waybill-detail/{tracking_number}"),
    ("zto", "中通快递", "https://www.zto.com/?num={tracking_number}"),
]
# carrier, code, name, kind, collects COD, takes fragile goods, base fee, fee per kg, transit days
CARRIER_SERVICES = [
    ("sf", "standard", "顺丰标快", "standard", True, False, "12.00", "2.00", 2),
    ("sf", "express", "顺丰特快", "express", True, False, "22.00", "4.00", 1),
    ("sf", "fragile", "顺丰易碎件专递", "special_handling", True, True, "28.00", "4.00", 2),
    ("zto", "standard", "中通标准快递", "standard", True, False, "6.00", "1.50", 3),
    ("zto", "economy", "中通经济件", "economy", False, False, "5.00", "1.00", 5),
]
# What goes wrong with some parcels on the way: (exception kind, where, what the carrier said).
TROUBLES = [
    ("delayed", "华东转运中心", "天气原因，航班延误"),
    ("address_problem", "派送网点", "地址不详，联系收件人未果"),
    ("damaged", "分拨中心", "外包装破损，已加固"),
]
HUBS = ["上海转运中心", "广州转运中心", "成都转运中心", "武汉转运中心", "北京转运中心"]

# province, city, district, postcode, streets
REGIONS = [
    ("上海市", "上海市", "浦东新区", "200120", ["张杨路", "世纪大道", "源深路", "锦绣路"]),
    ("上海市", "上海市", "徐汇区", "200030", ["漕溪北路", "肇嘉浜路", "天钥桥路"]),
    ("北京市", "北京市", "朝阳区", "100020", ["建国路", "朝阳门外大街", "东三环中路"]),
    ("北京市", "北京市", "海淀区", "100080", ["中关村大街", "学院路", "知春路"]),
    ("广东省", "广州市", "天河区", "510620", ["天河路", "体育西路", "华夏路"]),
    ("广东省", "深圳市", "南山区", "518057", ["深南大道", "后海大道", "南海大道"]),
    ("广东省", "深圳市", "福田区", "518048", ["福华三路", "益田路", "深南中路"]),
    ("浙江省", "杭州市", "西湖区", "310012", ["文三路", "天目山路", "古墩路"]),
    ("浙江省", "宁波市", "鄞州区", "315100", ["天童南路", "四明中路"]),
    ("江苏省", "南京市", "鼓楼区", "210008", ["中山路", "北京西路"]),
    ("江苏省", "苏州市", "姑苏区", "215000", ["人民路", "干将西路"]),
    ("四川省", "成都市", "武侯区", "610041", ["人民南路四段", "科华北路"]),
    ("四川省", "成都市", "锦江区", "610021", ["红星路三段", "东大街"]),
    ("湖北省", "武汉市", "洪山区", "430070", ["珞喻路", "光谷大道"]),
    ("湖南省", "长沙市", "岳麓区", "410006", ["麓山南路", "枫林三路"]),
    ("陕西省", "西安市", "雁塔区", "710061", ["小寨东路", "长安南路"]),
    ("重庆市", "重庆市", "渝中区", "400010", ["民族路", "中山三路"]),
    ("天津市", "天津市", "和平区", "300041", ["南京路", "滨江道"]),
    ("山东省", "青岛市", "市南区", "266071", ["香港中路", "东海西路"]),
    ("福建省", "厦门市", "思明区", "361001", ["湖滨南路", "厦禾路"]),
    ("河南省", "郑州市", "金水区", "450000", ["花园路", "经三路"]),
    ("辽宁省", "沈阳市", "和平区", "110001", ["太原北街", "南京北街"]),
    ("云南省", "昆明市", "五华区", "650021", ["东风西路", "青年路"]),
    ("安徽省", "合肥市", "蜀山区", "230031", ["长江西路", "黄山路"]),
]
ESTATES = ["阳光花园", "锦绣苑", "翠湖天地", "万科城", "滨江花园", "世纪新城", "金色家园", "绿地香树"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹"
GIVEN_NAMES = [
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "霞",
    "平",
    "刚",
    "晨",
    "宇轩",
    "子涵",
    "欣怡",
    "浩然",
    "梓萱",
    "思远",
    "雨桐",
    "嘉怡",
    "俊杰",
    "诗涵",
]
MOBILE_PREFIXES = [
    "138",
    "139",
    "136",
    "135",
    "150",
    "151",
    "158",
    "159",
    "186",
    "187",
    "188",
    "133",
    "153",
    "180",
    "189",
    "130",
    "131",
    "132",
    "155",
    "185",
    "176",
    "177",
    "199",
    "166",
]

BLOCKED_PHONES = [("+8615800001111", "多次拒收货到付款订单"), ("+8617012345678", "疑似倒卖，批量下单转售")]
# The risk register a manager starts from: risk, what could happen, likelihood, impact, plan, how
# the plan answers it, owner (a demo login).
RISKS = [
    (
        "台风季快递停运",
        "台风季节顺丰在广东、广西停收停派，待发和在途包裹延误。",
        3,
        4,
        "carrier_down",
        "把发往受影响省份、尚未发出的包裹切换到其他快递，并通知受影响的客户。",
        "logistics",
    ),
    (
        "仓库停电或进水",
        "仓库无法作业，已确认的订单无法拣货发出。",
        2,
        5,
        "warehouse_closed",
        "暂停该仓拣货，把未拣订单转到其他仓库，并通知客户可能延迟。",
        "manager",
    ),
    (
        "渠道推送错误订单",
        "渠道接口故障，推送价格为零或地址缺失的订单。",
        2,
        4,
        "channel_bad_orders",
        "暂停放行该渠道的新订单，待渠道修复后关闭事件，订单重新走检查。",
        "manager",
    ),
    (
        "库存账实不符",
        "盘点发现系统库存与实物不符，可能超卖。",
        3,
        3,
        "stock_in_doubt",
        "该仓库存暂停承诺给新订单，盘点后恢复。",
        "warehouse",
    ),
]

BLOCKED_ADDRESSES = [
    (("广东省", "深圳市", "宝安区", "西乡街道固戍二路 88 号"), "该地址多次签收后申请仅退款"),
    (("河南省", "郑州市", "中原区", "建设西路 12 号 3 号楼 502 室"), "收货人冒用他人身份"),
]
INVALID_PHONES = ["1388888888", "1591234567"]

# Why intake holds an order: a failed check, or risk rules whose score reaches the hold threshold
# (a high value alone does not, a high value from a new customer does).
HOLD_SCENARIOS = [
    "high_value",
    "cod_over_limit",
    "blocked_phone",
    "blocked_address",
    "phone_invalid",
    "address_incomplete",
    "payment_mismatch",
    "out_of_stock",
]
REJECTIONS = {
    "blocked_phone": "黑名单号码：该号码多次拒收货到付款订单",
    "blocked_address": "黑名单地址，拒绝发货",
    "phone_invalid": "电话号码无效，三次联系客户未果",
    "address_incomplete": "地址不完整，客户未补充",
    "cod_over_limit": "货到付款金额超限，客户不同意预付",
    "high_value": "疑似盗刷，支付方已冻结款项",
}
CANCEL_REASONS = [
    "客户要求取消：不想要了",
    "客户下错单，已重新下单",
    "客户更改收货地址，取消后重下",
    "重复下单",
    "客户在其他平台已购买",
]
SOLD_OUT_REASON = "缺货，与客户协商后取消"
INSTRUCTIONS = ["请工作日白天送货", "放小区快递柜即可", "送货前请电话联系", "礼品订单，请勿放价格单", "周末送货"]
FRAGILE_INSTRUCTION = "易碎品，请多加气泡膜"
NOTES = [
    "客户来电确认收货时间，周末在家",
    "客户要求开具增值税普通发票，抬头已记录",
    "客户询问物流进度，已告知预计到达时间",
    "客户要求加急发货",
]

# How many orders end in each state, and how many days ago such orders were placed.
TARGETS = {
    Status.COMPLETED: (210, 11, 60),
    Status.DELIVERED: (50, 3, 10),
    Status.SHIPPED: (30, 0.8, 3.5),
    Status.PACKED: (10, 0.2, 1.2),
    Status.PICKING: (10, 0.1, 1),
    Status.CONFIRMED: (10, 0.05, 0.8),
}
CUSTOMER_CANCELS = 34
PAID_LATE = 4
SPLIT_SHIPMENTS = 6
TROUBLED_SHIPMENTS = 4

IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# What each channel's own order numbers look like, given the channel's running count.
CHANNEL_ORDER_IDS = {
    "tmall": lambda rng, n: str(rng.randrange(10**18, 10**19)),
    "jd": lambda rng, n: str(rng.randrange(2 * 10**11, 3 * 10**11)),
    "web": lambda rng, n: f"W{240000 + n:07d}",
    "app": lambda rng, n: f"APP{510000 + n}",
    "phone": lambda rng, n: f"TEL-{n:05d}",
    "store-jingan": lambda rng, n: f"POS-JA-{n:05d}",
    "partner-api": lambda rng, n: f"DIST-{7000 + n}",
    "excel": lambda rng, n: f"GB-{n:04d}",
}

# What each step writes stamped with the present, for Command.backdate().
STEP_WRITES = {
    orders.place_order: {"order", "events", "stock", "allocations", "notifications"},
    orders.add_note: {"notes"},
    orders.approve: {"order", "events", "stock", "allocations", "notifications"},
    orders.reject: {"order", "events", "stock", "notifications", "refunds"},
    orders.cancel: {"order", "events", "stock", "notifications", "refunds"},
    # A payment that makes an order awaiting payment paid also confirms or holds it.
    orders.record_payment: {"order", "payments", "events", "stock", "allocations", "notifications"},
    orders.complete: {"order", "events"},
    logistics.create_pick_wave: {"order", "events", "waves", "shipments"},
    logistics.finish_packing: {"order", "events", "packed"},
    logistics.dispatch: {"order", "events", "stock", "shipped", "notifications"},
    logistics.send_replacement: {"stock", "notifications"},
    # The last parcel delivered collects cash on delivery.
    logistics.record_tracking_event: {"order", "events", "notifications", "payments"},
}
# How backdate() moves what each kind of write above stamped with the present.
MOVING = {
    "order": moving_order_stamps(),
    "events": moving("orders_orderevent", "created_at"),
    "stock": moving("inventory_stockmovement", "created_at", of_order=""),
    "allocations": moving(
        "orders_allocation", "created_at", "line_id IN (SELECT id FROM orders_orderline WHERE order_id = %(order)s)"
    ),
    "payments": moving("orders_payment", "created_at"),
    "refunds": moving("orders_refund", "requested_at"),
    "notes": moving("orders_ordernote", "created_at"),
    "notifications": moving("orders_notification", "created_at"),
    "waves": moving(
        "logistics_pickwave", "created_at", "id IN (SELECT wave_id FROM logistics_shipment WHERE order_id = %(order)s)"
    ),
    "shipments": moving("logistics_shipment", "created_at"),
    "packed": moving("logistics_shipment", "packed_at"),
    "shipped": moving("logistics_shipment", "shipped_at"),
}


@contextlib.contextmanager
def task_log_quiet():
    """The background tasks the demo runs at once (one per message) each log two lines at INFO;
    while the demo loads, only their warnings and errors are shown."""
    task_logger = logging.getLogger("django_tasks")
    level = task_logger.level
    task_logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        task_logger.setLevel(level)


@contextlib.contextmanager
def commits_not_waiting_for_the_disk():
    """What runs after the demo's one commit (each message sent, each rollup write) commits on its
    own, thousands of times, and each commit waits for the disk (25 ms on a plain SSD). While the
    demo loads it need not: SQLite writes ahead to a log it syncs only now and then (nothing is
    lost unless the machine itself stops, and the file is never damaged), PostgreSQL commits
    without waiting for its log. The database's own settings come back afterwards. Inside a caller's
    transaction (the tests) nothing commits, and nothing changes."""
    if connection.in_atomic_block or connection.vendor not in ("sqlite", "postgresql"):
        yield
        return
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            journal_mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            synchronous = cursor.execute("PRAGMA synchronous").fetchone()[0]
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            restore = [f"PRAGMA journal_mode = {journal_mode}", f"PRAGMA synchronous = {synchronous}"]
        else:
            cursor.execute("SHOW synchronous_commit")
            restore = [f"SET synchronous_commit TO {cursor.fetchone()[0]}"]
            cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for statement in restore:
                cursor.execute(statement)


@dataclass
class Plan:
    """One demo order: what comes in, and how far its story goes."""

    target: str
    placed_at: datetime
    scenario: str = ""
    cancel_at: str = ""
    reason: str = ""
    channel: str = ""
    channel_order_id: str = ""
    customer: tuple = ()
    lines: list = field(default_factory=list)
    payment_method: str = ""
    paid: bool | str = True
    special_instructions: str = ""
    note: str = ""


def ean13(body):
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


class Clock:
    """Moves one order's story forward in plausible steps, always ending before the present."""

    def __init__(self, start, limit, rng):
        self.now, self.limit, self.rng = start, limit, rng

    def after(self, low_hours, high_hours):
        step = timedelta(hours=self.rng.uniform(low_hours, high_hours))
        if self.now + step >= self.limit:
            step = (self.limit - self.now) * self.rng.uniform(0.2, 0.6)
        self.now += step
        return self.now


class Command(BaseCommand):
    help = "Load a demo shop with products, stock, demo users per role and a few hundred orders. Idempotent."

    def handle(self, *args, **options):
        self.rng = random.Random(SEED)
        self.started = timezone.now()
        plans = self.plan_orders()
        if self.already_seeded(plans):
            self.stdout.write("Demo data is already loaded; nothing changed.")
        else:
            self.stdout.write("Loading the demo shop:")
            # The demo's customers are imaginary: their messages are sent into memory as the story
            # is told, so the notification log is lived-in and no worker mails anyone later. DEBUG
            # would keep every one of the demo's 80,000 queries (on SQLite quoting each with a query
            # of its own) for a log nobody reads.
            with (
                override_settings(
                    DEBUG=False,
                    TASKS=IMMEDIATE_TASKS,
                    EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
                    SMS_BACKEND="orders.notifications.sms.LocmemSMSBackend",
                ),
                task_log_quiet(),
                commits_not_waiting_for_the_disk(),
            ):
                self.load(plans)
            self.part("timeline", self.settle_timeline)
            self.part("classes", lambda: seed_classification(self))
        self.summary()

    def part(self, name, make):
        """Make one part of the demo and say in one line what it made and how long that took."""
        started = time.perf_counter()
        made = make()
        self.say(name, made, time.perf_counter() - started)

    def say(self, name, made, seconds):
        self.stdout.write(f"  {name + ':':<13}{made} ({seconds:.1f} s)")

    def settle_timeline(self):
        # The demo's timeline is moved into the past after the services counted it as today.
        sent = Notification.objects.filter(sent_at__gte=self.started).update(sent_at=F("created_at"))
        analytics.rebuild()
        return f"{sent} messages dated when they were written, dashboard figures rebuilt for the past days"

    # --- what to make ---

    def plan_orders(self):
        rng, now = self.rng, self.started
        self.customers = [self.new_customer() for _ in range(160)]
        plans = []

        def add(target, low_days, high_days, **details):
            placed_at = now - timedelta(days=rng.uniform(low_days, high_days))
            plans.append(Plan(target=target, placed_at=placed_at, **details))

        for target, (count, low, high) in TARGETS.items():
            for _ in range(count):
                add(target, low, high)
        for _ in range(PAID_LATE):
            add(Status.COMPLETED, 12, 60, scenario="payment_mismatch")
        for _ in range(SPLIT_SHIPMENTS):
            add(Status.PARTIALLY_SHIPPED, 1, 4, scenario="split")
        for _ in range(CUSTOMER_CANCELS):
            add(
                Status.CANCELLED,
                0.5,
                60,
                cancel_at=rng.choice([Status.CONFIRMED, Status.CONFIRMED, Status.PICKING, Status.PACKED]),
                reason=rng.choice(CANCEL_REASONS),
            )
        for _round in range(2):
            for scenario in HOLD_SCENARIOS:
                add(Status.ON_HOLD, 0.05, 2.5, scenario=scenario)
            for scenario, reason in REJECTIONS.items():
                add(Status.CANCELLED, 1, 60, scenario=scenario, reason=reason)
            # A fourth order to one phone and address within a day is held; the three before it are not.
            customer = self.new_customer()
            hours = sorted((rng.uniform(1, 20) for _ in range(4)), reverse=True)
            for index, hours_ago in enumerate(hours):
                plans.append(
                    Plan(
                        target=Status.ON_HOLD if index == 3 else Status.CONFIRMED,
                        placed_at=now - timedelta(hours=hours_ago),
                        scenario="repeat_phone",
                        customer=customer,
                    )
                )
        for plan in plans:
            self.dress(plan)
        plans.sort(key=lambda p: p.placed_at)
        self.number_orders(plans)
        return plans

    def new_customer(self):
        rng = self.rng
        name = rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
        phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        province, city, district, postcode, streets = rng.choice(REGIONS)
        street = f"{rng.choice(streets)} {rng.randint(1, 999)} 号"
        building, floor, flat = rng.randint(1, 30), rng.randint(1, 32), rng.randint(1, 4)
        street += rng.choice(
            [
                "",
                f" {rng.choice(ESTATES)} {building} 栋 {rng.randint(1, 4)} 单元 {floor}0{flat} 室",
                f" {building} 号楼 {floor}0{flat} 室",
            ]
        )
        return (name, phone, (province, city, district, street, postcode))

    @staticmethod
    def addressed_to(customer) -> dict[str, str]:
        """A demo customer (name, phone and address, as new_customer makes them) as an order's
        recipient fields."""
        name, phone, (province, city, district, street, postcode) = customer
        return {
            "recipient": name,
            "phone": phone,
            "province": province,
            "city": city,
            "district": district,
            "address": street,
            "postcode": postcode,
        }

    def dress(self, plan):
        """Fill in channel, customer, lines and payment, bent where a scenario needs it."""
        rng = self.rng
        scenario = plan.scenario
        channel_weights = {code: share for code, _n, _k, _m, share in CHANNELS}
        if scenario == "payment_mismatch":
            channel_weights = {"phone": 1, "partner-api": 1, "excel": 1}
        elif scenario == "cod_over_limit":
            channel_weights = {"web": 1, "jd": 1, "phone": 1}
        plan.channel = rng.choices(list(channel_weights), list(channel_weights.values()))[0]
        methods = next(m for code, _n, _k, m, _s in CHANNELS if code == plan.channel)
        plan.payment_method = rng.choices(list(methods), list(methods.values()))[0]

        if not plan.customer:
            fresh = scenario in {"high_value", "phone_invalid"} or rng.random() < 0.35
            plan.customer = self.new_customer() if fresh else rng.choice(self.customers)
        name, phone, address = plan.customer
        if scenario == "blocked_phone":
            phone = rng.choice(BLOCKED_PHONES)[0]
        elif scenario == "blocked_address":
            province, city, district, street = rng.choice(BLOCKED_ADDRESSES)[0]
            address = (province, city, district, street, "")
        elif scenario == "phone_invalid":
            phone = rng.choice(INVALID_PHONES)
        elif scenario == "address_incomplete":
            province, city, district, street, postcode = address
            if rng.random() < 0.5:
                address = (province, city, "", street, postcode)
            else:
                address = (province, city, district, "", postcode)
        plan.customer = (name, phone, address)

        if scenario == "high_value":
            plan.lines = [("CER-003", 1)]
            plan.payment_method = "card"
        elif scenario == "cod_over_limit":
            plan.lines = [("KIT-007", 4)]
            plan.payment_method = "cod"
        elif scenario == "out_of_stock":
            plan.lines = [("TEA-001", 2)] + self.pick_lines(1)
        elif scenario == "split":
            plan.lines = [(rng.choice(["TEA-004", "TEA-012"]), 1), (rng.choice(["ELE-004", "ELE-010", "APP-007"]), 1)]
        elif plan.channel == "excel":
            plan.lines = [(sku, rng.randint(5, 12)) for sku, _q in self.pick_lines(rng.randint(1, 2), cheap=True)]
        else:
            plan.lines = self.pick_lines(rng.choices([1, 2, 3], [55, 30, 15])[0])
        if scenario == "payment_mismatch":
            # Paid in part by card: a mismatch for review (an unpaid bank transfer waits for its payment).
            plan.payment_method, plan.paid = "card", PART_PAID
        if plan.payment_method == "cod":
            plan.paid = False

        fragile = any(BY_SKU[sku][4] for sku, _q in plan.lines)
        if fragile and rng.random() < 0.6:
            plan.special_instructions = FRAGILE_INSTRUCTION
        elif rng.random() < 0.15:
            plan.special_instructions = rng.choice(INSTRUCTIONS)
        if rng.random() < 0.08:
            plan.note = rng.choice(NOTES)

    def pick_lines(self, count, cheap=False):
        weights = {}
        for sku, _name, price, _w, _f, _where, profile in CATALOGUE:
            if profile == "sold out" or (cheap and Decimal(price) >= 200):
                continue
            weights[sku] = 0.1 if sku in PREMIUM else 0.4 if profile == "low" else 1.0
        chosen = []
        while len(chosen) < count:
            sku = self.rng.choices(list(weights), list(weights.values()))[0]
            if sku not in chosen:
                chosen.append(sku)
        return [(sku, self.rng.choices([1, 2, 3], [75, 18, 7])[0]) for sku in chosen]

    def number_orders(self, plans):
        sequence = Counter()
        for plan in plans:
            sequence[plan.channel] += 1
            plan.channel_order_id = CHANNEL_ORDER_IDS[plan.channel](self.rng, sequence[plan.channel])

    def already_seeded(self, plans):
        return Order.objects.filter(channel__code=plans[0].channel, channel_order_id=plans[0].channel_order_id).exists()

    # --- making it ---

    def load(self, plans):
        """Everything in one transaction, so a demo that stops halfway leaves nothing behind. What the
        services leave until their commit (sending the messages, counting the dashboard's figures)
        runs when it ends, and is the part called "commit"."""
        self.limit = self.started - timedelta(minutes=10)
        self.tracking_numbers = set()
        self.troubles_left = TROUBLED_SHIPMENTS
        # What the services write in words (refund reasons, resolutions) is in the shop's language.
        with transaction.atomic(), translation.override("zh-hans"):
            self.part("users", self.load_users)
            self.part("shop", self.load_shop)
            self.part("stock", self.stock_up)
            self.part("blocklist", self.load_blocklist)
            self.part("risks", self.load_risks)
            self.part("deadlines", lambda: set_deadlines(self))
            IntakeSettings.current()
            self.part("orders", lambda: self.play_all(plans))
            self.part("after-sales", AfterSalesStory(self).tell)
            self.part("order desk", lambda: tag_orders_and_save_views(self))
            self.part("waiting", lambda: seed_waiting(self))
            self.part("ship-by", lambda: seed_deadlines(self))
            self.part("changes", lambda: play_changes(self))
            self.part("merging", lambda: tell_merging(self))
            self.part("stations", lambda: tell_stations(self))
            self.part("interception", lambda: tell_interception(self))
            self.part("catalogue", lambda: seed_catalogue(self))
            self.part("profiles", lambda: seed_import_profiles(self))
            self.part("coverage", lambda: seed_coverage(self))
            self.part("printing", lambda: seed_label_printing(self))
            self.part("lost parcel", lambda: seed_lost_parcel(self))
            self.part("remittances", lambda: seed_remittances(self))
            self.part("channel stock", lambda: seed_channel_stock(self))
            self.part("stock moves", lambda: seed_transfers_and_counts(self))
            self.part("purchasing", lambda: seed_purchasing(self))
            self.part("planning", lambda: seed_planning(self))
            committing = time.perf_counter()
        sent = Notification.objects.filter(status=Notification.Status.SENT).count()
        self.say("commit", f"{sent} messages sent, dashboard figures counted", time.perf_counter() - committing)

    def play_all(self, plans):
        for plan in plans:
            self.play(plan)
        parcels = Shipment.objects.exclude(shipped_at=None).count()
        return f"{len(plans)} orders placed and followed through review, picking, packing and delivery; {parcels} parcels sent"

    def load_users(self):
        # The demo logins share one printed password, so they share its hash: making one takes most
        # of a second, on purpose.
        password = make_password(DEMO_PASSWORD)
        self.users = {}
        for username, role, display_name in DEMO_USERS:
            user, _created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": display_name,
                    "email": f"{username}@ordercycle.local",
                    "is_staff": True,
                    "is_superuser": role is None,
                    "password": password,
                },
            )
            if role:
                user.groups.add(Group.objects.get(name=role))
            self.users[username] = user
        return f"{len(self.users)} demo logins, one per role"

    def load_shop(self):
        self.warehouses = {
            code: Warehouse.objects.get_or_create(
                code=code, defaults={"name": name, "address": address, "priority": priority}
            )[0]
            for code, name, address, priority in WAREHOUSES
        }
        self.products = {}
        for index, (sku, name, price, weight, fragile, _where, _profile) in enumerate(CATALOGUE, start=1):
            price = Decimal(price)
            self.products[sku] = Product.objects.get_or_create(
                sku=sku,
                defaults={
                    "name": name,
                    "barcode": ean13(f"6923456{index:05d}"),
                    "unit_price": price,
                    "cost": (price * Decimal("0.45")).quantize(Decimal("0.01")),
                    "weight_kg": Decimal(weight),
                    "fragile": fragile,
                },
            )[0]
        self.channels = {
            code: Channel.objects.get_or_create(code=code, defaults={"name": name, "kind": kind})[0]
            for code, name, kind, _methods, _share in CHANNELS
        }
        self.carriers = {
            code: Carrier.objects.get_or_create(code=code, defaults={"name": name, "tracking_url_template": template})[
                0
            ]
            for code, name, template in CARRIERS
        }
        for carrier, code, name, kind, cod, fragile, base, per_kg, days in CARRIER_SERVICES:
            CarrierService.objects.get_or_create(
                carrier=self.carriers[carrier],
                code=code,
                defaults={
                    "name": name,
                    "kind": kind,
                    "supports_cod": cod,
                    "supports_fragile": fragile,
                    "base_fee": Decimal(base),
                    "fee_per_kg": Decimal(per_kg),
                    "transit_days": days,
                },
            )
        Product.objects.filter(created_at__gte=self.started).update(created_at=self.started - timedelta(days=90))
        return (
            f"{len(self.products)} products, {len(self.warehouses)} warehouses, {len(self.channels)} channels, "
            f"{len(self.carriers)} carriers with {len(CARRIER_SERVICES)} services"
        )

    def load_blocklist(self):
        entries = [
            {"kind": BlockedContact.Kind.PHONE, "phone": phone, "reason": reason} for phone, reason in BLOCKED_PHONES
        ]
        entries += [
            {
                "kind": BlockedContact.Kind.ADDRESS,
                "province": province,
                "city": city,
                "district": district,
                "address": street,
                "reason": reason,
            }
            for (province, city, district, street), reason in BLOCKED_ADDRESSES
        ]
        for entry in entries:
            # Already blocked by hand: keep that entry and its reason.
            with contextlib.suppress(ValidationError):
                blocklist.block_contact(**entry, actor=SYSTEM)
        return f"{len(entries)} blocked phones and addresses"

    def load_risks(self):
        for title, description, likelihood, impact, plan, response, owner in RISKS:
            incidents.save_risk(
                title=title,
                description=description,
                likelihood=likelihood,
                impact=impact,
                owner_id=self.users[owner].pk,
                plan=plan,
                response=response,
                actor=self.users["manager"],
            )
        return f"{len(RISKS)} risks in the register, each with the plan that answers it"

    def stock_up(self):
        """Opening stock, booked as goods received so the ledger explains every unit."""
        receiver = self.users["warehouse"]
        for shelf, (sku, _name, _price, _weight, _fragile, where, profile) in enumerate(CATALOGUE, start=1):
            zone = BIN_ZONES[sku.split("-")[0]]
            for code in where.split():
                quantity, reorder_point = {
                    "": (self.rng.randint(60, 160), self.rng.choice([10, 15, 20, 30])),
                    "low": (self.rng.randint(8, 14), 20),
                    "scarce": (3, 2),
                    "sold out": (0, 20),
                }[profile]
                level, _created = StockLevel.objects.get_or_create(
                    product=self.products[sku],
                    warehouse=self.warehouses[code],
                    defaults={
                        "reorder_point": reorder_point,
                        "bin_location": f"{zone}-{shelf % 12 + 1:02d}-{shelf % 5 + 1:02d}",
                    },
                )
                if quantity:
                    inventory.receive(
                        stock_level_id=level.pk,
                        quantity=quantity,
                        actor=receiver,
                        reference=f"RK{code}-0001",
                        reason="期初入库",
                    )
        StockMovement.objects.filter(created_at__gte=self.started).update(created_at=self.started - timedelta(days=62))
        broken = inventory.stock_level_for(self.products["CER-001"], self.warehouses["SH"])
        inventory.adjust(
            stock_level_id=broken.pk,
            change=-2,
            reason="运输途中破损，报废",
            actor=self.users["manager"],
            reference="BS-0001",
        )
        counted = inventory.stock_level_for(self.products["KIT-005"], self.warehouses["GZ"])
        inventory.record_count(
            stock_level_id=counted.pk, counted=counted.on_hand - 1, actor=receiver, reference="PD-0001"
        )
        StockMovement.objects.filter(created_at__gte=self.started).update(created_at=self.started - timedelta(days=40))
        levels = StockLevel.objects.count()
        return f"{levels} stock levels received as opening stock, one breakage written off, one count recorded"

    def play(self, plan):
        """Place the order and take it as far as its plan goes, through the services, as the demo staff."""
        rng, users = self.rng, self.users
        clock = Clock(plan.placed_at, self.limit, rng)
        lines = [orders.LineInput(sku=sku, quantity=quantity) for sku, quantity in plan.lines]
        subtotal = sum(self.products[sku].unit_price * quantity for sku, quantity in plan.lines)
        marketplace = self.channels[plan.channel].kind == Channel.Kind.MARKETPLACE
        shipping_fee = Decimal("0.00") if marketplace or subtotal >= 99 else Decimal("10.00")
        discount = Decimal("0.00")
        if marketplace and subtotal >= 300 and rng.random() < 0.4:
            discount = Decimal(rng.choice([20, 30, 50]))
        elif plan.channel == "excel":
            discount = (subtotal * Decimal("0.05")).quantize(Decimal("0.01"))
        total = subtotal + shipping_fee - discount
        # Staff enter the orders of these channels; the others arrive by themselves (the system's).
        entered_by = {"phone": users["service"], "excel": users["manager"], "store-jingan": users["manager"]}
        order = orders.place_order(
            orders.OrderInput(
                channel=self.channels[plan.channel],
                channel_order_id=plan.channel_order_id,
                **self.addressed_to(plan.customer),
                lines=lines,
                payment_method=plan.payment_method,
                shipping_fee=shipping_fee,
                discount=discount,
                paid_amount=self.paid_amount(plan, total),
                payment_reference=self.payment_reference(plan),
                placed_at=plan.placed_at,
                special_instructions=plan.special_instructions,
            ),
            actor=entered_by.get(plan.channel, SYSTEM),
        ).order
        self.backdate(order, plan.placed_at, STEP_WRITES[orders.place_order])
        start_clock_at(order, plan.placed_at)
        Customer.objects.filter(pk=order.customer_id, created_at__gte=self.started).update(created_at=plan.placed_at)
        if plan.note:
            self.at(order, clock.after(0.1, 3), orders.add_note, order.pk, author=users["service"], text=plan.note)
        if order.status == Status.ON_HOLD and not self.review(order, plan, clock):
            return
        if plan.target == Status.ON_HOLD:
            return
        for stage, step, hours in [
            (Status.CONFIRMED, None, None),
            (Status.PICKING, self.pick, (0.5, 18)),
            (Status.PACKED, self.pack, (0.2, 3)),
        ]:
            if step:
                step(order, clock.after(*hours))
            if plan.cancel_at == stage:
                self.at(
                    order, clock.after(0.5, 24), orders.cancel, order.pk, actor=users["service"], reason=plan.reason
                )
                return
            if plan.target == stage:
                return
        self.ship(order, plan, clock, total)

    @staticmethod
    def paid_amount(plan, total):
        if plan.paid == PART_PAID:
            return (total / 2).quantize(Decimal("0.01"))
        return total if plan.paid else Decimal("0")

    def review(self, order, plan, clock):
        """A reviewer decides on a held order; returns whether it goes on to the warehouse."""
        users = self.users
        if plan.target == Status.ON_HOLD:
            return False
        if plan.target == Status.CANCELLED and plan.scenario in REJECTIONS:
            self.at(order, clock.after(0.5, 20), orders.reject, order.pk, actor=users["reviewer"], reason=plan.reason)
            return False
        if plan.paid is not True and plan.payment_method != "cod":
            self.at(
                order,
                clock.after(2, 30),
                orders.record_payment,
                order.pk,
                method=plan.payment_method,
                amount=order.balance_due,
                actor=users["finance"],
                reference=self.payment_reference(plan, paid=True),
            )
        try:
            self.at(order, clock.after(0.3, 12), orders.approve, order.pk, actor=users["reviewer"])
        except TransitionRefused:
            self.at(order, clock.after(1, 24), orders.cancel, order.pk, actor=users["service"], reason=SOLD_OUT_REASON)
            return False
        return True

    def pick(self, order, moment):
        for warehouse_id in self.warehouses_to_ship_from(order):
            self.at(order, moment, logistics.create_pick_wave, warehouse_id, [order.pk], actor=self.users["warehouse"])

    def pack(self, order, moment):
        for shipment in order.shipments.filter(status=Shipment.Status.PENDING).order_by("pk"):
            lines = list(shipment.lines.select_related("order_line__product"))
            for line in lines:
                for _unit in range(line.quantity):
                    logistics.pack_item(shipment.pk, line.order_line.sku, actor=self.users["warehouse"])
            weight = sum((line.order_line.product.weight_kg * line.quantity for line in lines), Decimal("0.2"))
            self.at(
                order,
                moment,
                logistics.finish_packing,
                shipment.pk,
                weight_kg=weight,
                package_count=1 + int(weight // 5),
                actor=self.users["warehouse"],
            )
            # Its first scan, a minute a unit before its closing, for the packer's units per hour.
            units = sum(line.quantity for line in lines)
            Shipment.objects.filter(pk=shipment.pk).update(packing_started_at=moment - timedelta(minutes=1 + units))

    def ship(self, order, plan, clock, total):
        """Dispatch each packed parcel, follow it to the door (where cash on delivery is collected), complete."""
        rng, users = self.rng, self.users
        shipments = []
        for index, shipment in enumerate(order.shipments.filter(status=Shipment.Status.PACKED).order_by("pk")):
            carrier = shipment.carrier or self.carriers["zto"]
            shipments.append(
                self.at(
                    order,
                    clock.after(0.5, 8) if index == 0 else clock.after(4, 30),
                    logistics.dispatch,
                    shipment.pk,
                    carrier_id=carrier.pk,
                    tracking_number=self.tracking_number(carrier),
                    actor=rng.choice([users["warehouse"], users["logistics"]]),
                )
            )
            if plan.target == Status.PARTIALLY_SHIPPED:
                return
        in_transit = plan.target == Status.SHIPPED
        for shipment in shipments:
            self.track(order, shipment, clock, deliver=not in_transit)
        if in_transit or plan.target == Status.DELIVERED:
            return
        self.at(order, clock.after(72, 240), orders.complete, order.pk, actor=users["manager"])

    def track(self, order, shipment, clock, *, deliver):
        """The carrier's reports for one parcel, as its webhook would send them."""
        rng = self.rng
        reports = [("in_transit", rng.choice(HUBS), "快件已到达转运中心", "")]
        if not deliver and self.troubles_left and rng.random() < 0.5:
            self.troubles_left -= 1
            kind, where, said = rng.choice(TROUBLES)
            reports.append(("exception", where, said, kind))
        elif deliver:
            reports += [
                ("out_for_delivery", order.city, "快递员正在派送", ""),
                ("delivered", order.city, "已签收，签收人：本人", ""),
            ]
        for status, where, said, kind in reports:
            moment = clock.after(6, 30) if status != "out_for_delivery" else clock.after(8, 20)
            self.at(
                order,
                moment,
                logistics.record_tracking_event,
                shipment.pk,
                status=status,
                occurred_at=moment,
                location=where,
                description=said,
                exception_kind=kind,
                source="webhook",
                actor=SYSTEM,
            )

    def at(self, order, moment, service, *args, **kwargs):
        result = service(*args, **kwargs)
        self.backdate(order, moment, STEP_WRITES[service])
        return result

    def backdate(self, order, moment, writes):
        """Move the rows this step just wrote to the step's moment in the demo timeline (demo/timeline.py),
        so timelines and reports look lived-in."""
        move([MOVING[name] for name in writes], moment=moment, started=self.started, order_id=order.pk)
        if "shipped" in writes:
            for shipment in Shipment.objects.filter(order=order, shipped_at=moment).select_related("service"):
                days = shipment.service.transit_days if shipment.service else logistics.DEFAULT_TRANSIT_DAYS
                Shipment.objects.filter(pk=shipment.pk).update(
                    expected_delivery_on=logistics.add_working_days(timezone.localdate(moment), days)
                )

    def warehouses_to_ship_from(self, order):
        return list(
            Allocation.objects.filter(line__order=order, state=Allocation.State.RESERVED)
            .order_by("stock_level__warehouse__priority")
            .values_list("stock_level__warehouse_id", flat=True)
            .distinct()
        )

    def tracking_number(self, carrier):
        while True:
            if carrier.code == "sf":
                number = f"SF{self.rng.randrange(10**12, 10**13)}"
            else:
                number = f"7{self.rng.randrange(10**13):013d}"
            if number not in self.tracking_numbers:
                self.tracking_numbers.add(number)
                return number

    def payment_reference(self, plan, paid=None):
        if not (plan.paid if paid is None else paid):
            return ""
        digits = f"{self.rng.randrange(10**15, 10**16)}"
        return {
            "e_wallet": f"{self.rng.choice(['支付宝', '微信支付'])} {digits}",
            "card": f"银联 尾号 {digits[-4:]}",
            "instalments": f"花呗分期 {self.rng.choice([3, 6, 12])} 期 {digits}",
            "bank_transfer": f"招商银行转账 {digits}",
            "cod": f"快递代收货款 {digits[-8:]}",
        }[plan.payment_method]

    # --- telling what there is ---

    def summary(self):
        statuses = Counter(Order.objects.values_list("status", flat=True))
        labels = dict(Status.choices)
        write = self.stdout.write
        write(
            f"Products: {Product.objects.count()} · warehouses: {Warehouse.objects.count()} · "
            f"low-stock levels: {low_stock().count()} · channels: {Channel.objects.count()} · "
            f"carriers: {Carrier.objects.count()} · blocklist: {BlockedContact.objects.count()}"
        )
        write(
            f"Orders: {sum(statuses.values())} — "
            + ", ".join(f"{labels[status]} {statuses[status]}" for status in Status.values if statuses[status])
        )
        write(
            f"After-sales: returns {ReturnRequest.objects.count()} · complaint tickets {Ticket.objects.count()} · "
            f"ratings {Feedback.objects.count()} · refunds {Refund.objects.count()}"
        )
        write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, role, _display_name in DEMO_USERS:
            write(f"  {username:<10} {role or 'superuser (everything)'}")
