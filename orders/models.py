from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Right, Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from core.models import OneRowSettings, who_acted
from core.permissions import Inventory, Orders, codename
from core.privacy import mask_name
from inventory.models import Product, StockLevel
from inventory.selectors import KeepBack

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")


def keep_back_of(units: int | None, percent: Decimal | None) -> KeepBack | None:
    """What a stock buffer of these units or this percentage keeps back; None when neither is set
    (docs/architecture.md, "Stock per channel")."""
    if units is not None:
        return KeepBack(units=units)
    if percent is not None:
        return KeepBack(percent=percent)
    return None


class Channel(models.Model):
    class Kind(models.TextChoices):
        WEB = "web", _("Web shop")
        APP = "app", _("App")
        PHONE = "phone", _("Phone")
        MARKETPLACE = "marketplace", _("Marketplace")
        STORE = "store", _("Store")
        API = "api", _("API")
        EXCEL = "excel", _("Excel upload")

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    active = models.BooleanField(_("active"), default=True)
    # Set and lifted only through orders.services.hold_channel_intake / release_channel_intake; an
    # incident's plan holds a channel sending bad orders (docs/architecture.md, "Incidents").
    intake_held_because = models.CharField(
        _("new orders held because"),
        max_length=200,
        blank=True,
        default="",
        editable=False,
        help_text=_("While this says why, every new order of the channel is held for review."),
    )
    payment_time_limit_minutes = models.PositiveIntegerField(
        _("payment time limit (minutes)"),
        null=True,
        blank=True,
        help_text=_(
            "Orders of this channel still awaiting payment this long after they came in are cancelled "
            "(manage.py cancel_unpaid_orders). Empty: no limit."
        ),
    )
    # The ship-by deadline (docs/architecture.md, "Ship-by deadlines"): orders.services.deadlines
    # turns these into each order's dispatch_due_at.
    dispatch_within_hours = models.PositiveIntegerField(
        _("dispatch within (hours)"),
        null=True,
        blank=True,
        help_text=_(
            "Each order must leave the warehouse this many hours after it came in, or after it was paid "
            "if it waited for its payment. Empty: no ship-by deadline."
        ),
    )
    dispatch_cutoff_hour = models.PositiveSmallIntegerField(
        _("cut-off hour"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(23)],
        help_text=_(
            "Orders that come in (or are paid) at this hour of the shop's day or later count from midnight "
            "of the next day, as marketplaces count them. Empty: the clock starts when the order comes in."
        ),
    )

    # The default stock buffer (docs/architecture.md, "Stock per channel"): kept back from this
    # channel of every product without a buffer of its own (ChannelStockBuffer).
    stock_buffer_units = models.PositiveIntegerField(
        _("default stock buffer (units)"),
        null=True,
        blank=True,
        help_text=_("Units of every product kept back from this channel, unless the product has its own buffer."),
    )
    stock_buffer_percent = models.DecimalField(
        _("default stock buffer (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=_("Or a percentage of each product's available stock, rounded up. Fill in one of the two."),
    )

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(dispatch_cutoff_hour__lte=23), name="channel_dispatch_cutoff_is_an_hour_of_the_day"
            ),
            models.CheckConstraint(
                condition=Q(stock_buffer_units__isnull=True) | Q(stock_buffer_percent__isnull=True),
                name="channel_default_buffer_units_or_percent",
                violation_error_message=_("Keep back units or a percentage, not both: empty one of the two."),
            ),
            models.CheckConstraint(
                condition=Q(stock_buffer_percent__gte=0, stock_buffer_percent__lte=100)
                | Q(stock_buffer_percent__isnull=True),
                name="channel_default_buffer_percent_in_range",
            ),
        ]

    def __str__(self):
        return self.name

    def default_keep_back(self) -> KeepBack | None:
        """What the channel keeps back of a product without a buffer of its own."""
        return keep_back_of(self.stock_buffer_units, self.stock_buffer_percent)

    def clean(self):
        super().clean()
        if self.stock_buffer_units is not None and self.stock_buffer_percent is not None:
            raise ValidationError(
                {"stock_buffer_percent": _("Keep back units or a percentage, not both: empty one of the two.")}
            )
        if self.dispatch_cutoff_hour is not None and self.dispatch_within_hours is None:
            raise ValidationError(
                {
                    "dispatch_cutoff_hour": _(
                        "A cut-off hour needs a ship-by deadline: enter the hours to dispatch within."
                    )
                }
            )


class Customer(models.Model):
    """A buyer, found again by phone number (stored in international E.164 form)."""

    phone = models.CharField(_("phone"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    email = models.EmailField(_("email"), blank=True)
    created_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    anonymised_at = models.DateTimeField(
        _("anonymised at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the customer's name, phone and addresses were erased; their orders' figures stay."),
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at"]
        permissions = [
            (codename(Orders.EXPORT_CUSTOMER_DATA), _("Can hand a customer everything held about them")),
            (codename(Orders.ERASE_CUSTOMER_DATA), _("Can erase a customer's personal data")),
        ]

    def __str__(self):
        # Masked: admin titles, breadcrumbs and history show this to every role (docs/architecture.md,
        # "Personal data").
        return mask_name(self.name) or f"#{self.pk}"


class BlockedContact(models.Model):
    class Kind(models.TextChoices):
        PHONE = "phone", _("Phone")
        ADDRESS = "address", _("Address")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    value = models.CharField(
        _("value"),
        max_length=255,
        help_text=_("A phone number, or an address as province, city, district and street."),
    )
    reason = models.CharField(_("reason"), max_length=255)
    created_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("blocked phone or address")
        verbose_name_plural = _("blocklist")
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="blocked_contact_unique")]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.value}"


class IntakeSettings(OneRowSettings):
    """The thresholds of the automatic checks and risk rules; one row, edited by a manager."""

    high_value_threshold = models.DecimalField(_("high order value"), default=Decimal("5000.00"), **MONEY)
    new_customer_value_threshold = models.DecimalField(
        _("high value for a new customer"), default=Decimal("2000.00"), **MONEY
    )
    velocity_window_hours = models.PositiveIntegerField(_("repeat-order window (hours)"), default=24)
    velocity_max_orders = models.PositiveIntegerField(
        _("orders allowed to one phone or address in the window"), default=3
    )
    cod_limit = models.DecimalField(_("cash-on-delivery limit"), default=Decimal("3000.00"), **MONEY)
    hold_score = models.PositiveIntegerField(
        _("risk score that holds an order"),
        default=50,
        help_text=_("Orders whose risk score reaches this are held for review."),
    )
    reserve_stock_awaiting_payment = models.BooleanField(
        _("reserve stock for orders awaiting payment"),
        default=True,
        help_text=_(
            "On: an order awaiting payment keeps its goods until it is paid or cancelled. Off: stock is "
            "reserved only once it is paid, and may have run out by then."
        ),
    )
    merge_across_channels = models.BooleanField(
        _("merge orders across channels"),
        default=False,
        help_text=_(
            "Offer to merge one buyer's orders to one address into one parcel even when they came from "
            "different channels."
        ),
    )

    class Meta:
        verbose_name = _("intake settings")
        verbose_name_plural = _("intake settings")

    def __str__(self):
        return str(_("Intake settings"))


class PaymentMethod(models.TextChoices):
    CARD = "card", _("Card")
    E_WALLET = "e_wallet", _("E-wallet")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    COD = "cod", _("Cash on delivery")
    INSTALMENTS = "instalments", _("Instalments")


class Order(FSMModelMixin, models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
        ON_HOLD = "on_hold", _("Held for review")
        CONFIRMED = "confirmed", _("Confirmed")
        PICKING = "picking", _("Picking")
        PACKED = "packed", _("Packed")
        PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        RETURNED = "returned", _("Returned to the shop")

    class PaymentStatus(models.TextChoices):
        UNPAID = "unpaid", _("Unpaid")
        PARTIALLY_PAID = "partially_paid", _("Partially paid")
        PAID = "paid", _("Paid")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        REFUNDED = "refunded", _("Refunded")

    CANCELLABLE = [
        Status.PENDING,
        Status.AWAITING_PAYMENT,
        Status.ON_HOLD,
        Status.CONFIRMED,
        Status.PICKING,
        Status.PACKED,
    ]
    # Nothing of the order is on a pick list yet: it may be held, edited, split or merged, and its
    # warehouse and carrier may still change.
    BEFORE_PICKING = [Status.PENDING, Status.AWAITING_PAYMENT, Status.ON_HOLD, Status.CONFIRMED]
    # Before picking starts nothing has been printed for the parcel, so where it goes may change.
    ADDRESS_EDITABLE = [Status.ON_HOLD, Status.CONFIRMED]
    # Orders the merge queue offers and merging accepts: approved and with their stock reserved. A
    # pending or held order may still be rejected or changed by a reviewer, so it waits for that.
    MERGEABLE = [Status.CONFIRMED]
    # No parcel of the order has left yet: its ship-by deadline still runs (docs/architecture.md,
    # "Ship-by deadlines"). The first parcel to leave makes it partially shipped or shipped.
    NOT_DISPATCHED = [
        Status.PENDING,
        Status.AWAITING_PAYMENT,
        Status.ON_HOLD,
        Status.CONFIRMED,
        Status.PICKING,
        Status.PACKED,
    ]
    # Goods of the order are with a carrier or the customer: cash on delivery can have been taken.
    LEFT_THE_WAREHOUSE = [Status.PARTIALLY_SHIPPED, Status.SHIPPED, Status.DELIVERED, Status.COMPLETED]

    number = models.CharField(_("order number"), max_length=24, unique=True, null=True, editable=False)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="orders", verbose_name=_("channel"))
    channel_order_id = models.CharField(_("channel order id"), max_length=64)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders", verbose_name=_("customer"))
    status = FSMField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING, protected=True)

    recipient = models.CharField(_("recipient"), max_length=100)
    phone = models.CharField(_("phone"), max_length=20)
    province = models.CharField(_("province"), max_length=50)
    city = models.CharField(_("city"), max_length=50)
    district = models.CharField(_("district"), max_length=50, blank=True)
    address = models.CharField(_("street address"), max_length=255)
    postcode = models.CharField(_("postcode"), max_length=12, blank=True)
    # The code of the deepest administrative division recognised (docs/architecture.md, "Addresses");
    # NULL when none was, as for orders placed before addresses were read against the divisions.
    region_code = models.CharField(_("region code"), max_length=6, null=True, blank=True, editable=False)
    address_key = models.CharField(
        _("address key"),
        max_length=400,
        db_default="",
        editable=False,
        help_text=_("The address in one comparable form, for repeat-order and blocklist checks."),
    )
    delivery_window_start = models.DateTimeField(_("deliver from"), null=True, blank=True)
    delivery_window_end = models.DateTimeField(_("deliver by"), null=True, blank=True)
    express_requested = models.BooleanField(_("express delivery requested"), default=False)
    language = models.CharField(
        _("customer's language"),
        max_length=8,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Notifications go out in this language; empty means the shop's customer language."),
    )
    special_instructions = models.TextField(_("special instructions"), blank=True)

    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    subtotal = models.DecimalField(_("subtotal"), default=ZERO, **MONEY)
    shipping_fee = models.DecimalField(_("shipping fee"), default=ZERO, **MONEY)
    discount = models.DecimalField(_("discount"), default=ZERO, **MONEY)
    total = models.DecimalField(_("total"), default=ZERO, **MONEY)
    payment_method = models.CharField(_("payment method"), max_length=16, choices=PaymentMethod.choices)
    payment_status = models.CharField(
        _("payment status"), max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID
    )
    amount_paid = models.DecimalField(_("amount captured"), default=ZERO, **MONEY)
    amount_refunded = models.DecimalField(_("amount refunded"), default=ZERO, **MONEY)
    refund_due = models.DecimalField(
        _("refund owed"), default=ZERO, help_text=_("Refunds requested or approved and not paid yet."), **MONEY
    )

    # Manual hold (挂起): a flag beside the status, set and lifted only through
    # orders.services.hold_orders / release_orders (docs/architecture.md, "Orders that wait").
    manual_hold_reason = models.CharField(_("held by hand because"), max_length=255, blank=True, default="")
    manual_hold_until = models.DateTimeField(
        _("hold ends at"), null=True, blank=True, help_text=_("Empty: held until someone releases it.")
    )
    manual_hold_at = models.DateTimeField(_("held by hand at"), null=True, blank=True)
    manual_hold_by = who_acted(_("held by hand by"))

    risk_score = models.PositiveIntegerField(_("risk score"), default=0)
    hold_reasons = models.JSONField(_("hold reasons"), default=list, blank=True)

    placed_at = models.DateTimeField(_("placed at"), default=timezone.now)
    # When intake took the order in; the repeat-order rule counts by it as well as by placed_at,
    # which the channel gives and may be set in the past (docs/architecture.md, "The channel API").
    # Empty for orders taken in before it was recorded: their placed_at stands for it.
    received_at = models.DateTimeField(_("received at"), null=True, blank=True, editable=False)
    # Set by intake, or when the order is paid if it waited for its payment, from its channel's
    # deadline (orders.services.deadlines); empty: no deadline, or not paid yet.
    dispatch_due_at = models.DateTimeField(_("ship by"), null=True, blank=True, editable=False)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    picking_at = models.DateTimeField(_("picking started at"), null=True, blank=True)
    packed_at = models.DateTimeField(_("packed at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    created_by = who_acted(_("entered by"))
    tags = models.ManyToManyField(
        "OrderTag", through="OrderTagging", related_name="orders", blank=True, verbose_name=_("tags")
    )
    # The order some of whose lines were split off by hand into this one (orders.services.splitting).
    split_from = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="split_orders",
        verbose_name=_("split from"),
    )
    merge = models.ForeignKey(
        "OrderMerge",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("merged into parcel"),
        help_text=_("Orders of one buyer to one address merged to leave in one parcel."),
    )

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at", "-id"]
        permissions = [
            (codename(Orders.REVIEW_ORDER), _("Can approve or reject held orders")),
            (codename(Orders.PICK_ORDER), _("Can pick and pack orders")),
            (codename(Orders.DISPATCH_ORDER), _("Can dispatch orders and record delivery")),
            (codename(Orders.CANCEL_ORDER), _("Can cancel orders")),
            (codename(Orders.HOLD_ORDER), _("Can hold orders by hand and release them")),
            (codename(Orders.COMPLETE_ORDER), _("Can complete delivered orders")),
            (codename(Orders.VIEW_CUSTOMER_PHONE), _("Can see full customer phone numbers")),
            (codename(Orders.VIEW_CUSTOMER_NAME), _("Can see full customer names")),
            (codename(Orders.VIEW_CUSTOMER_ADDRESS), _("Can see full customer street addresses")),
            (codename(Orders.OVERRIDE_PRICE), _("Can set prices and discounts on orders taken by staff")),
            (codename(Orders.CHANGE_ORDER_WAREHOUSE), _("Can move orders' reserved stock to another warehouse")),
            (codename(Orders.EDIT_ORDER), _("Can edit and split orders before picking")),
            (codename(Orders.MERGE_ORDERS), _("Can merge orders into one parcel and unmerge them")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["channel", "channel_order_id"], name="order_unique_per_channel"),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0, shipping_fee__gte=0, discount__gte=0, total__gte=0),
                name="order_money_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(total=models.F("subtotal") + models.F("shipping_fee") - models.F("discount")),
                name="order_total_is_lines_plus_shipping_minus_discount",
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0, amount_refunded__lte=models.F("amount_paid"), refund_due__gte=0),
                name="order_refunds_within_captured",
            ),
        ]
        indexes = [
            models.Index(fields=["-placed_at", "-id"], name="order_newest_first"),
            models.Index(fields=["status", "-placed_at", "-id"], name="order_by_status"),
            models.Index(fields=["channel", "-placed_at", "-id"], name="order_by_channel"),
            models.Index(fields=["payment_status", "-placed_at", "-id"], name="order_by_payment_status"),
            models.Index(fields=["phone", "-placed_at"], name="order_by_phone"),
            models.Index(fields=["recipient"], name="order_by_recipient"),
            models.Index(fields=["channel_order_id"], name="order_by_channel_order_id"),
            models.Index(fields=["address_key", "-placed_at"], name="order_by_address"),
            # The holds with a release time, for manage.py release_order_holds.
            models.Index(
                fields=["manual_hold_until"],
                name="order_manual_hold_ends",
                condition=Q(manual_hold_until__isnull=False),
            ),
            # The order list's tabs counted within a payment filter (unpaid, part paid, refunded):
            # such orders are few, but without this each tab's count read all of the filter's orders
            # (62 ms at 1,000,000 orders for "unpaid and delivered", which holds none).
            models.Index(
                fields=["payment_status", "status"],
                condition=~Q(payment_status="paid"),
                name="order_unsettled_by_status",
            ),
            # The order list's "held by hand" filter, newest first: a few orders out of a million
            # (bench/order_desk.py read the whole table for them, 1.3 s, without it).
            models.Index(
                fields=["-placed_at", "-id"], condition=Q(manual_hold_at__isnull=False), name="order_held_by_hand"
            ),
            # The merge queue reads only orders before picking, from the index alone and already in
            # its GROUP BY order (docs/architecture.md, "Merging orders"; bench/merge_detection.py).
            models.Index(
                fields=["phone", "address_key", "channel"],
                include=["id", "merge", "status"],
                condition=Q(status__in=["pending", "awaiting_payment", "on_hold", "confirmed"]),
                name="order_merge_candidates",
            ),
            # Search that people type (docs/architecture.md, "Finding orders"). The trigram and
            # pattern indexes are PostgreSQL's: migration 0015 builds them there only.
            GinIndex(fields=["number"], name="order_number_trigram", opclasses=["gin_trgm_ops"]),
            models.Index(OpClass(Upper("recipient"), name="text_pattern_ops"), name="order_recipient_prefix"),
            models.Index(Right("phone", 4), F("placed_at").desc(), F("id").desc(), name="order_by_phone_last_four"),
            # The "Due today" and "Overdue" tabs read the orders not dispatched yet (NOT_DISPATCHED,
            # spelled out: Meta cannot see it) that have a deadline, by their due time: the index
            # holds the open orders only, not the million that have left (docs/architecture.md,
            # "The order list at volume").
            models.Index(
                fields=["dispatch_due_at"],
                condition=Q(
                    status__in=["pending", "awaiting_payment", "on_hold", "confirmed", "picking", "packed"],
                    dispatch_due_at__isnull=False,
                ),
                name="order_dispatch_due",
            ),
            # The review queue by channel reads the held orders only, not the channel's every order.
            models.Index(
                fields=["channel", "placed_at", "id"], condition=Q(status="on_hold"), name="held_order_by_channel"
            ),
        ]

    def __str__(self):
        return self.number or str(_("new order"))

    # Transitions change only the status and the stage's timestamp; the services around them keep
    # stock, payments and the event log in step.

    @transition(status, source=Status.PENDING, target=Status.AWAITING_PAYMENT, custom={"system": True})
    def await_payment(self):
        pass

    # From awaiting payment too: once paid, the order goes through the checks as at intake.
    @transition(
        status, source=[Status.PENDING, Status.AWAITING_PAYMENT], target=Status.ON_HOLD, custom={"system": True}
    )
    def hold(self):
        pass

    @transition(
        status, source=[Status.PENDING, Status.AWAITING_PAYMENT], target=Status.CONFIRMED, custom={"system": True}
    )
    def confirm(self):
        self.confirmed_at = timezone.now()

    # An edit that makes a confirmed order fail a check sends it back to review (orders.services.editing
    # takes it as the system's step and records who edited): no person is offered it as a step.
    @transition(
        status,
        source=Status.CONFIRMED,
        target=Status.ON_HOLD,
        permission=lambda order, user: False,
        custom={"system": True},
    )
    def hold_after_change(self):
        pass

    @transition(
        status,
        source=Status.ON_HOLD,
        target=Status.CONFIRMED,
        permission=Orders.REVIEW_ORDER,
        custom={"label": _("Approve")},
    )
    def approve(self):
        self.confirmed_at = timezone.now()

    @transition(
        status,
        source=Status.ON_HOLD,
        target=Status.CANCELLED,
        permission=Orders.REVIEW_ORDER,
        custom={"label": _("Reject"), "needs_reason": True},
    )
    def reject(self):
        self.cancelled_at = timezone.now()

    # Picking starts with a pick list and packing ends at the scan-to-pack page, per warehouse: the
    # order follows its shipments (logistics), so the order page offers no button for these.
    @transition(
        status,
        source=Status.CONFIRMED,
        target=Status.PICKING,
        permission=Orders.PICK_ORDER,
        custom={"label": _("Start picking"), "via_shipment": True},
    )
    def start_picking(self):
        self.picking_at = timezone.now()

    @transition(
        status,
        source=Status.PICKING,
        target=Status.PACKED,
        permission=Orders.PICK_ORDER,
        custom={"label": _("Mark packed"), "via_shipment": True},
    )
    def mark_packed(self):
        self.packed_at = timezone.now()

    # One warehouse may hand over its parcel while another is still picking.
    @transition(
        status,
        source=[Status.PICKING, Status.PACKED, Status.PARTIALLY_SHIPPED],
        target=Status.PARTIALLY_SHIPPED,
        permission=Orders.DISPATCH_ORDER,
        custom={"label": _("Dispatch"), "via_shipment": True},
    )
    def ship_partially(self):
        self.shipped_at = self.shipped_at or timezone.now()

    @transition(
        status,
        source=[Status.PACKED, Status.PARTIALLY_SHIPPED],
        target=Status.SHIPPED,
        permission=Orders.DISPATCH_ORDER,
        custom={"label": _("Dispatch"), "via_shipment": True},
    )
    def ship(self):
        self.shipped_at = self.shipped_at or timezone.now()

    @transition(
        status,
        source=Status.SHIPPED,
        target=Status.DELIVERED,
        permission=Orders.DISPATCH_ORDER,
        custom={"label": _("Record delivery"), "via_shipment": True},
    )
    def deliver(self):
        self.delivered_at = timezone.now()

    @transition(
        status,
        source=Status.DELIVERED,
        target=Status.COMPLETED,
        permission=Orders.COMPLETE_ORDER,
        custom={"label": _("Complete")},
    )
    def complete(self):
        self.completed_at = timezone.now()

    @transition(
        status,
        source=CANCELLABLE,
        target=Status.CANCELLED,
        permission=Orders.CANCEL_ORDER,
        custom={"label": _("Cancel"), "needs_reason": True},
    )
    def cancel(self):
        self.cancelled_at = timezone.now()

    # Its goods came back to a warehouse (intercepted, or refused at the door) and were booked in:
    # logistics.services.receive_parcel_back takes this step, never the order page.
    @transition(
        status,
        source=Status.SHIPPED,
        target=Status.RETURNED,
        permission=Inventory.RECEIVE_STOCK,
        custom={"label": _("Close as returned"), "via_shipment": True},
    )
    def close_returned(self):
        self.returned_at = timezone.now()

    @property
    def is_held(self):
        return self.status == self.Status.ON_HOLD

    @property
    def is_manually_held(self):
        return bool(self.manual_hold_at)

    @property
    def dispatch_overdue(self):
        """Its ship-by time has passed and nothing of it has left."""
        return (
            self.dispatch_due_at is not None
            and self.status in self.NOT_DISPATCHED
            and self.dispatch_due_at < timezone.now()
        )

    @property
    def balance_due(self):
        return self.total - self.amount_paid

    @property
    def region_label(self):
        """Where the order goes, as messages name it: 浙江省 杭州市 西湖区."""
        return " ".join(part for part in (self.province, self.city, self.district) if part)

    @property
    def collects_on_delivery(self):
        """Whether the carrier must take money at the door: cash on delivery with something still
        to pay (a free replacement sent to a cash-on-delivery customer collects nothing)."""
        return self.payment_method == PaymentMethod.COD and self.balance_due > 0


class OrderMerge(models.Model):
    """Orders of one buyer to one address that leave in one parcel: one pick, one pack, one label,
    one tracking number. Each order keeps its own number, lines, payment and channel order id."""

    created_at = models.DateTimeField(_("merged at"), default=timezone.now)
    created_by = who_acted(_("merged by"))

    class Meta:
        verbose_name = _("order merge")
        verbose_name_plural = _("order merges")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{_('Merge')} {self.pk}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="lines", verbose_name=_("order"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    line_total = models.DecimalField(_("line total"), **MONEY)
    # What one unit cost the shop when the line was placed (the product's cost then), so the
    # dashboard's gross margin does not move when costs change later. Four decimals: a moving
    # average of receipts is rarely whole cents.
    unit_cost = models.DecimalField(
        _("unit cost"), max_digits=14, decimal_places=4, default=Decimal("0"), editable=False
    )
    # A component line of a bundle sold on the order: the bundle as ordered, how many of it, and
    # which bundle line of the order it came from (`bundle_group`, 1, 2, … per order), so pages
    # show "Bundle X ×2: A ×2, B ×4".
    bundle = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="+", null=True, blank=True, verbose_name=_("bundle")
    )
    bundle_sku = models.CharField(_("bundle SKU"), max_length=64, blank=True, default="")
    bundle_name = models.CharField(_("bundle name"), max_length=200, blank=True, default="")
    bundle_quantity = models.PositiveIntegerField(_("bundles"), null=True, blank=True)
    bundle_group = models.PositiveSmallIntegerField(_("bundle line"), null=True, blank=True)
    # A gift added at intake by a gift rule: zero price, not in the subtotal, never refunded.
    is_gift = models.BooleanField(_("gift"), default=False)
    gift_rule = models.ForeignKey(
        "GiftRule", on_delete=models.PROTECT, related_name="+", null=True, blank=True, verbose_name=_("gift rule")
    )

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["id"]
        # A SKU searched on the order list: the orders with a line of the product, read from the index.
        indexes = [models.Index(fields=["product", "order"], name="order_line_by_product")]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="order_line_price_not_negative"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="order_line_cost_not_negative"),
            models.CheckConstraint(
                condition=Q(is_gift=False) | Q(unit_price=0, line_total=0), name="order_line_gift_is_free"
            ),
        ]

    def __str__(self):
        return f"{self.sku} × {self.quantity}"


class Allocation(models.Model):
    """Stock of one warehouse set aside for an order line."""

    class State(models.TextChoices):
        RESERVED = "reserved", _("Reserved")
        SHIPPED = "shipped", _("Shipped")
        RELEASED = "released", _("Released")

    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="allocations", verbose_name=_("line"))
    stock_level = models.ForeignKey(
        StockLevel, on_delete=models.PROTECT, related_name="allocations", verbose_name=_("stock")
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.RESERVED)
    # Reserved goods held back from the next pick list, to go in a later parcel
    # (orders.services.splitting.ship_later); released for a pick list by release_ship_later.
    ship_later = models.BooleanField(_("ship later"), default=False)
    created_at = models.DateTimeField(_("reserved at"), auto_now_add=True)

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="allocation_quantity_positive")]

    def __str__(self):
        return f"{self.line.sku} × {self.quantity} @ {self.stock_level.warehouse.code}"


class Payment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        CAPTURED = "captured", _("Captured")
        FAILED = "failed", _("Failed")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments", verbose_name=_("order"))
    method = models.CharField(_("method"), max_length=16, choices=PaymentMethod.choices)
    amount = models.DecimalField(_("amount"), validators=[MinValueValidator(Decimal("0.01"))], **MONEY)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.CAPTURED)
    instalment_number = models.PositiveSmallIntegerField(_("instalment"), null=True, blank=True)
    instalment_count = models.PositiveSmallIntegerField(_("of instalments"), null=True, blank=True)
    recorded_by = who_acted(_("recorded by"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    # Part of a payment captured for another order, moved here when that order was split
    # (orders.services.splitting): the two rows together are the one capture, same time and reference.
    transferred_from = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="transfers",
        verbose_name=_("moved from payment"),
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(instalment_number__isnull=True, instalment_count__isnull=True)
                | Q(instalment_number__gte=1, instalment_number__lte=models.F("instalment_count")),
                name="payment_instalment_within_count",
            ),
        ]
        indexes = [models.Index(fields=["created_at", "method"], name="payment_by_day_and_method")]

    def __str__(self):
        return f"{self.get_method_display()} {self.amount}"


class Refund(FSMModelMixin, models.Model):
    """Money going back to the customer, against one captured payment. Finance approves it and then
    records it paid (or failed); approved and paid refunds of a payment never exceed its amount."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")

    OPEN = [Status.REQUESTED, Status.APPROVED]

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("order"))
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("payment"))
    amount = models.DecimalField(_("amount"), validators=[MinValueValidator(Decimal("0.01"))], **MONEY)
    reason = models.CharField(_("reason"), max_length=255)
    status = FSMField(_("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED, protected=True)
    reference = models.CharField(_("payout reference"), max_length=100, blank=True)
    failure_reason = models.CharField(_("why it failed"), max_length=255, blank=True)
    requested_by = who_acted(_("requested by"))
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    approved_by = who_acted(_("approved by"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    settled_by = who_acted(_("paid or failed by"))
    settled_at = models.DateTimeField(_("paid or failed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-requested_at", "-id"]
        permissions = [
            (codename(Orders.REQUEST_REFUND), _("Can request refunds")),
            (codename(Orders.APPROVE_REFUND), _("Can approve or decline refunds and record them paid")),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]
        indexes = [
            models.Index(fields=["status", "requested_at"], name="refund_by_status"),
            models.Index(fields=["settled_at"], name="refund_by_settled_day"),
        ]

    def __str__(self):
        return f"{self.order} · {self.amount}"

    @transition(
        status,
        source=Status.REQUESTED,
        target=Status.APPROVED,
        permission=Orders.APPROVE_REFUND,
        custom={"label": _("Approve refund")},
    )
    def approve(self):
        self.approved_at = timezone.now()

    @transition(
        status,
        source=Status.APPROVED,
        target=Status.PAID,
        permission=Orders.APPROVE_REFUND,
        custom={"label": _("Record refund paid")},
    )
    def mark_paid(self):
        self.settled_at = timezone.now()

    @transition(
        status,
        source=[Status.REQUESTED, Status.APPROVED],
        target=Status.FAILED,
        permission=Orders.APPROVE_REFUND,
        custom={"label": _("Decline or record failed"), "needs_reason": True},
    )
    def fail(self):
        self.settled_at = timezone.now()


class OrderEvent(models.Model):
    """One transition of an order: the timeline and the audit trail."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="events", verbose_name=_("order"))
    from_status = models.CharField(_("from"), max_length=20, choices=Order.Status.choices)
    to_status = models.CharField(_("to"), max_length=20, choices=Order.Status.choices)
    transition = models.CharField(_("transition"), max_length=32)
    actor = who_acted(_("by"))
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["order", "created_at"], name="event_by_order"),
            models.Index(fields=["to_status", "created_at"], name="event_by_status_reached"),
        ]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"


class OrderNote(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="notes", verbose_name=_("order"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    text = models.TextField(_("note"))
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("staff note")
        verbose_name_plural = _("staff notes")
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.text[:50]


class HeldOrder(Order):
    """Orders held for review, as the console's review queue lists them."""

    class Meta:
        proxy = True
        verbose_name = _("held order")
        verbose_name_plural = _("held orders")


class NotificationEvent(models.TextChoices):
    ORDER_CONFIRMED = "order_confirmed", _("Order confirmed")
    ORDER_HELD = "order_held", _("Order held: information needed")
    ORDER_SHIPPED = "order_shipped", _("Order shipped")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERED = "delivered", _("Delivered")
    ORDER_CANCELLED = "order_cancelled", _("Order cancelled")
    DISRUPTION = "disruption", _("Delivery disruption notice")
    ORDER_CHANGED = "order_changed", _("Order changed")
    PARCEL_REPLACED = "parcel_replaced", _("Lost parcel sent again")


class NotificationMedium(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class NotificationTemplate(models.Model):
    """What customers are told, per event, medium and language. Subject and body are Django
    templates over the order (`order`, `shipment`, `tracking_url`, `shop_name`)."""

    event = models.CharField(_("event"), max_length=24, choices=NotificationEvent.choices)
    medium = models.CharField(_("sent by"), max_length=8, choices=NotificationMedium.choices)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200, blank=True, help_text=_("Email only."))
    body = models.TextField(_("text"))
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["event", "medium", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "medium", "language"], name="one_template_per_event_medium_language"
            ),
        ]

    def __str__(self):
        return f"{self.get_event_display()} · {self.get_medium_display()} · {self.language}"


class Notification(models.Model):
    """One message to one customer, and what became of it."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        RETRYING = "retrying", _("Failed, will retry")
        FAILED = "failed", _("Failed")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="notifications", verbose_name=_("order"))
    event = models.CharField(_("event"), max_length=24, choices=NotificationEvent.choices)
    medium = models.CharField(_("sent by"), max_length=8, choices=NotificationMedium.choices)
    recipient = models.CharField(_("to"), max_length=254)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    resend_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resends",
        verbose_name=_("resend of"),
    )
    requested_by = who_acted(_("requested by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # When a queued or retrying message is due: one long overdue lost its worker or its task, and
    # the sweep hands it to a worker again (docs/architecture.md, "Jobs").
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notification log")
        ordering = ["-created_at", "-id"]
        permissions = [(codename(Orders.RESEND_NOTIFICATION), _("Can resend notifications to customers"))]
        indexes = [
            models.Index(fields=["order", "created_at"], name="notification_by_order"),
            models.Index(fields=["status", "created_at"], name="notification_by_status"),
        ]

    def __str__(self):
        # Not the recipient: admin titles and history show this to roles that see phones masked.
        return f"{self.get_event_display()} · {self.get_medium_display()} · {self.order}"


class ChannelToken(models.Model):
    """A channel's API credential. Only a hash is kept: the token is shown once when created."""

    channel = models.OneToOneField(
        Channel, on_delete=models.CASCADE, related_name="api_token", verbose_name=_("channel")
    )
    key_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("token starts with"), max_length=8, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = who_acted(_("created by"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.channel} · {self.prefix}…"


class IdempotencyRecord(models.Model):
    """The first answer to a channel's request under an Idempotency-Key, replayed to its retries."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+", verbose_name=_("channel"))
    key = models.CharField(_("idempotency key"), max_length=255)
    request_fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_body = models.JSONField(_("response"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [models.UniqueConstraint(fields=["channel", "key"], name="idempotency_key_unique_per_channel")]

    def __str__(self):
        return self.key


class ArchivedOrder(models.Model):
    """A finished order moved out of the live tables with every row that belonged to it
    (docs/architecture.md, "Archive"). The columns are what the archive is searched and listed by;
    `rows` holds each archived row as it was, column by column, under its model's label; `api_answer`
    is what the channel API answered for the order when it was archived, answered the same way since."""

    id = models.BigIntegerField(_("order id"), primary_key=True)
    number = models.CharField(_("order number"), max_length=24, unique=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+", verbose_name=_("channel"))
    channel_order_id = models.CharField(_("channel order id"), max_length=64)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+", verbose_name=_("customer"))
    status = models.CharField(_("status"), max_length=20, choices=Order.Status.choices)
    recipient = models.CharField(_("recipient"), max_length=100)
    phone = models.CharField(_("phone"), max_length=20)
    province = models.CharField(_("province"), max_length=50)
    city = models.CharField(_("city"), max_length=50)
    currency = models.CharField(_("currency"), max_length=3)
    total = models.DecimalField(_("total"), **MONEY)
    payment_status = models.CharField(_("payment status"), max_length=20, choices=Order.PaymentStatus.choices)
    placed_at = models.DateTimeField(_("placed at"))
    finished_at = models.DateTimeField(_("completed or cancelled at"))
    archived_at = models.DateTimeField(_("archived at"), default=timezone.now)
    rows = models.JSONField(_("archived rows"), encoder=DjangoJSONEncoder)
    api_answer = models.JSONField(_("channel API answer"), encoder=DjangoJSONEncoder)

    class Meta:
        verbose_name = _("archived order")
        verbose_name_plural = _("archived orders")
        ordering = ["-placed_at", "-id"]
        permissions = [(codename(Orders.ARCHIVE_ORDERS), _("Can move finished orders to the archive"))]
        constraints = [
            # With order_unique_per_channel on the live table, a channel order id is placed once.
            models.UniqueConstraint(fields=["channel", "channel_order_id"], name="archived_order_unique_per_channel"),
        ]
        indexes = [
            models.Index(fields=["-placed_at", "-id"], name="archived_order_newest_first"),
            models.Index(fields=["phone", "-placed_at"], name="archived_order_by_phone"),
            models.Index(fields=["channel_order_id"], name="archived_order_by_channel_id"),
            models.Index(fields=["recipient"], name="archived_order_by_recipient"),
        ]

    def __str__(self):
        return self.number

    is_held = False
    is_manually_held = False

    @property
    def hold_reasons(self) -> list:
        return self.rows_of("orders.order")[0]["hold_reasons"]

    def rows_of(self, label: str) -> list[dict]:
        """The archived rows of one model (`orders.orderline`), oldest first."""
        return sorted(self.rows.get(label, []), key=lambda row: row["id"])


# Finding and acting on many orders (docs/architecture.md, "The order list at volume") ------------


class OrderTag(models.Model):
    """A label staff put on orders to find and work them together ("VIP", "gift wrap")."""

    class Colour(models.TextChoices):
        GREY = "grey", _("Grey")
        RED = "red", _("Red")
        ORANGE = "orange", _("Orange")
        GREEN = "green", _("Green")
        BLUE = "blue", _("Blue")
        PURPLE = "purple", _("Purple")

    name = models.CharField(_("name"), max_length=40, unique=True)
    colour = models.CharField(_("colour"), max_length=10, choices=Colour.choices, default=Colour.GREY)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("order tag")
        verbose_name_plural = _("order tags")
        ordering = ["name"]
        permissions = [(codename(Orders.TAG_ORDER), _("Can put tags on orders and take them off"))]

    def __str__(self):
        return self.name


class OrderTagging(models.Model):
    """One tag on one order, with who put it there and when."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="taggings", verbose_name=_("order"))
    tag = models.ForeignKey(OrderTag, on_delete=models.CASCADE, related_name="taggings", verbose_name=_("tag"))
    added_by = who_acted(_("added by"))
    added_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        verbose_name = _("tag on an order")
        verbose_name_plural = _("tags on orders")
        # Tag first: the list's filter by tag reads this index.
        constraints = [models.UniqueConstraint(fields=["tag", "order"], name="order_tagged_once")]

    def __str__(self):
        return f"{self.order_id}: {self.tag_id}"


class SavedView(models.Model):
    """A filtered order list a staff member keeps under a name; only its owner sees it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(_("query string"), max_length=2000, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="saved_view_name_unique_per_user")]

    def __str__(self):
        return self.name


class GiftRule(models.Model):
    """A gift (赠品) added at intake to the orders that meet every condition set here: placed in the
    date range, on the channel (or any), for at least the minimum total (in the rule's currency), or
    containing one of the SKUs; while the gift product has stock, and until `max_given` units are
    given. A gift never holds an order (docs/architecture.md, "Bundles, gifts and channel SKUs")."""

    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(_("active"), default=True)
    channel = models.ForeignKey(
        Channel,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("channel"),
        help_text=_("Empty for every channel."),
    )
    starts_at = models.DateTimeField(_("from"), null=True, blank=True)
    ends_at = models.DateTimeField(_("until"), null=True, blank=True)
    min_total = models.DecimalField(
        _("order total at least"),
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("In the currency below; empty for no minimum."),
        **MONEY,
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    skus = models.CharField(
        _("containing any of the SKUs"),
        max_length=500,
        blank=True,
        help_text=_("Our SKUs, separated by commas or spaces; empty for any order."),
    )
    gift = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("gift product"))
    quantity = models.PositiveIntegerField(_("gift quantity"), default=1, validators=[MinValueValidator(1)])
    max_given = models.PositiveIntegerField(
        _("at most units given"), null=True, blank=True, help_text=_("Empty for as long as the gift's stock lasts.")
    )
    given = models.PositiveIntegerField(_("units given"), default=0, editable=False)

    class Meta:
        verbose_name = _("gift rule")
        verbose_name_plural = _("gift rules")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="gift_rule_quantity_positive"),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="gift_rule_ends_after_start",
            ),
        ]

    def __str__(self):
        return self.name

    def sku_list(self) -> set[str]:
        return {sku for sku in self.skus.replace(",", " ").split() if sku}


class ChannelSku(models.Model):
    """A channel's own code for one of our products, read at intake before our SKUs; `quantity` is
    how many of our units one of the channel's holds (a pack of 6 sold as one)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="skus", verbose_name=_("channel"))
    code = models.CharField(_("channel's code"), max_length=64)
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="channel_skus", verbose_name=_("product")
    )
    quantity = models.PositiveIntegerField(
        _("our units per item"), default=1, validators=[MinValueValidator(1)], help_text=_("6 for a pack of six.")
    )

    class Meta:
        verbose_name = _("channel SKU")
        verbose_name_plural = _("channel SKUs")
        ordering = ["channel", "code"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "code"], name="channel_sku_once_per_channel"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="channel_sku_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.channel.code}:{self.code} → {self.product.sku}"


class ChannelStockBuffer(models.Model):
    """Stock of one product kept back from one channel (docs/architecture.md, "Stock per channel"):
    the channel is offered, and may order, only what is available beyond it. Either a number of
    units or a percentage of the available units, rounded up; a product without one takes its
    channel's default buffer."""

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="stock_buffers", verbose_name=_("channel")
    )
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="channel_buffers", verbose_name=_("product")
    )
    units = models.PositiveIntegerField(_("units kept back"), null=True, blank=True)
    percent = models.DecimalField(
        _("percentage kept back"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=_("Of the product's available stock, rounded up to whole units."),
    )
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)
    updated_by = who_acted(_("changed by"))

    class Meta:
        verbose_name = _("channel stock buffer")
        verbose_name_plural = _("channel stock buffers")
        ordering = ["channel", "product"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "product"],
                name="one_stock_buffer_per_channel_and_product",
                violation_error_message=_("This channel has a buffer for this product already: change that one."),
            ),
            models.CheckConstraint(
                condition=Q(units__isnull=False, percent__isnull=True) | Q(units__isnull=True, percent__isnull=False),
                name="stock_buffer_units_or_percent",
                violation_error_message=_("Keep back units or a percentage: fill in one of the two."),
            ),
            models.CheckConstraint(
                condition=Q(percent__gte=0, percent__lte=100) | Q(percent__isnull=True),
                name="stock_buffer_percent_in_range",
                violation_error_message=_("Enter a percentage from 0 to 100."),
            ),
        ]

    def __str__(self):
        kept = f"{self.percent.normalize():f}%" if self.percent is not None else str(self.units)
        return f"{self.channel.code} · {self.product.sku}: {kept}"

    def keep_back(self) -> KeepBack:
        return keep_back_of(self.units, self.percent)


class ImportProfile(models.Model):
    """How one place's order workbooks are read: which of its columns holds which field, what its
    payment, status and delivery words mean, whether its order amount includes postage. Saved for a
    channel by the mapping step of the order import, so the next file from there imports without
    questions; edited, exported and imported in the console (docs/architecture.md, "Spreadsheets")."""

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="import_profiles", verbose_name=_("channel")
    )
    name = models.CharField(_("name"), max_length=100)
    definition = models.JSONField(_("mapping"), default=dict, encoder=DjangoJSONEncoder)
    # The shipped marketplace profile this one was made from, if any.
    based_on = models.CharField(_("based on"), max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = who_acted(_("created by"))
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("import profile")
        verbose_name_plural = _("import profiles")
        ordering = ["channel", "name"]
        constraints = [models.UniqueConstraint(fields=["channel", "name"], name="import_profile_name_per_channel")]

    def __str__(self):
        return f"{self.channel.code}: {self.name}"
