"""Daily rollups: what the dashboard reads instead of the order tables, so it costs the same with a
million orders as with ten thousand. Each row is a set of counters for one day (in the shop's time
zone, settings.TIME_ZONE) and one combination of dimensions; `services` adds to them as orders,
payments and shipments move, and `rebuild_rollups` recomputes them from those records.

Dimensions are plain ids, not foreign keys: a rollup row is a counter, and adding to it must not lock
or wait on the channel, warehouse, product or person it counts. 0 stands for "not tied to one"."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.permissions import Analytics, codename
from orders.models import Order

MONEY = {"max_digits": 16, "decimal_places": 2, "default": 0}


class Rollup(models.Model):
    """A row of counters. KEY names the columns that identify the row (the unique constraint);
    every other column but the id is an amount that only ever grows by increments."""

    KEY = ()

    day = models.DateField(_("day"))

    class Meta:
        abstract = True

    @classmethod
    def amount_fields(cls):
        return [f.attname for f in cls._meta.concrete_fields if f.attname not in cls.KEY and not f.primary_key]


class DailyOrders(Rollup):
    """Orders placed on a day through a channel, and what has become of them since: paid, cancelled,
    returned to the shop after they left (intercepted or refused at the door), how far through the order cycle they got (the status funnel), and the revenue and cost of goods of those delivered."""

    KEY = ("day", "channel_id")

    channel_id = models.PositiveIntegerField(_("channel"))
    orders = models.PositiveIntegerField(_("orders"), default=0)
    gmv = models.DecimalField(_("order value"), **MONEY)
    paid_orders = models.PositiveIntegerField(_("paid in full"), default=0)
    cancelled_orders = models.PositiveIntegerField(_("cancelled"), default=0)
    returned_orders = models.PositiveIntegerField(_("returned to the shop"), default=0)
    reached_confirmed = models.PositiveIntegerField(_("confirmed"), default=0)
    reached_picking = models.PositiveIntegerField(_("picking started"), default=0)
    reached_packed = models.PositiveIntegerField(_("packed"), default=0)
    reached_shipped = models.PositiveIntegerField(_("shipped"), default=0)
    reached_delivered = models.PositiveIntegerField(_("delivered"), default=0)
    reached_completed = models.PositiveIntegerField(_("completed"), default=0)
    # The goods of the orders that reached delivered: their line totals, and what they cost the
    # shop (each line's units × its unit cost when placed, to the cent), for the gross margin.
    delivered_revenue = models.DecimalField(_("revenue of delivered orders"), **MONEY)
    delivered_cost = models.DecimalField(_("cost of goods of delivered orders"), **MONEY)

    class Meta:
        verbose_name = _("orders per day")
        verbose_name_plural = _("orders per day")
        constraints = [models.UniqueConstraint(fields=["day", "channel_id"], name="daily_orders_key")]
        permissions = [
            (codename(Analytics.VIEW_DASHBOARD), _("Can see the business and staff figures of the dashboard"))
        ]


class DailyProvinceOrders(Rollup):
    """Orders placed on a day through a channel, per delivery province."""

    KEY = ("day", "channel_id", "province")

    channel_id = models.PositiveIntegerField(_("channel"))
    province = models.CharField(_("province"), max_length=50)
    # Signed: an order whose province is corrected moves with a -1 here and a +1 there, and SQLite
    # checks a row's constraints before it finds the row to add to.
    orders = models.IntegerField(_("orders"), default=0)
    gmv = models.DecimalField(_("order value"), **MONEY)

    class Meta:
        verbose_name = _("orders per day and province")
        verbose_name_plural = _("orders per day and province")
        constraints = [
            models.UniqueConstraint(fields=["day", "channel_id", "province"], name="daily_province_orders_key"),
        ]


class DailyProductSales(Rollup):
    """Units and revenue of a product in the orders placed on a day through a channel."""

    KEY = ("day", "channel_id", "product_id")

    channel_id = models.PositiveIntegerField(_("channel"))
    product_id = models.PositiveIntegerField(_("product"))
    quantity = models.PositiveIntegerField(_("quantity"), default=0)
    revenue = models.DecimalField(_("revenue"), **MONEY)

    class Meta:
        verbose_name = _("product sales per day")
        verbose_name_plural = _("product sales per day")
        constraints = [
            models.UniqueConstraint(fields=["day", "channel_id", "product_id"], name="daily_product_sales_key"),
        ]


class DailyStageTime(Rollup):
    """Orders that left a status on a day, and how long they had spent in it (from the event log)."""

    KEY = ("day", "channel_id", "status")

    channel_id = models.PositiveIntegerField(_("channel"))
    status = models.CharField(_("status"), max_length=20, choices=Order.Status.choices)
    stays = models.PositiveIntegerField(_("orders"), default=0)
    seconds = models.BigIntegerField(_("seconds in the status"), default=0)

    class Meta:
        verbose_name = _("time in a status per day")
        verbose_name_plural = _("time in a status per day")
        constraints = [models.UniqueConstraint(fields=["day", "channel_id", "status"], name="daily_stage_time_key")]


class DailyShipments(Rollup):
    """Parcels of a warehouse and channel dispatched on a day (with the time since the order was
    placed), and parcels delivered on a day (with the time since dispatch and whether they arrived
    by the promised date)."""

    KEY = ("day", "channel_id", "warehouse_id")

    channel_id = models.PositiveIntegerField(_("channel"))
    warehouse_id = models.PositiveIntegerField(_("warehouse"))
    dispatched = models.PositiveIntegerField(_("dispatched"), default=0)
    order_to_dispatch_seconds = models.BigIntegerField(_("seconds from order to dispatch"), default=0)
    delivered = models.PositiveIntegerField(_("delivered"), default=0)
    delivery_timed = models.PositiveIntegerField(_("delivered with a dispatch time"), default=0)
    dispatch_to_delivery_seconds = models.BigIntegerField(_("seconds from dispatch to delivery"), default=0)
    promised = models.PositiveIntegerField(_("delivered with a promised date"), default=0)
    on_time = models.PositiveIntegerField(_("delivered by the promised date"), default=0)

    class Meta:
        verbose_name = _("shipments per day")
        verbose_name_plural = _("shipments per day")
        constraints = [
            models.UniqueConstraint(fields=["day", "channel_id", "warehouse_id"], name="daily_shipments_key"),
        ]


class DailyDispatchDeadlines(Rollup):
    """Orders of a channel whose first parcel left on a day and that had a ship-by time, and how many
    of them left by it (docs/architecture.md, "Ship-by deadlines"). Each order counts once, on the day
    its first parcel left (`Order.shipped_at`), whichever warehouse it left from."""

    KEY = ("day", "channel_id")

    channel_id = models.PositiveIntegerField(_("channel"))
    dispatched_with_deadline = models.PositiveIntegerField(_("dispatched with a ship-by time"), default=0)
    dispatched_on_time = models.PositiveIntegerField(_("dispatched by the ship-by time"), default=0)

    class Meta:
        verbose_name = _("dispatch deadlines per day")
        verbose_name_plural = _("dispatch deadlines per day")
        constraints = [models.UniqueConstraint(fields=["day", "channel_id"], name="daily_dispatch_deadlines_key")]


class Step(models.TextChoices):
    """The steps of the order cycle a person is credited with."""

    REVIEW = "review", _("Reviewed")
    PICK = "pick", _("Picked")
    PACK = "pack", _("Packed")
    DISPATCH = "dispatch", _("Dispatched")


class DailyHandling(Rollup):
    """Steps a person finished on a day, by how long each had waited for them: the time falls in the
    bucket that starts at `took_at_least` seconds (see services.HANDLING_BUCKETS), which is what lets
    the median be read from a rollup. Reviews and picks are per order and tied to no warehouse (0)."""

    KEY = ("day", "user_id", "step", "warehouse_id", "took_at_least")

    user_id = models.PositiveIntegerField(_("person"))
    step = models.CharField(_("step"), max_length=10, choices=Step.choices)
    warehouse_id = models.PositiveIntegerField(_("warehouse"))
    took_at_least = models.PositiveIntegerField(_("took at least (seconds)"))
    handled = models.PositiveIntegerField(_("handled"), default=0)

    class Meta:
        verbose_name = _("handling per day")
        verbose_name_plural = _("handling per day")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "user_id", "step", "warehouse_id", "took_at_least"],
                name="daily_handling_key",
            ),
        ]


class DailyPacking(Rollup):
    """A packer's work at the packing station on a day in one warehouse: the units of the parcels
    they closed that day, the time from each of those parcels' first scan to its closing (for the
    parcels whose first scan is known), and the scans the station refused them that day (by when
    the scan was refused). Accuracy and units per hour are read from these sums."""

    KEY = ("day", "user_id", "warehouse_id")

    user_id = models.PositiveIntegerField(_("person"))
    warehouse_id = models.PositiveIntegerField(_("warehouse"))
    units = models.PositiveIntegerField(_("units packed"), default=0)
    timed_units = models.PositiveIntegerField(_("units packed with a first scan"), default=0)
    seconds = models.BigIntegerField(_("seconds from first scan to closing"), default=0)
    refused_scans = models.PositiveIntegerField(_("refused scans"), default=0)

    class Meta:
        verbose_name = _("packing per day")
        verbose_name_plural = _("packing per day")
        constraints = [
            models.UniqueConstraint(fields=["day", "user_id", "warehouse_id"], name="daily_packing_key"),
        ]


ROLLUPS = [
    DailyOrders,
    DailyProvinceOrders,
    DailyProductSales,
    DailyStageTime,
    DailyShipments,
    DailyDispatchDeadlines,
    DailyHandling,
    DailyPacking,
]


class ArchivedFigures(models.Model):
    """What archived orders add to one rollup row, kept when they left the live tables so that
    `rebuild_rollups` gives the same figures after archiving (docs/architecture.md, "Archive").
    One row per archiving batch and rollup row: written once, never updated, summed when rebuilding."""

    rollup = models.CharField(_("rollup"), max_length=64)
    # The key's day and channel again as columns, for figures the dashboard reads by period.
    day = models.DateField(_("day"))
    channel_id = models.PositiveIntegerField(_("channel"), default=0)
    key = models.JSONField(_("row key"), encoder=DjangoJSONEncoder)
    amounts = models.JSONField(_("amounts"), encoder=DjangoJSONEncoder)
    archived_at = models.DateTimeField(_("archived at"), auto_now_add=True)

    class Meta:
        verbose_name = _("figures of archived orders")
        verbose_name_plural = _("figures of archived orders")
        indexes = [models.Index(fields=["rollup", "day"], name="archived_figures_by_day")]
