from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.models import who_acted
from core.permissions import Inventory, codename


class AbcClass(models.TextChoices):
    """A product's share of revenue: A the few that bring most of it, C the many that bring little."""

    A = "A", _("A")
    B = "B", _("B")
    C = "C", _("C")


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    barcode = models.CharField(_("barcode"), max_length=64, unique=True, null=True, blank=True)
    unit_price = models.DecimalField(
        _("unit price"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    cost = models.DecimalField(
        _("cost"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    weight_kg = models.DecimalField(
        _("weight (kg)"),
        max_digits=8,
        decimal_places=3,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    fragile = models.BooleanField(_("fragile"), default=False)
    active = models.BooleanField(_("active"), default=True)
    # Written only by planning's classification (docs/architecture.md, "The apps"): stock counts
    # are scheduled by it, and inventory cannot read sales.
    abc_class = models.CharField(
        _("ABC class"), max_length=1, choices=AbcClass.choices, blank=True, default="", editable=False
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="product_price_not_negative"),
            models.CheckConstraint(condition=Q(cost__gte=0), name="product_cost_not_negative"),
        ]

    def __str__(self):
        return f"{self.sku} · {self.name}"


class Warehouse(models.Model):
    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=255, blank=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=100, help_text=_("Orders are filled from the lowest number first.")
    )
    active = models.BooleanField(_("active"), default=True)
    # Set and lifted only through inventory.services (an incident's plan, docs/architecture.md,
    # "Incidents"): empty means the warehouse works as usual.
    picking_paused_because = models.CharField(
        _("picking paused because"),
        max_length=200,
        blank=True,
        default="",
        editable=False,
        help_text=_("While this says why, no pick list is made for this warehouse."),
    )
    reservations_paused_because = models.CharField(
        _("stock not promised because"),
        max_length=200,
        blank=True,
        default="",
        editable=False,
        help_text=_("While this says why, new orders reserve no stock here (its figures are in doubt)."),
    )

    class Meta:
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")
        ordering = ["priority", "code"]

    def __str__(self):
        return f"{self.code} · {self.name}"


class StockLevel(models.Model):
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="stock_levels", verbose_name=_("product")
    )
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="stock_levels", verbose_name=_("warehouse")
    )
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)
    quarantined = models.IntegerField(
        _("quarantined"),
        default=0,
        help_text=_("Damaged or returned goods kept apart: not on hand and never for sale."),
    )
    reorder_point = models.PositiveIntegerField(_("reorder point"), default=0)
    bin_location = models.CharField(_("bin location"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        ordering = ["warehouse__priority", "product__sku"]
        permissions = [
            (codename(Inventory.RECEIVE_STOCK), _("Can book goods received")),
            (codename(Inventory.ADJUST_STOCK), _("Can adjust stock with a reason")),
            (codename(Inventory.COUNT_STOCK), _("Can record stock counts")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="one_stock_level_per_product_and_warehouse"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"),
            models.CheckConstraint(condition=Q(quarantined__gte=0), name="stock_quarantined_not_negative"),
        ]

    def __str__(self):
        return f"{self.product.sku} @ {self.warehouse.code}"

    @property
    def available(self):
        return self.on_hand - self.reserved


class StockMovement(models.Model):
    """One line of the stock ledger: every change of on-hand or reserved quantity, never edited."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Receipt")
        RESERVATION = "reservation", _("Reservation")
        RELEASE = "release", _("Release")
        SHIPMENT = "shipment", _("Shipment")
        RETURN = "return", _("Return")
        ADJUSTMENT = "adjustment", _("Adjustment")
        COUNT = "count", _("Stock count")
        QUARANTINE = "quarantine", _("Quarantine")
        WRITE_OFF = "write_off", _("Write-off")
        TRANSFER_OUT = "transfer_out", _("Transfer sent")
        TRANSFER_IN = "transfer_in", _("Transfer received")

    stock_level = models.ForeignKey(
        StockLevel, on_delete=models.PROTECT, related_name="movements", verbose_name=_("stock level")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    on_hand_change = models.IntegerField(_("on-hand change"), default=0)
    reserved_change = models.IntegerField(_("reserved change"), default=0)
    quarantined_change = models.IntegerField(_("quarantine change"), default=0)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    actor = who_acted(_("by"))
    # Goods booked against a purchase order name its line (docs/architecture.md, "Suppliers and
    # purchase orders"): what arrived is traced from the ledger to the order, and back.
    purchase_order_line = models.ForeignKey(
        "inventory.PurchaseOrderLine",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="movements",
        verbose_name=_("purchase order line"),
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["stock_level", "-created_at"], name="movement_by_stock_level")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.stock_level_id}: {self.on_hand_change:+d}/{self.reserved_change:+d}"


class BundleComponent(models.Model):
    """One component of a bundle (a kit): a real product and how many of it one bundle holds. A
    product with components is a bundle: it holds no stock of its own, its availability is its
    components' (`selectors.bundle_availability`), and intake expands it into component lines
    (docs/architecture.md, "Bundles, gifts and channel SKUs")."""

    bundle = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="components", verbose_name=_("bundle"))
    component = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="in_bundles", verbose_name=_("component")
    )
    quantity = models.PositiveIntegerField(_("quantity per bundle"), default=1, validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("bundle component")
        verbose_name_plural = _("bundle components")
        ordering = ["bundle", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bundle", "component"], name="bundle_component_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="bundle_component_quantity_positive"),
            models.CheckConstraint(condition=~Q(bundle=F("component")), name="bundle_not_its_own_component"),
        ]

    def __str__(self):
        return f"{self.component.sku} × {self.quantity}"
