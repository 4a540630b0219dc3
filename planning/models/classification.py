"""ABC classes, turnover, dead stock and stock value: the thresholds a manager edits, and the
snapshot the classification writes for the inventory page to read (docs/architecture.md, "Jobs":
written by a scheduled command, or on demand from the page).

A snapshot is written whole in one transaction and replaces the one before it, so the page always
reads one consistent set of figures, as fast at 10,000 products as at 100."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.models import OneRowSettings, who_acted
from core.permissions import Planning, codename
from inventory.models import AbcClass, Product, Warehouse

MONEY = {"max_digits": 16, "decimal_places": 2}
SHARE = {"max_digits": 5, "decimal_places": 2}


class ClassificationSettings(OneRowSettings):
    """How products are classified and what counts as dead stock."""

    period_days = models.PositiveSmallIntegerField(
        _("period (days)"),
        default=90,
        validators=[MinValueValidator(7), MaxValueValidator(730)],
        help_text=_("Revenue, units sold and turnover are counted over this many days up to now."),
    )
    a_share = models.DecimalField(
        _("class A: share of revenue (%)"),
        default=Decimal("80"),
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("99"))],
        help_text=_("The best sellers that together bring this share of revenue are class A."),
        **SHARE,
    )
    b_share = models.DecimalField(
        _("class B: share of revenue (%)"),
        default=Decimal("15"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("99"))],
        help_text=_("The next ones, bringing this share, are class B; the rest (and products not sold) are C."),
        **SHARE,
    )
    dead_after_days = models.PositiveSmallIntegerField(
        _("dead stock after (days)"),
        default=90,
        validators=[MinValueValidator(7), MaxValueValidator(730)],
        help_text=_("Stock on hand of a product not sold for this many days is dead stock."),
    )

    class Meta:
        verbose_name = _("classification settings")
        verbose_name_plural = _("classification settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(a_share__gt=0, b_share__gte=0, a_share__lt=Decimal("100") - F("b_share")),
                name="classification_shares_leave_room_for_c",
                violation_error_message=_(
                    "Classes A and B together must stay under 100%% of revenue, so that class C keeps a share."
                ),
            ),
        ]

    def __str__(self):
        return str(_("Classification settings"))

    @property
    def c_share(self):
        return Decimal("100") - self.a_share - self.b_share


class InventorySnapshot(models.Model):
    """One computation of the classification and the stock figures; only the newest is kept."""

    computed_at = models.DateTimeField(_("computed at"))
    period_start = models.DateTimeField(_("period from"))
    period_end = models.DateTimeField(_("period to"))
    dead_since = models.DateTimeField(_("no sale since"))
    a_share = models.DecimalField(_("class A share (%)"), **SHARE)
    b_share = models.DecimalField(_("class B share (%)"), **SHARE)
    revenue = models.DecimalField(_("revenue"), **MONEY)
    computed_by = who_acted(_("computed by"))
    seconds = models.FloatField(_("seconds taken"), default=0)

    class Meta:
        verbose_name = _("inventory figures")
        verbose_name_plural = _("inventory figures")
        ordering = ["-computed_at", "-id"]
        default_permissions = ()
        permissions = [
            (codename(Planning.VIEW_INVENTORY_FIGURES), _("Can see the inventory page and its workbook")),
            (codename(Planning.CLASSIFY_PRODUCTS), _("Can recompute ABC classes and the inventory figures")),
        ]

    def __str__(self):
        return f"{self.computed_at:%Y-%m-%d %H:%M}"

    @property
    def period_days(self):
        return round((self.period_end - self.period_start).total_seconds() / 86400)

    @property
    def c_share(self):
        return Decimal("100") - self.a_share - self.b_share


class ClassFigure(models.Model):
    """One ABC class in a snapshot: how many products, and the revenue they brought."""

    snapshot = models.ForeignKey(InventorySnapshot, on_delete=models.CASCADE, related_name="classes")
    abc_class = models.CharField(_("ABC class"), max_length=1, choices=AbcClass.choices)
    products = models.PositiveIntegerField(_("products"))
    revenue = models.DecimalField(_("revenue"), **MONEY)
    stock_value = models.DecimalField(_("stock value"), **MONEY)

    class Meta:
        verbose_name = _("class figure")
        verbose_name_plural = _("class figures")
        ordering = ["snapshot", "abc_class"]
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["snapshot", "abc_class"], name="one_figure_per_class")]

    def __str__(self):
        return f"{self.abc_class}: {self.products}"


class WarehouseFigure(models.Model):
    """One warehouse in a snapshot: stock value now, its average over the period, the cost of what
    it sold, and its dead stock."""

    snapshot = models.ForeignKey(InventorySnapshot, on_delete=models.CASCADE, related_name="warehouses")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+")
    products = models.PositiveIntegerField(_("products"))
    units_on_hand = models.BigIntegerField(_("units on hand"))
    stock_value = models.DecimalField(_("stock value"), **MONEY)
    average_stock_value = models.DecimalField(_("average stock value"), **MONEY)
    cost_of_sales = models.DecimalField(_("cost of goods sold"), **MONEY)
    dead_products = models.PositiveIntegerField(_("dead stock products"))
    dead_value = models.DecimalField(_("dead stock value"), **MONEY)

    class Meta:
        verbose_name = _("warehouse figure")
        verbose_name_plural = _("warehouse figures")
        ordering = ["snapshot", "warehouse__priority", "warehouse__code"]
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["snapshot", "warehouse"], name="one_figure_per_warehouse")]

    def __str__(self):
        return f"{self.warehouse_id}: {self.stock_value}"

    @property
    def turnover(self):
        """Cost of goods sold ÷ average stock value: how many times the stock turned over."""
        if not self.average_stock_value:
            return None
        return (self.cost_of_sales / self.average_stock_value).quantize(Decimal("0.01"))

    def days_of_inventory(self, period_days):
        """The days the average stock lasted at the period's rate of sales."""
        if not self.cost_of_sales:
            return None
        return (period_days * self.average_stock_value / self.cost_of_sales).quantize(Decimal("0.1"))


class StockFigure(models.Model):
    """One product in one warehouse in a snapshot. Turnover is units sold over the period ÷ the
    average units on hand over it; days of inventory is the period's days ÷ turnover."""

    snapshot = models.ForeignKey(InventorySnapshot, on_delete=models.CASCADE, related_name="stock")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+")
    abc_class = models.CharField(_("ABC class"), max_length=1, choices=AbcClass.choices)
    on_hand = models.IntegerField(_("on hand"))
    unit_cost = models.DecimalField(_("unit cost"), max_digits=12, decimal_places=2)
    stock_value = models.DecimalField(_("stock value"), **MONEY)
    units_sold = models.IntegerField(_("units sold"))
    average_on_hand = models.DecimalField(_("average on hand"), max_digits=14, decimal_places=2)
    turnover = models.DecimalField(_("turnover"), max_digits=12, decimal_places=2, null=True)
    days_of_inventory = models.DecimalField(_("days of inventory"), max_digits=12, decimal_places=1, null=True)
    last_sold_at = models.DateTimeField(_("last sold"), null=True)
    dead = models.BooleanField(_("dead stock"))

    class Meta:
        verbose_name = _("stock figure")
        verbose_name_plural = _("stock figures")
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "product", "warehouse"], name="one_figure_per_stock_level")
        ]
        indexes = [
            models.Index(fields=["snapshot", "-stock_value", "id"], name="stock_figure_by_value"),
            models.Index(fields=["snapshot", "warehouse", "-stock_value", "id"], name="stock_figure_by_house_value"),
            models.Index(fields=["snapshot", "-stock_value", "id"], condition=Q(dead=True), name="dead_stock_by_value"),
        ]

    def __str__(self):
        return f"{self.product_id} @ {self.warehouse_id}"
