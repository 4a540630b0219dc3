"""Replenishment: the settings a manager edits, the suggestions of the last planning run and the
warnings of stock that will run out before a purchase could arrive."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import OneRowSettings
from core.permissions import Planning, codename
from inventory.models import Product, Supplier, Warehouse


class PlanningSettings(OneRowSettings):
    """How replenishment is computed; one row, edited by a manager."""

    service_level = models.DecimalField(
        _("service level (%)"),
        max_digits=4,
        decimal_places=1,
        default=Decimal("95.0"),
        validators=[MinValueValidator(Decimal("50.0")), MaxValueValidator(Decimal("99.9"))],
        help_text=_(
            "The share of lead times in which stock should not run out; a higher level keeps more safety stock."
        ),
    )
    review_period_days = models.PositiveIntegerField(
        _("review period (days)"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("A suggested purchase also covers the demand of this many days, until the next one."),
    )
    lead_time_without_supplier_days = models.PositiveIntegerField(
        _("lead time without a supplier (days)"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("Used for products that have no supplier yet."),
    )

    class Meta:
        verbose_name = _("planning settings")
        verbose_name_plural = _("planning settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(service_level__gte=50, service_level__lt=100), name="planning_service_level_range"
            ),
            models.CheckConstraint(condition=Q(review_period_days__gte=1), name="planning_review_period_positive"),
            models.CheckConstraint(
                condition=Q(lead_time_without_supplier_days__gte=1), name="planning_default_lead_time_positive"
            ),
        ]

    def __str__(self):
        return str(_("Planning settings"))


class RunOutWarning(models.Model):
    """Stock of one product in one warehouse that will run out before a purchase could arrive: what
    is available and incoming lasts fewer days, at the 30-day rate, than the lead time. The row
    exists while that is so; the buyers are told when it is made, so once per product and warehouse
    until the stock recovers and the row goes."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+", verbose_name=_("product"))
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+", verbose_name=_("warehouse"))
    days_of_cover = models.DecimalField(_("days of cover"), max_digits=12, decimal_places=1)
    lead_time_days = models.PositiveIntegerField(_("lead time (days)"))
    raised_at = models.DateTimeField(_("raised at"))

    class Meta:
        verbose_name = _("run-out warning")
        verbose_name_plural = _("run-out warnings")
        ordering = ["days_of_cover", "product"]
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="one_run_out_warning_per_stock"),
        ]

    def __str__(self):
        return f"{self.product_id} @ {self.warehouse_id}: {self.days_of_cover} < {self.lead_time_days}"


class ReplenishmentSuggestion(models.Model):
    """What the last planning run suggests for one product in one warehouse whose available and
    incoming stock is at or below its reorder point: buy from the supplier, or move from another
    warehouse that has plenty above its own reorder point. Replaced whole by each run; a suggestion
    turned into a purchase order or transfer is removed."""

    class Kind(models.TextChoices):
        PURCHASE = "purchase", _("Purchase")
        TRANSFER = "transfer", _("Transfer")

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+", verbose_name=_("product"))
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+", verbose_name=_("warehouse"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    # Empty when no active supplier supplies the product: it can be moved, not bought.
    supplier = models.ForeignKey(
        Supplier, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("supplier")
    )
    transfer_from = models.ForeignKey(
        Warehouse,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("move from"),
    )
    daily_rate = models.DecimalField(_("per day"), max_digits=12, decimal_places=3)
    daily_deviation = models.DecimalField(_("daily variability"), max_digits=12, decimal_places=3)
    days_of_cover = models.DecimalField(_("days of cover"), max_digits=12, decimal_places=1, null=True, blank=True)
    lead_time_days = models.PositiveIntegerField(_("lead time (days)"))
    on_hand = models.IntegerField(_("on hand"))
    available = models.IntegerField(_("available"))
    incoming = models.IntegerField(_("incoming"))
    safety_stock = models.PositiveIntegerField(_("safety stock"))
    reorder_point = models.PositiveIntegerField(_("reorder point"))
    quantity = models.PositiveIntegerField(_("suggested quantity"))
    unit_cost = models.DecimalField(_("unit cost"), max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("replenishment suggestion")
        verbose_name_plural = _("replenishment")
        ordering = ["supplier", "warehouse", "product"]
        permissions = [(codename(Planning.REPLENISH), _("Can turn suggestions into purchase orders and transfers"))]
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="one_suggestion_per_product_and_warehouse"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="suggestion_quantity_positive"),
            models.CheckConstraint(
                condition=Q(kind="purchase", transfer_from__isnull=True)
                | Q(kind="transfer", transfer_from__isnull=False),
                name="suggestion_transfer_names_its_source",
            ),
        ]

    def __str__(self):
        return f"{self.product_id} @ {self.warehouse_id}: {self.quantity}"

    @property
    def cost(self):
        if self.kind != self.Kind.PURCHASE or self.unit_cost is None:
            return None
        return self.unit_cost * self.quantity
