"""Workbooks from elsewhere and addresses as people write them, in the demo shop
(docs/architecture.md, "Workbooks from elsewhere: import profiles" and "Addresses"): the group-buy
channel's own sign-up sheet mapped once as a profile, Tmall's seller order report kept as Tmall's
profile, and orders that show what intake makes of a whole address in one field, of a city placed
in the wrong province and of a marketplace's masked phone."""

from datetime import timedelta

from core.actors import SYSTEM
from orders import services as orders
from orders.importers.marketplaces import BUILT_IN_PROFILES
from orders.services import import_profiles

# The sign-up sheet companies fill in for a group buy: one row per item, the whole address in one cell.
GROUP_BUY_PROFILE = {
    "files": {
        "orders": {
            "columns": {
                "团购单号": "channel_order_id",
                "报名日期": "order_date",
                "收件人": "recipient",
                "联系电话": "phone",
                "收货地址": "full_address",
                "商品编码": "sku",
                "件数": "quantity",
                "付款方式": "payment_method",
                "备注": "note",
            }
        }
    },
    "values": {"payment_method": {"对公转账": "bank_transfer", "货到付款": "cod"}},
    "order_amount_includes_shipping": True,
    "payment_method": "bank_transfer",
}
# (channel order id, address in one field or (province, city, district, street), phone)
ADDRESSES_AS_WRITTEN = [
    ("ADDR-001", "浙江杭州西湖区文三路90号 东部软件园 2 幢", None),
    ("ADDR-002", "上海 浦东新区 张江路 1 号", None),
    ("ADDR-003", ("江苏省", "杭州市", "西湖区", "文三路 90 号"), None),
    ("ADDR-004", ("广东", "深圳", "南山", "深南大道 9988 号"), "138****8000"),
]


def seed_import_profiles(command) -> str:
    """Called by seed_demo after the orders, with itself: its channels, users and clock."""
    manager = command.users["manager"]
    import_profiles.save_profile(
        channel=command.channels["excel"], name="企业团购报名表", definition=GROUP_BUY_PROFILE, actor=manager
    )
    taobao = next(profile for profile in BUILT_IN_PROFILES if profile["key"] == "taobao")
    import_profiles.save_profile(
        channel=command.channels["tmall"],
        name=str(taobao["name"]),
        definition=taobao,
        actor=manager,
        based_on="taobao",
    )
    moment = command.limit - timedelta(hours=3)
    held = 0
    for channel_order_id, written, masked_phone in ADDRESSES_AS_WRITTEN:
        recipient = command.addressed_to(command.new_customer())
        if isinstance(written, str):
            recipient.update(province="", city="", district="", address=written)
        else:
            province, city, district, street = written
            recipient.update(province=province, city=city, district=district, address=street)
        if masked_phone:
            recipient["phone"] = masked_phone
        order = orders.place_order(
            orders.OrderInput(
                channel=command.channels["tmall"],
                channel_order_id=channel_order_id,
                **recipient,
                lines=[orders.LineInput(sku="TEA-009", quantity=1)],
                payment_method="e_wallet",
                paid_amount=command.products["TEA-009"].unit_price,
                placed_at=moment,
            ),
            actor=SYSTEM,
        ).order
        command.backdate(order, moment, {"order", "events", "stock", "allocations", "notifications"})
        held += order.is_held
    return (
        f"2 profiles (企业团购报名表, Tmall); {len(ADDRESSES_AS_WRITTEN)} orders with addresses as written, {held} held"
    )
