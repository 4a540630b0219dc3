"""Buying stock (docs/architecture.md, "Suppliers and purchase orders"): who supplies what at which
cost, the purchase orders sent to them and what arrived against each line."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from core.models import OneRowSettings, who_acted
from core.permissions import Inventory, codename

from .stock import Product, Warehouse

CURRENCY_CODE = r"^[A-Z]{3}$"
currency_code = RegexValidator(CURRENCY_CODE, _("Give a three-letter currency code in capitals, such as CNY or USD."))


def shop_currency() -> str:
    """The currency the shop keeps its books in: the one an order carries when its channel says none."""
    return settings.DEFAULT_CURRENCY


class Supplier(models.Model):
    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=200)
    contact_name = models.CharField(_("contact"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("email"), blank=True)
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default=shop_currency,
        validators=[currency_code],
        help_text=_("What the supplier invoices in; its costs and minimum order are in it."),
    )
    lead_time_days = models.PositiveIntegerField(
        _("lead time (days)"),
        default=7,
        validators=[MinValueValidator(1)],
        help_text=_("Days from sending a purchase order to the goods arriving."),
    )
    minimum_order_value = models.DecimalField(
        _("minimum order value"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("In the supplier's currency; 0 for none."),
    )
    payment_terms = models.CharField(_("payment terms"), max_length=200, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(currency__regex=CURRENCY_CODE), name="supplier_currency_iso"),
            models.CheckConstraint(condition=Q(lead_time_days__gt=0), name="supplier_lead_time_positive"),
            models.CheckConstraint(condition=Q(minimum_order_value__gte=0), name="supplier_minimum_order_not_negative"),
        ]

    def __str__(self):
        return f"{self.code} · {self.name}"


class SupplierProduct(models.Model):
    """A product as one supplier sells it: their code for it, its cost, the pack it comes in and the
    fewest they take. A product has at most one preferred supplier, the one purchase orders and
    replenishment turn to first."""

    supplier = models.ForeignKey(
        Supplier, on_delete=models.CASCADE, related_name="products", verbose_name=_("supplier")
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="supplied_by", verbose_name=_("product")
    )
    supplier_sku = models.CharField(_("supplier's code"), max_length=64, blank=True)
    unit_cost = models.DecimalField(
        _("unit cost"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("In the supplier's currency."),
    )
    pack_size = models.PositiveIntegerField(
        _("pack size"), default=1, validators=[MinValueValidator(1)], help_text=_("Units in one pack.")
    )
    minimum_quantity = models.PositiveIntegerField(
        _("minimum quantity"), default=1, validators=[MinValueValidator(1)], help_text=_("Fewest units per order.")
    )
    preferred = models.BooleanField(_("preferred supplier"), default=False)

    class Meta:
        verbose_name = _("supplier product")
        verbose_name_plural = _("supplier products")
        ordering = ["supplier", "product__sku"]
        constraints = [
            models.UniqueConstraint(fields=["supplier", "product"], name="supplier_product_once"),
            models.UniqueConstraint(
                fields=["product"], condition=Q(preferred=True), name="one_preferred_supplier_per_product"
            ),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="supplier_product_cost_not_negative"),
            models.CheckConstraint(condition=Q(pack_size__gte=1), name="supplier_product_pack_positive"),
            models.CheckConstraint(condition=Q(minimum_quantity__gte=1), name="supplier_product_minimum_positive"),
        ]

    def __str__(self):
        return f"{self.supplier.code} · {self.product.sku}"


class PurchasingSettings(OneRowSettings):
    """How purchase orders are approved; one row, edited by a manager."""

    approval_threshold = models.DecimalField(
        _("approval needed above"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("10000"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_(
            "A purchase order worth more than this (in the shop's currency) is sent only once a manager approved it."
        ),
    )

    class Meta:
        verbose_name = _("purchasing settings")
        verbose_name_plural = _("purchasing settings")
        constraints = [
            models.CheckConstraint(condition=Q(approval_threshold__gte=0), name="purchasing_threshold_not_negative"),
        ]

    def __str__(self):
        return str(_("Purchasing settings"))


class PurchaseOrder(FSMModelMixin, models.Model):
    """An order to a supplier for goods delivered to one warehouse. Costs are in the supplier's
    currency; `exchange_rate` turns them into the shop's (1 unit of the order's currency is that
    many of the shop's) and is required when the two differ."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SENT = "sent", _("Sent")
        PARTIALLY_RECEIVED = "partially_received", _("Partially received")
        RECEIVED = "received", _("Received")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")

    OPEN = [Status.DRAFT, Status.SENT, Status.PARTIALLY_RECEIVED]
    AWAITING_GOODS = [Status.SENT, Status.PARTIALLY_RECEIVED]

    number = models.CharField(_("purchase order number"), max_length=24, unique=True, null=True, editable=False)
    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, related_name="purchase_orders", verbose_name=_("supplier")
    )
    warehouse = models.ForeignKey(
        Warehouse,
        on_delete=models.PROTECT,
        related_name="purchase_orders",
        verbose_name=_("deliver to"),
        help_text=_("The warehouse the goods arrive at."),
    )
    status = FSMField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, protected=True)
    currency = models.CharField(_("currency"), max_length=3, validators=[currency_code])
    exchange_rate = models.DecimalField(
        _("exchange rate"),
        max_digits=14,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_("Units of the shop's currency for one unit of this order's; only when they differ."),
    )
    expected_on = models.DateField(_("expected on"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    cancel_reason = models.CharField(_("why cancelled"), max_length=255, blank=True)
    created_by = who_acted(_("drafted by"))
    approved_by = who_acted(_("approved by"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("purchase order")
        verbose_name_plural = _("purchase orders")
        ordering = ["-created_at", "-id"]
        permissions = [
            (codename(Inventory.SEND_PURCHASE_ORDER), _("Can send, cancel and close purchase orders")),
            (codename(Inventory.APPROVE_PURCHASE_ORDER), _("Can approve purchase orders above the threshold")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(currency__regex=CURRENCY_CODE), name="purchase_order_currency_iso"),
            models.CheckConstraint(
                condition=Q(exchange_rate__isnull=True) | Q(exchange_rate__gt=0),
                name="purchase_order_rate_positive",
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | ~Q(cancel_reason=""), name="purchase_order_cancel_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["status", "expected_on"], name="po_by_status_expected")]

    def __str__(self):
        return self.number or str(_("Purchase order (new)"))

    @transition(
        status,
        source=Status.DRAFT,
        target=Status.SENT,
        permission=Inventory.SEND_PURCHASE_ORDER,
        custom={"label": _("Send to the supplier")},
    )
    def send(self):
        self.sent_at = timezone.now()

    @transition(
        status,
        source=[Status.SENT, Status.PARTIALLY_RECEIVED],
        target=Status.PARTIALLY_RECEIVED,
        permission=Inventory.RECEIVE_STOCK,
        custom={"label": _("Receive goods")},
    )
    def receive_part(self):
        pass

    @transition(
        status,
        source=[Status.SENT, Status.PARTIALLY_RECEIVED],
        target=Status.RECEIVED,
        permission=Inventory.RECEIVE_STOCK,
    )
    def receive_all(self):
        pass

    @transition(
        status,
        source=Status.RECEIVED,
        target=Status.CLOSED,
        permission=Inventory.SEND_PURCHASE_ORDER,
        custom={"label": _("Close")},
    )
    def close(self):
        pass

    @transition(
        status,
        source=[Status.DRAFT, Status.SENT],
        target=Status.CANCELLED,
        permission=Inventory.SEND_PURCHASE_ORDER,
        custom={"label": _("Cancel")},
    )
    def cancel(self):
        pass


class PurchaseOrderEvent(models.Model):
    """One step of a purchase order: its timeline."""

    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="events", verbose_name=_("purchase order")
    )
    from_status = models.CharField(_("from"), max_length=20)
    to_status = models.CharField(_("to"), max_length=20)
    transition = models.CharField(_("transition"), max_length=32)
    actor = who_acted(_("by"))
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("purchase order event")
        verbose_name_plural = _("purchase order events")
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"


class PurchaseOrderLine(models.Model):
    """One product ordered. What arrived is counted here as it is booked (good units into stock,
    damaged ones into quarantine); a line is done when all its units arrived or when the rest
    will not come (`closed_short`, with the reason)."""

    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="lines", verbose_name=_("purchase order")
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="purchase_order_lines", verbose_name=_("product")
    )
    quantity = models.PositiveIntegerField(_("quantity ordered"), validators=[MinValueValidator(1)])
    unit_cost = models.DecimalField(
        _("unit cost"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("In the purchase order's currency."),
    )
    expected_on = models.DateField(_("expected on"), null=True, blank=True)
    quantity_received = models.PositiveIntegerField(_("received"), default=0, editable=False)
    quantity_damaged = models.PositiveIntegerField(_("damaged"), default=0, editable=False)
    closed_short = models.BooleanField(_("no more to come"), default=False, editable=False)
    difference_reason = models.CharField(
        _("why the quantity differs"),
        max_length=255,
        blank=True,
        editable=False,
        help_text=_("Given when more or fewer units arrived than were ordered."),
    )

    class Meta:
        verbose_name = _("purchase order line")
        verbose_name_plural = _("purchase order lines")
        ordering = ["purchase_order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "product"], name="purchase_order_product_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="po_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="po_line_cost_not_negative"),
            models.CheckConstraint(condition=Q(quantity_received__gte=0), name="po_line_received_not_negative"),
            models.CheckConstraint(condition=Q(quantity_damaged__gte=0), name="po_line_damaged_not_negative"),
            models.CheckConstraint(
                condition=Q(quantity__gte=F("quantity_received") + F("quantity_damaged")) | ~Q(difference_reason=""),
                name="po_line_over_receipt_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.product.sku} × {self.quantity}"

    @property
    def arrived(self) -> int:
        return self.quantity_received + self.quantity_damaged

    @property
    def outstanding(self) -> int:
        """Units still to come: none once the line is closed short or fully arrived."""
        return 0 if self.closed_short else max(self.quantity - self.arrived, 0)

    @property
    def done(self) -> bool:
        return self.closed_short or self.arrived >= self.quantity
