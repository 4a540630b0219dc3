"""Suppliers and purchase orders in the demo shop (docs/architecture.md, "Suppliers and purchase
orders"): three suppliers (two in the shop's currency, one in yen) with what they supply, and a
purchase order resting in every state: a draft, a draft above the approval threshold, one sent and
overdue, one received in part with a damaged unit, one received with a unit over and its reason,
one closed and one cancelled."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from inventory import services as inventory
from inventory.models import (
    Product,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchasingSettings,
    StockMovement,
    Supplier,
    SupplierProduct,
)

SUPPLIERS = [
    # code, name, contact, phone, currency, lead days, minimum order, payment terms
    ("HZTEA", "杭州西湖茶业有限公司", "陈建国", "0571-87654321", "CNY", 7, "2000.00", "月结 30 天"),
    ("JDZCER", "景德镇御窑瓷业", "黄丽", "0798-8221234", "CNY", 21, "5000.00", "预付 30%，到货付清"),
    ("KYOTO", "Kyoto Chaki Co., Ltd.", "Sato Haruki", "+81 75-123-4567", "JPY", 35, "100000.00", "Net 45"),
]
# supplier code: (SKU prefix or SKUs, cost as a share of the shop's price, pack size, minimum quantity)
SUPPLIES = {
    "HZTEA": ("TEA-", Decimal("0.42"), 12, 24),
    "JDZCER": ("CER-", Decimal("0.40"), 4, 8),
}
KYOTO_SKUS = ("CER-002", "CER-004")
YEN_PER_CNY = Decimal("20.5")
CNY_PER_YEN = Decimal("0.048800")


def _supplier(row):
    code, name, contact, phone, currency, lead, minimum, terms = row
    return Supplier.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "contact_name": contact,
            "phone": phone,
            "email": f"orders@{code.lower()}.example",
            "currency": currency,
            "lead_time_days": lead,
            "minimum_order_value": Decimal(minimum),
            "payment_terms": terms,
        },
    )[0]


def _offers(suppliers):
    products = Product.objects.filter(active=True, components__isnull=True).order_by("sku")
    for code, (prefix, share, pack, minimum) in SUPPLIES.items():
        for product in products.filter(sku__startswith=prefix):
            SupplierProduct.objects.get_or_create(
                supplier=suppliers[code],
                product=product,
                defaults={
                    "supplier_sku": f"{code}-{product.sku}",
                    "unit_cost": (product.unit_price * share).quantize(Decimal("0.01")),
                    "pack_size": pack,
                    "minimum_quantity": minimum,
                    "preferred": True,
                },
            )
    for product in products.filter(sku__in=KYOTO_SKUS):
        SupplierProduct.objects.get_or_create(
            supplier=suppliers["KYOTO"],
            product=product,
            defaults={
                "supplier_sku": f"KC-{product.sku[-3:]}",
                "unit_cost": (product.unit_price * Decimal("0.35") * YEN_PER_CNY).quantize(Decimal("1")),
                "pack_size": 2,
                "minimum_quantity": 10,
            },
        )


def _products_of(supplier, count):
    return list(
        SupplierProduct.objects.filter(supplier=supplier).order_by("product__sku").values_list("product_id", flat=True)
    )[:count]


def _draft(supplier, warehouse, quantities, buyer, *, days_ago, exchange_rate=None, notes=""):
    product_ids = _products_of(supplier, len(quantities))
    purchase_order = inventory.create_purchase_order(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        lines=list(zip(product_ids, quantities, strict=False)),
        actor=buyer,
        expected_on=timezone.localdate() - timedelta(days=days_ago) + timedelta(days=supplier.lead_time_days),
        exchange_rate=exchange_rate,
        notes=notes,
    )
    return purchase_order


def _date_back(purchase_order, days_ago):
    """The demo's orders were drafted and sent over the past weeks, not all today."""
    drafted = timezone.now() - timedelta(days=days_ago)
    PurchaseOrder.objects.filter(pk=purchase_order.pk).update(
        created_at=drafted, sent_at=drafted + timedelta(hours=3) if purchase_order.sent_at else None
    )
    for step, event in enumerate(PurchaseOrderEvent.objects.filter(purchase_order=purchase_order).order_by("pk")):
        PurchaseOrderEvent.objects.filter(pk=event.pk).update(created_at=drafted + timedelta(hours=3, days=step * 2))
    StockMovement.objects.filter(purchase_order_line__purchase_order=purchase_order).update(
        created_at=drafted + timedelta(days=days_ago // 2)
    )


def _receive(purchase_order, receipts, operator):
    lines = list(purchase_order.lines.order_by("product__sku"))
    inventory.receive_purchase_order(
        purchase_order.pk,
        [inventory.LineReceipt(line.pk, **receipt) for line, receipt in zip(lines, receipts, strict=False)],
        actor=operator,
        reference=f"DN-{purchase_order.pk:05d}",
    )


def seed_purchasing(command) -> str:
    """Called by seed_demo after the orders, with itself: its users and warehouses."""
    buyer, manager, operator = command.users["buyer"], command.users["manager"], command.users["warehouse"]
    shanghai, chengdu = command.warehouses["SH"], command.warehouses["CD"]
    PurchasingSettings.objects.update_or_create(pk=1, defaults={"approval_threshold": Decimal("20000.00")})
    suppliers = {row[0]: _supplier(row) for row in SUPPLIERS}
    _offers(suppliers)
    tea, porcelain, kyoto = suppliers["HZTEA"], suppliers["JDZCER"], suppliers["KYOTO"]

    draft = _draft(tea, shanghai, [24, 48, 24], buyer, days_ago=1, notes="春茶上市，先订三款")
    large = _draft(porcelain, shanghai, [40, 16, 8], buyer, days_ago=2, notes="双十一备货")

    overdue = _draft(tea, chengdu, [48, 24], buyer, days_ago=12)
    inventory.send_purchase_order(overdue.pk, actor=buyer)
    _date_back(overdue, 12)

    partly = _draft(kyoto, shanghai, [20, 30], buyer, days_ago=40, exchange_rate=CNY_PER_YEN)
    inventory.send_purchase_order(partly.pk, actor=manager)
    _receive(partly, [{"good": 9, "damaged": 1}, {"good": 12}], operator)
    _date_back(partly, 40)

    received = _draft(tea, shanghai, [24, 24], buyer, days_ago=20)
    inventory.send_purchase_order(received.pk, actor=buyer)
    _receive(received, [{"good": 24}, {"good": 25, "reason": "供应商多发一盒，按到货入库"}], operator)
    _date_back(received, 20)

    closed = _draft(porcelain, chengdu, [16, 8], buyer, days_ago=45)
    inventory.approve_purchase_order(closed.pk, actor=manager)
    inventory.send_purchase_order(closed.pk, actor=buyer)
    _receive(closed, [{"good": 15, "damaged": 1}, {"good": 6}], operator)
    _receive(closed, [{}, {"no_more_to_come": True, "reason": "供应商停产，余下两件不再发货"}], operator)
    inventory.close_purchase_order(closed.pk, actor=buyer)
    _date_back(closed, 45)

    cancelled = _draft(tea, shanghai, [24], buyer, days_ago=8)
    inventory.send_purchase_order(cancelled.pk, actor=buyer)
    inventory.cancel_purchase_order(cancelled.pk, reason="供应商缺货，改向其他茶厂采购", actor=buyer)
    _date_back(cancelled, 8)

    states = sorted({purchase_order.get_status_display() for purchase_order in PurchaseOrder.objects.all()})
    approval = "needs approval" if inventory.purchase_order_needs_approval(large) else "under the threshold"
    return (
        f"{Supplier.objects.count()} suppliers supplying {SupplierProduct.objects.count()} products, "
        f"{PurchaseOrder.objects.count()} purchase orders ({', '.join(map(str, states))}; "
        f"draft {draft.number}, {large.number} {approval})"
    )
