"""The demo's ABC classes and inventory figures: two discontinued products left on the shelves since
spring, never sold since, so the inventory page has dead stock to list, then the classification as
the nightly command runs it."""

from datetime import timedelta
from decimal import Decimal

from core.actors import SYSTEM
from inventory import services as inventory
from inventory.models import Product, StockMovement
from planning import services as planning

LEFT_ON_THE_SHELF = [
    ("OLD-001", "旧款陶瓷茶壶（停产）", "88.00", "41.00", "SH", 24),
    ("OLD-002", "去年款保温杯（停产）", "59.00", "22.50", "GZ", 40),
]


def seed_classification(demo) -> str:
    """`demo` is the seed_demo command (its warehouses, users and clock)."""
    for sku, name, price, cost, code, quantity in LEFT_ON_THE_SHELF:
        product, _created = Product.objects.get_or_create(
            sku=sku, defaults={"name": name, "unit_price": Decimal(price), "cost": Decimal(cost)}
        )
        level = inventory.stock_level_for(product, demo.warehouses[code])
        inventory.receive(
            stock_level_id=level.pk,
            quantity=quantity,
            actor=demo.users["warehouse"],
            reference=f"RK{code}-0000",
            reason="期初入库",
        )
        StockMovement.objects.filter(stock_level=level).update(created_at=demo.started - timedelta(days=150))
    snapshot = planning.recompute_classification(actor=SYSTEM)
    split = ", ".join(f"{figure.abc_class} {figure.products}" for figure in snapshot.classes.order_by("abc_class"))
    dead = snapshot.stock.filter(dead=True).count()
    return f"ABC classes {split}; {dead} stock levels of dead stock on the inventory page"
