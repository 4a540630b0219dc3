"""Test data. Stock is always booked through the inventory services so the ledger stays whole."""

from decimal import Decimal
from itertools import count

import factory
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from core.actors import SYSTEM
from inventory import services as inventory
from inventory.models import Product, Supplier, SupplierProduct, Warehouse
from logistics import services as logistics
from logistics.models import Carrier, CarrierService, Shipment
from orders import services as orders
from orders.models import Allocation, Channel


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    barcode = factory.Sequence(lambda n: f"690{n:010d}")
    unit_price = Decimal("25.00")
    cost = Decimal("10.00")
    weight_kg = Decimal("0.500")


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse

    code = factory.Sequence(lambda n: f"WH{n}")
    name = factory.Sequence(lambda n: f"Warehouse {n}")
    priority = factory.Sequence(lambda n: n + 1)


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier

    code = factory.Sequence(lambda n: f"SUP{n}")
    name = factory.Sequence(lambda n: f"Supplier {n}")
    currency = "CNY"
    lead_time_days = 10


class SupplierProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierProduct

    supplier = factory.SubFactory(SupplierFactory)
    product = factory.SubFactory(ProductFactory)
    supplier_sku = factory.Sequence(lambda n: f"S-{n:05d}")
    unit_cost = Decimal("8.00")


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("code",)

    code = "web"
    name = "Web shop"
    kind = Channel.Kind.WEB


class CarrierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Carrier
        django_get_or_create = ("code",)

    code = "sf"
    name = "SF Express"
    tracking_url_template = "https://www.sf-express.com/track?no={tracking_number}"


class CarrierServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CarrierService
        django_get_or_create = ("carrier", "code")

    carrier = factory.SubFactory(CarrierFactory)
    code = "standard"
    name = "Standard"
    kind = CarrierService.Kind.STANDARD
    base_fee = Decimal("8.00")
    fee_per_kg = Decimal("2.00")
    transit_days = 3


def stock(product, warehouse, quantity, *, bin_location=""):
    level = inventory.stock_level_for(product, warehouse)
    if bin_location:
        level.bin_location = bin_location
        level.save(update_fields=["bin_location"])
    if quantity:
        inventory.receive(stock_level_id=level.pk, quantity=quantity, actor=SYSTEM, reference="test stock")
    level.refresh_from_db()
    return level


def staff(role=None, username=None, **extra):
    """A staff user in the named role group (docs/architecture.md, "Who uses it"), or a superuser with role None."""
    username = username or f"{(role or 'admin').lower().replace(' ', '_')}_{User.objects.count() + 1}"
    if role is None:
        return User.objects.create_superuser(username=username, password="pw", **extra)
    user = User.objects.create_user(username=username, password="pw", is_staff=True, **extra)
    user.groups.add(Group.objects.get(name=role))
    return user


_order_ids = iter(range(1, 10**9))


def order_input(channel=None, *, lines, **overrides):
    """A valid order that passes every check: `lines` are (product or sku, quantity) pairs."""
    channel = channel or ChannelFactory()
    values = {
        "channel": channel,
        "channel_order_id": f"T-{next(_order_ids)}",
        "recipient": "王小明",
        "phone": "13800138000",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "address": "文三路 90 号",
        "postcode": "310012",
        "payment_method": "cod",
        "lines": [orders.LineInput(sku=getattr(item, "sku", item), quantity=quantity) for item, quantity in lines],
    }
    values.update(overrides)
    return orders.OrderInput(**values)


def place(channel=None, *, lines, actor=SYSTEM, **overrides):
    return orders.place_order(order_input(channel, lines=lines, **overrides), actor=actor).order


_buyers = count(1)


def buyer_apart() -> dict[str, str]:
    """A phone and street that no other order of the run uses, so the repeat-order risk rules never
    hold an order sent to them."""
    n = next(_buyers)
    return {"phone": f"1360{n:07d}", "address": f"新华路 {n} 号"}


def place_apart(channel=None, *, lines, **overrides):
    """An order from a buyer of its own (buyer_apart), unless the overrides name the phone or street."""
    return place(channel, lines=lines, **{**buyer_apart(), **overrides})


_tracking_numbers = iter(range(1, 10**9))


def tracking_number():
    return f"SF{next(_tracking_numbers):013d}"


def _warehouses_waiting(order):
    return sorted(
        set(
            Allocation.objects.filter(line__order=order, state=Allocation.State.RESERVED).values_list(
                "stock_level__warehouse_id", flat=True
            )
        )
    )


def pick_all(order, *, actor=SYSTEM):
    """Put the order on a pick list in every warehouse that holds its goods and has none yet."""
    on_lists = set(order.shipments.filter(status__in=Shipment.OPEN).values_list("warehouse_id", flat=True))
    return [
        logistics.create_pick_wave(warehouse_id, [order.pk], actor=actor)
        for warehouse_id in _warehouses_waiting(order)
        if warehouse_id not in on_lists
    ]


def pack_all(order, *, actor=SYSTEM, weight_kg="1.2", package_count=1):
    """Scan every unit of the order's waiting parcels in by SKU and close them."""
    pick_all(order, actor=actor)
    packed = []
    for shipment in order.shipments.filter(status=Shipment.Status.PENDING).order_by("pk"):
        for line in shipment.lines.select_related("order_line"):
            for _unit in range(line.quantity - line.packed_quantity):
                logistics.pack_item(shipment.pk, line.order_line.sku, actor=actor)
        packed.append(
            logistics.finish_packing(shipment.pk, weight_kg=weight_kg, package_count=package_count, actor=actor)
        )
    return packed


def dispatch_all(order, *, actor=SYSTEM, carrier=None):
    """Pick, pack and hand every parcel of the order to the carrier, one tracking number each."""
    carrier = carrier or CarrierFactory()
    pack_all(order, actor=actor)
    return [
        logistics.dispatch(shipment.pk, carrier_id=carrier.pk, tracking_number=tracking_number(), actor=actor)
        for shipment in order.shipments.filter(status=Shipment.Status.PACKED).order_by("pk")
    ]


def remit(order, *, actor=SYSTEM):
    """The carrier pays over what a delivered cash-on-delivery order still owes (its remittance,
    recorded through the settlement service, without a remittance file)."""
    order.refresh_from_db()
    if order.payment_method == "cod" and order.balance_due > 0:
        orders.record_cod_remitted([orders.Remitted(order.pk, order.balance_due, "COD-REMITTED")], actor=actor)


def advance(order, to_status, *, actor=SYSTEM, remitted=True):
    """Take a confirmed order forward through the services, step by step, until it reaches
    `to_status` (picking, packed, shipped, delivered or completed); returns it fresh from the database.
    A cash-on-delivery order delivered has its cash remitted by the carrier too, as most tests want
    a delivered order paid; `remitted=False` leaves it owed by the carrier
    (docs/architecture.md, "Cash-on-delivery remittance")."""
    steps = [
        ("picking", lambda: pick_all(order, actor=actor)),
        ("packed", lambda: pack_all(order, actor=actor)),
        ("shipped", lambda: dispatch_all(order, actor=actor)),
        (
            "delivered",
            lambda: (
                [
                    logistics.mark_delivered(s.pk, actor=actor)
                    for s in order.shipments.filter(status__in=Shipment.ON_THE_WAY)
                ]
                + ([remit(order)] if remitted else [])
            ),
        ),
        ("completed", lambda: orders.complete(order.pk, actor=actor)),
    ]
    names = [name for name, _step in steps]
    if to_status not in names:
        raise ValueError(f"advance() goes to one of {names}, not {to_status!r}")
    for _name, step in steps[: names.index(to_status) + 1]:
        step()
    order.refresh_from_db()
    return order


def channel_client(channel):
    """An API client that speaks for `channel`, with a token issued to it."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {orders.issue_token(channel.pk, actor=SYSTEM).secret}")
    return client
