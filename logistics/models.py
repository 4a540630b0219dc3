from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from core.models import who_acted
from core.permissions import Logistics, Orders, codename
from inventory.models import Warehouse
from orders.models import Order, OrderLine

from .tracking_formats import default_pattern, fits, validate_pattern

TRACKING_NUMBER_SLOT = "{tracking_number}"
CENT = Decimal("0.01")


def validate_tracking_link(template):
    """A web link with a place for the number: the console puts it behind a link staff click."""
    if TRACKING_NUMBER_SLOT not in template:
        raise ValidationError(_("Put %(slot)s where the tracking number goes.") % {"slot": TRACKING_NUMBER_SLOT})
    URLValidator(schemes=["http", "https"], message=_("Enter a web address starting with http:// or https://."))(
        template.replace(TRACKING_NUMBER_SLOT, "0")
    )


class Carrier(models.Model):
    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    tracking_url_template = models.CharField(
        _("tracking link"),
        max_length=255,
        blank=True,
        validators=[validate_tracking_link],
        help_text=_("A web address (http or https) with {tracking_number} where the number goes."),
    )
    tracking_number_pattern = models.CharField(
        _("tracking number pattern"),
        max_length=255,
        blank=True,
        validators=[validate_pattern],
        help_text=_(
            "A regular expression every tracking number of this carrier matches as a whole, e.g. "
            "SF\\d{13}. The handover station refuses numbers that do not fit it or fit another "
            "carrier's instead. Empty: numbers are not checked."
        ),
    )
    active = models.BooleanField(_("active"), default=True)
    # The carrier's webhook authenticates with a token; only its hash is kept (shown once on creation).
    webhook_token_hash = models.CharField(_("webhook token hash"), max_length=64, blank=True, editable=False)
    webhook_token_prefix = models.CharField(_("webhook token starts with"), max_length=8, blank=True, editable=False)
    # The contract's fee for collecting cash on delivery, which a remittance's fees are checked
    # against (docs/architecture.md, "Cash-on-delivery remittance").
    cod_fee_percent = models.DecimalField(
        _("cash-on-delivery fee (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=_("The carrier's fee for collecting cash on delivery, as a percentage of the amount collected."),
    )
    cod_fee_minimum = models.DecimalField(
        _("cash-on-delivery minimum fee"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("The least the carrier may charge for collecting one parcel's cash."),
    )

    class Meta:
        verbose_name = _("carrier")
        verbose_name_plural = _("carriers")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(cod_fee_percent__gte=0, cod_fee_percent__lte=100, cod_fee_minimum__gte=0),
                name="carrier_cod_fee_within_bounds",
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # A carrier we know the numbers of starts with their pattern (logistics/tracking_formats.py),
        # however it is created: the console, the demo shop or a test.
        if self._state.adding and not self.tracking_number_pattern:
            self.tracking_number_pattern = default_pattern(self.code)
        super().save(*args, **kwargs)

    def cod_fee_allowed(self, amount):
        """The most the contract lets the carrier keep for collecting `amount`: its percentage,
        rounded to the cent, and never less than its minimum."""
        return max((amount * self.cod_fee_percent / 100).quantize(CENT, ROUND_HALF_UP), self.cod_fee_minimum)

    def takes(self, tracking_number):
        """Whether the number fits this carrier's pattern; None when the carrier has none."""
        return fits(self.tracking_number_pattern, tracking_number) if self.tracking_number_pattern else None

    def tracking_url(self, tracking_number):
        if not self.tracking_url_template or not self.tracking_url_template.lower().startswith(("http://", "https://")):
            return ""
        return self.tracking_url_template.replace(TRACKING_NUMBER_SLOT, quote(tracking_number, safe=""))


class CarrierService(models.Model):
    """One way a carrier ships (standard, express, special handling, ...) and what it costs."""

    class Kind(models.TextChoices):
        STANDARD = "standard", _("Standard")
        EXPRESS = "express", _("Express")
        SPECIAL_HANDLING = "special_handling", _("Special handling (fragile goods)")
        ECONOMY = "economy", _("Economy")
        OTHER = "other", _("Other")

    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="services", verbose_name=_("carrier"))
    code = models.SlugField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.STANDARD)
    supports_cod = models.BooleanField(_("collects cash on delivery"), default=False)
    supports_fragile = models.BooleanField(_("takes fragile goods"), default=False)
    base_fee = models.DecimalField(_("base fee"), max_digits=10, decimal_places=2, default=Decimal("0"))
    fee_per_kg = models.DecimalField(_("fee per kg"), max_digits=10, decimal_places=2, default=Decimal("0"))
    transit_days = models.PositiveSmallIntegerField(_("typical transit (working days)"), default=3)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("carrier service")
        verbose_name_plural = _("carrier services")
        ordering = ["carrier__name", "kind", "code"]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "code"], name="carrier_service_code_unique_per_carrier"),
            models.CheckConstraint(
                condition=Q(base_fee__gte=0, fee_per_kg__gte=0), name="carrier_service_fees_not_negative"
            ),
        ]

    def __str__(self):
        return f"{self.carrier} · {self.name}"

    def fee_for(self, weight_kg):
        return (self.base_fee + self.fee_per_kg * Decimal(weight_kg)).quantize(Decimal("0.01"))


class ServiceCoverage(models.Model):
    """Where a carrier service delivers (docs/architecture.md, "Reachability"): a province, city or
    district by its division code (`core.regions`), or, `excluded`, an area inside one it covers
    that it does not. A service with no rows reaches everywhere; one with rows reaches an address
    when the most specific row for it (district, then city, then province) is not an exclusion."""

    service = models.ForeignKey(
        CarrierService, on_delete=models.CASCADE, related_name="coverage", verbose_name=_("carrier service")
    )
    region_code = models.CharField(_("region code"), max_length=6)
    region = models.CharField(_("region"), max_length=160, help_text=_("The division's names, as imported."))
    excluded = models.BooleanField(_("excluded"), default=False)

    class Meta:
        verbose_name = _("service coverage")
        verbose_name_plural = _("service coverage")
        ordering = ["service", "region_code"]
        constraints = [
            models.UniqueConstraint(fields=["service", "region_code"], name="service_coverage_once_per_region")
        ]

    def __str__(self):
        return f"{self.service} · {self.region}" + (" ✕" if self.excluded else "")


class PickWave(models.Model):
    """A pick list: the selected orders of one warehouse, picked in one walk."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+", verbose_name=_("warehouse"))
    created_by = who_acted(_("created by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("pick list")
        verbose_name_plural = _("pick lists")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{_('Pick list')} {self.pk} · {self.warehouse.code}"


class ExceptionKind(models.TextChoices):
    DELAYED = "delayed", _("Delayed")
    LOST = "lost", _("Lost")
    DAMAGED = "damaged", _("Damaged")
    ADDRESS_PROBLEM = "address_problem", _("Address problem")


class Shipment(FSMModelMixin, models.Model):
    """The goods of one order that leave one warehouse together with one carrier."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be packed")
        PACKED = "packed", _("Packed")
        SHIPPED = "shipped", _("Shipped")
        IN_TRANSIT = "in_transit", _("In transit")
        OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
        DELIVERED = "delivered", _("Delivered")
        EXCEPTION = "exception", _("Delivery exception")
        RETURNED = "returned", _("Returned to sender")
        CANCELLED = "cancelled", _("Cancelled")

    OPEN = [Status.PENDING, Status.PACKED]
    ON_THE_WAY = [Status.SHIPPED, Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY, Status.EXCEPTION]

    class ServiceReason(models.TextChoices):
        FRAGILE = "fragile", _("Fragile goods need special handling")
        EXPRESS_REQUESTED = "express_requested", _("The customer asked for express delivery")
        TIGHT_WINDOW = "tight_window", _("Standard delivery would miss the delivery window")
        CASH_ON_DELIVERY = "cash_on_delivery", _("Cash on delivery needs a carrier that collects")
        CHEAPEST = "cheapest", _("Cheapest for the weight")
        CHOSEN_BY_STAFF = "chosen_by_staff", _("Chosen by a coordinator")

    class Purpose(models.TextChoices):
        ORDER = "order", _("Order goods")
        REPAIR = "repair", _("Repaired goods going back")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments", verbose_name=_("order"))
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+", verbose_name=_("warehouse"))
    purpose = models.CharField(
        _("carries"),
        max_length=8,
        choices=Purpose.choices,
        default=Purpose.ORDER,
        help_text=_("A repair parcel carries the customer's own goods back: it moves no stock and not the order."),
    )
    wave = models.ForeignKey(
        PickWave,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shipments",
        verbose_name=_("pick list"),
    )
    carrier = models.ForeignKey(
        Carrier,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shipments",
        verbose_name=_("carrier"),
    )
    service = models.ForeignKey(
        CarrierService,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shipments",
        verbose_name=_("carrier service"),
    )
    merge = models.ForeignKey(
        "orders.OrderMerge",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shipments",
        verbose_name=_("merged orders"),
        help_text=_("Set when the parcel carries the goods of several merged orders."),
    )
    service_reason = models.CharField(_("why this service"), max_length=20, choices=ServiceReason.choices, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True)
    status = FSMField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING, protected=True)
    exception_kind = models.CharField(_("exception"), max_length=20, choices=ExceptionKind.choices, blank=True)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=8, decimal_places=3, null=True, blank=True)
    package_count = models.PositiveSmallIntegerField(_("packages"), null=True, blank=True)
    shipping_cost = models.DecimalField(_("carrier fee"), max_digits=10, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    packing_started_at = models.DateTimeField(
        _("packing started at"),
        null=True,
        blank=True,
        help_text=_("When its first unit was scanned in: the packer's time on it runs from here to packed at."),
    )
    packed_at = models.DateTimeField(_("packed at"), null=True, blank=True)
    packed_by = who_acted(_("packed by"))
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    dispatched_by = who_acted(_("dispatched by"))
    expected_delivery_on = models.DateField(_("expected delivery"), null=True, blank=True)
    last_event_at = models.DateTimeField(_("last tracking event"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["-created_at", "-id"]
        permissions = [
            (codename(Logistics.CHOOSE_CARRIER), _("Can choose the carrier and service of a shipment")),
            (codename(Logistics.RECORD_TRACKING), _("Can enter tracking numbers and tracking events")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["carrier", "tracking_number"],
                condition=~Q(tracking_number=""),
                name="tracking_number_unique_per_carrier",
            ),
            models.UniqueConstraint(
                fields=["order", "warehouse"],
                condition=Q(status__in=["pending", "packed"], purpose="order"),
                name="one_open_shipment_per_order_and_warehouse",
            ),
        ]
        indexes = [
            models.Index(fields=["tracking_number"], name="shipment_by_tracking_number"),
            models.Index(fields=["status", "expected_delivery_on"], name="shipment_by_status_due"),
            models.Index(fields=["warehouse", "status"], name="shipment_by_warehouse_status"),
        ]

    def __str__(self):
        if self.tracking_number:
            return f"{self.carrier} {self.tracking_number}"
        return f"{self.order} · {self.warehouse.code}"

    @property
    def tracking_url(self):
        return self.carrier.tracking_url(self.tracking_number) if self.carrier and self.tracking_number else ""

    @transition(status, source=Status.PENDING, target=Status.PACKED, permission=Orders.PICK_ORDER)
    def pack(self):
        self.packed_at = timezone.now()

    @transition(status, source=Status.PACKED, target=Status.SHIPPED, permission=Orders.DISPATCH_ORDER)
    def dispatch(self):
        self.shipped_at = timezone.now()

    @transition(
        status,
        source=[Status.SHIPPED, Status.EXCEPTION],
        target=Status.IN_TRANSIT,
        permission=Logistics.RECORD_TRACKING,
    )
    def report_in_transit(self):
        self.exception_kind = ""

    @transition(
        status,
        source=[Status.SHIPPED, Status.IN_TRANSIT, Status.EXCEPTION],
        target=Status.OUT_FOR_DELIVERY,
        permission=Logistics.RECORD_TRACKING,
    )
    def report_out_for_delivery(self):
        self.exception_kind = ""

    @transition(status, source=ON_THE_WAY, target=Status.EXCEPTION, permission=Logistics.RECORD_TRACKING)
    def report_exception(self):
        pass

    @transition(status, source=ON_THE_WAY, target=Status.RETURNED, permission=Logistics.RECORD_TRACKING)
    def return_to_sender(self):
        pass

    @transition(status, source=ON_THE_WAY, target=Status.DELIVERED, permission=Orders.DISPATCH_ORDER)
    def deliver(self):
        self.delivered_at = timezone.now()
        self.exception_kind = ""

    @transition(status, source=OPEN, target=Status.CANCELLED)
    def cancel(self):
        pass


class ShipmentLine(models.Model):
    """How much of an order line travels in a shipment, and how much of it has been scanned in."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines", verbose_name=_("shipment"))
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+", verbose_name=_("order line"))
    quantity = models.PositiveIntegerField(_("quantity"))
    packed_quantity = models.PositiveIntegerField(_("packed"), default=0)

    class Meta:
        verbose_name = _("shipment line")
        verbose_name_plural = _("shipment lines")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "order_line"], name="one_shipment_line_per_order_line"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="shipment_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(packed_quantity__lte=F("quantity")), name="shipment_line_not_overpacked"
            ),
        ]

    def __str__(self):
        return f"{self.order_line.sku} {self.packed_quantity}/{self.quantity}"


class TrackingEvent(models.Model):
    """What the carrier reported about a parcel."""

    class Status(models.TextChoices):
        IN_TRANSIT = "in_transit", _("In transit")
        OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
        DELIVERED = "delivered", _("Delivered")
        EXCEPTION = "exception", _("Exception")
        RETURNED = "returned", _("Returned to sender")

    class Source(models.TextChoices):
        WEBHOOK = "webhook", _("Carrier webhook")
        UPLOAD = "upload", _("Uploaded file")
        CONSOLE = "console", _("Entered in the console")

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events", verbose_name=_("shipment"))
    occurred_at = models.DateTimeField(_("time"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    exception_kind = models.CharField(_("exception"), max_length=20, choices=ExceptionKind.choices, blank=True)
    location = models.CharField(_("location"), max_length=120, blank=True)
    description = models.CharField(_("description"), max_length=255, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    recorded_by = who_acted(_("recorded by"))

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ["occurred_at", "id"]
        constraints = [
            # Carriers resend their webhooks; the same report twice is one event.
            models.UniqueConstraint(fields=["shipment", "status", "occurred_at"], name="tracking_event_reported_once"),
        ]

    def __str__(self):
        return f"{self.get_status_display()} · {self.location}"


class TrackingLookup(models.Model):
    """A failed attempt on the public tracking page, counted to slow down guessing."""

    client = models.CharField(_("client"), max_length=64, db_index=True)
    order_number = models.CharField(_("order number"), max_length=24, db_index=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("failed tracking lookup")
        verbose_name_plural = _("failed tracking lookups")

    def __str__(self):
        return f"{self.order_number} · {self.client}"


class CarrierChoice(models.Model):
    """The carrier service staff chose for an order before its parcel exists: the next pick list
    gives its parcels this service (Shipment.ServiceReason.CHOSEN_BY_STAFF) instead of the rules'.
    Written only under the order's row lock, so it needs no lock of its own."""

    order = models.OneToOneField(
        Order, on_delete=models.PROTECT, related_name="carrier_choice", verbose_name=_("order")
    )
    service = models.ForeignKey(
        CarrierService, on_delete=models.PROTECT, related_name="+", verbose_name=_("carrier service")
    )
    chosen_by = who_acted(_("chosen by"))
    chosen_at = models.DateTimeField(_("chosen at"), default=timezone.now)

    class Meta:
        verbose_name = _("carrier chosen for an order")
        verbose_name_plural = _("carriers chosen for orders")

    def __str__(self):
        return f"{self.order_id}: {self.service_id}"


class HandoverBatch(models.Model):
    """The parcels one carrier's driver takes away at one pickup: scanned in one by one while the
    batch is open, printed as a manifest the driver signs, and dispatched together when confirmed
    (docs/architecture.md, "Handover to the carrier")."""

    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="+", verbose_name=_("carrier"))
    opened_by = who_acted(_("opened by"))
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    dispatched_by = who_acted(_("dispatched by"))
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)

    class Meta:
        verbose_name = _("handover batch")
        verbose_name_plural = _("handover batches")
        ordering = ["-opened_at", "-id"]
        permissions = [
            (codename(Logistics.HAND_OVER_PARCELS), _("Can hand parcels over to a carrier's driver")),
        ]

    def __str__(self):
        return _("Handover %(number)s · %(carrier)s") % {"number": self.pk, "carrier": self.carrier}

    @property
    def is_open(self):
        return self.dispatched_at is None


class HandoverParcel(models.Model):
    """A packed parcel scanned into a handover batch. A parcel is in one batch at most: the
    constraint decides between two stations scanning it at the same moment."""

    batch = models.ForeignKey(
        HandoverBatch, on_delete=models.CASCADE, related_name="parcels", verbose_name=_("handover batch")
    )
    shipment = models.OneToOneField(
        Shipment, on_delete=models.PROTECT, related_name="handover", verbose_name=_("shipment")
    )
    scanned_by = who_acted(_("scanned by"))
    scanned_at = models.DateTimeField(_("scanned at"), default=timezone.now)

    class Meta:
        verbose_name = _("parcel handed over")
        verbose_name_plural = _("parcels handed over")
        ordering = ["scanned_at", "id"]

    def __str__(self):
        return f"{self.batch_id}: {self.shipment_id}"


class PackingScanRefusal(models.Model):
    """A scan the packing station refused: the wrong item, one too many, or a parcel that takes no
    more. Written in a transaction of its own after the scan's, so the refusal is kept although the
    scan changed nothing; the dashboard's staff figures count them as each packer's accuracy.

    The parcel is kept by its id and order number, without a database constraint: refusals are
    staff figures and outlive the parcel when its order is archived (docs/architecture.md,
    "Archive"), which deletes the parcel's row."""

    class Reason(models.TextChoices):
        NOT_IN_ORDER = "not_in_order", _("Not in this parcel")
        LINE_COMPLETE = "line_complete", _("Its line was already complete")
        TOO_MANY = "too_many", _("More units than were still missing")
        PARCEL_COMPLETE = "parcel_complete", _("The parcel was already complete")
        NOT_PACKING = "not_packing", _("The parcel was not waiting to be packed")

    scanned_by = who_acted(_("scanned by"))
    scanned_at = models.DateTimeField(_("scanned at"), default=timezone.now)
    code = models.CharField(_("code scanned"), max_length=100)
    quantity = models.PositiveIntegerField(_("units"), default=1)
    shipment = models.ForeignKey(
        Shipment,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("shipment"),
    )
    order_number = models.CharField(_("order number"), max_length=24)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+", verbose_name=_("warehouse"))
    reason = models.CharField(_("why"), max_length=20, choices=Reason.choices)

    class Meta:
        verbose_name = _("refused packing scan")
        verbose_name_plural = _("refused packing scans")
        ordering = ["-scanned_at", "-id"]
        indexes = [models.Index(fields=["scanned_at"], name="packing_refusal_by_time")]

    def __str__(self):
        return f"{self.order_number} · {self.code}"


# Carriers' cash-on-delivery remittances (docs/architecture.md, "Cash-on-delivery remittance").


class CodRemittance(models.Model):
    """One batch of cash a carrier paid over, as its file names it: the carrier's batch reference
    is unique per carrier, so a file recorded once is refused the second time, even from two
    tabs at the same moment."""

    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="+", verbose_name=_("carrier"))
    reference = models.CharField(_("batch reference"), max_length=100)
    file_name = models.CharField(_("file"), max_length=255)
    uploaded_by = who_acted(_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    mismatch_count = models.PositiveIntegerField(_("mismatches"), default=0)
    amount_total = models.DecimalField(_("amount collected"), max_digits=14, decimal_places=2, default=Decimal("0"))
    fee_total = models.DecimalField(_("fees"), max_digits=14, decimal_places=2, default=Decimal("0"))
    recorded_total = models.DecimalField(_("recorded as paid"), max_digits=14, decimal_places=2, default=Decimal("0"))

    class Meta:
        verbose_name = _("cash-on-delivery remittance")
        verbose_name_plural = _("cash-on-delivery remittances")
        ordering = ["-uploaded_at", "-id"]
        permissions = [
            (codename(Logistics.RECORD_COD_REMITTANCE), _("Can record carriers' cash-on-delivery remittances")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "reference"], name="cod_remittance_unique_per_carrier"),
        ]

    def __str__(self):
        return f"{self.carrier} {self.reference}"

    @property
    def net_total(self):
        return self.amount_total - self.fee_total


class CodRemittanceLine(models.Model):
    """One line of a remittance: the parcel its tracking number found, what the carrier says it
    collected and kept, and whether the collected cash was recorded as the orders' payment or
    why not. The parcel is kept by its id without a database constraint (as a refused packing
    scan is): a remittance is a finance record and outlives the parcel when its order is
    archived."""

    class Problem(models.TextChoices):
        UNKNOWN = "unknown", _("Unknown tracking number")
        DUPLICATE = "duplicate", _("Tracking number twice in the file")
        ALREADY_REMITTED = "already_remitted", _("Already remitted in an earlier batch")
        NOT_COD = "not_cod", _("Not a cash-on-delivery parcel")
        NOT_DELIVERED = "not_delivered", _("Parcel not delivered")
        AMOUNT_DIFFERS = "amount_differs", _("Amount differs from what was due")
        FEE_ABOVE_CONTRACT = "fee_above_contract", _("Fee above the contract")

    remittance = models.ForeignKey(
        CodRemittance, on_delete=models.CASCADE, related_name="lines", verbose_name=_("remittance")
    )
    row = models.PositiveIntegerField(_("row"))
    tracking_number = models.CharField(_("tracking number"), max_length=64)
    shipment = models.ForeignKey(
        Shipment,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("shipment"),
    )
    order_numbers = models.CharField(_("orders"), max_length=255, blank=True)
    amount = models.DecimalField(_("amount collected"), max_digits=12, decimal_places=2)
    fee = models.DecimalField(_("fee"), max_digits=12, decimal_places=2)
    remitted_on = models.DateField(_("date"), null=True, blank=True)
    due = models.DecimalField(_("due"), max_digits=12, decimal_places=2, null=True, blank=True)
    fee_allowed = models.DecimalField(_("fee allowed"), max_digits=12, decimal_places=2, null=True, blank=True)
    recorded = models.BooleanField(_("recorded as paid"), default=False)
    problem = models.CharField(_("mismatch"), max_length=20, choices=Problem.choices, blank=True)
    detail = models.CharField(_("what is wrong"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("remittance line")
        verbose_name_plural = _("remittance lines")
        ordering = ["remittance", "row"]
        constraints = [
            # A parcel's cash is recorded from one line of one remittance, whatever races.
            models.UniqueConstraint(fields=["shipment"], condition=Q(recorded=True), name="cod_parcel_remitted_once"),
        ]
        indexes = [
            models.Index(fields=["remittance", "problem"], name="cod_line_by_problem"),
        ]

    def __str__(self):
        return f"{self.remittance_id}: {self.tracking_number}"
