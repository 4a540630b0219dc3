"""What each product sold in each warehouse, as the last planning run found it: a snapshot the run
replaces whole, read by the replenishment page and the run-out warnings."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from inventory.models import Product, Warehouse

RATE = {"max_digits": 12, "decimal_places": 3}


class ProductDemand(models.Model):
    """Units of one product sold from one warehouse over the last 7, 30 and 90 days, the mean per day
    over each, how much the daily figure varies, and how many days what is available lasts at the
    30-day rate. A line's units count where its stock was allocated; a line with nothing allocated
    (an order held as short, or waiting for its payment without a reservation) counts at the
    warehouse orders are filled from first (the active one of lowest priority number)."""

    # A snapshot of 30,000 rows rewritten whole by every run: foreign-key triggers on each row took
    # a second of the run, for rows that only ever point at products and warehouses read a moment
    # before in the same transaction (and products and warehouses are not deleted: their stock
    # levels and order lines protect them). The unique constraint's index serves lookups by product.
    product = models.ForeignKey(
        Product,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("product"),
        db_constraint=False,
        db_index=False,
    )
    warehouse = models.ForeignKey(
        Warehouse,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("warehouse"),
        db_constraint=False,
        db_index=False,
    )
    units_7 = models.PositiveIntegerField(_("sold in 7 days"), default=0)
    units_30 = models.PositiveIntegerField(_("sold in 30 days"), default=0)
    units_90 = models.PositiveIntegerField(_("sold in 90 days"), default=0)
    daily_rate_7 = models.DecimalField(_("per day over 7 days"), default=0, **RATE)
    daily_rate_30 = models.DecimalField(_("per day over 30 days"), default=0, **RATE)
    daily_rate_90 = models.DecimalField(_("per day over 90 days"), default=0, **RATE)
    # The standard deviation of the 90 daily figures, days without a sale counted as 0.
    daily_deviation = models.DecimalField(_("daily variability"), default=0, **RATE)
    on_hand = models.IntegerField(_("on hand"), default=0)
    available = models.IntegerField(_("available"), default=0)
    # Empty when nothing sold in 30 days: at that rate the stock never runs out.
    days_of_cover = models.DecimalField(_("days of cover"), max_digits=12, decimal_places=1, null=True, blank=True)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("product demand")
        verbose_name_plural = _("product demand")
        ordering = ["product", "warehouse"]
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="one_demand_per_product_and_warehouse"),
        ]

    def __str__(self):
        return f"{self.product_id} @ {self.warehouse_id}: {self.daily_rate_30}/d"
