from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from core.models import OneRowSettings, who_acted
from core.permissions import Inventory, Logistics, Orders, codename
from inventory.models import StockLevel, Warehouse
from orders.models import Order, OrderLine

from .claim_documents import ClaimDocumentStorage, document_name
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
        RECEIVED_BACK = "received_back", _("Back at the warehouse")
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
        REPLACEMENT = "replacement", _("Goods sent again for a lost parcel")

    # Parcels that carry goods the customer bought: the order is delivered with the last of them
    # (a replacement stands in for the lost parcel it replaces; docs/architecture.md, "Lost parcels").
    CARRIES_GOODS = [Purpose.ORDER, Purpose.REPLACEMENT]

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments", verbose_name=_("order"))
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+", verbose_name=_("warehouse"))
    purpose = models.CharField(
        _("carries"),
        max_length=12,
        choices=Purpose.choices,
        default=Purpose.ORDER,
        help_text=_(
            "A repair parcel carries the customer's own goods back: it moves no stock and not the order. "
            "A replacement carries the goods of a lost parcel again: it books its own stock out and never "
            "moves the order back."
        ),
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
    # Every print of the parcel's label counts, so a second label of one parcel on the floor says
    # it is a reprint (docs/architecture.md, "Printing in batches").
    # Also the database's default, so parcels written in bulk SQL (benchmarks, data moves) need not name it.
    label_prints = models.PositiveIntegerField(_("labels printed"), default=0, db_default=0)
    label_printed_at = models.DateTimeField(_("label last printed at"), null=True, blank=True)
    received_back_at = models.DateTimeField(_("received back at"), null=True, blank=True)
    received_back_by = who_acted(_("received back by"))

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["-created_at", "-id"]
        permissions = [
            (codename(Logistics.CHOOSE_CARRIER), _("Can choose the carrier and service of a shipment")),
            (codename(Logistics.RECORD_TRACKING), _("Can enter tracking numbers and tracking events")),
            (codename(Logistics.PRINT_LABELS), _("Can print slips and labels, giving parcels pooled tracking numbers")),
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

    # Refused at the door, undeliverable, or intercepted at our request (Interception): coming back.
    @transition(status, source=ON_THE_WAY, target=Status.RETURNED, permission=Logistics.RECORD_TRACKING)
    def return_to_sender(self):
        pass

    @transition(status, source=Status.RETURNED, target=Status.RECEIVED_BACK, permission=Inventory.RECEIVE_STOCK)
    def receive_back(self):
        self.received_back_at = timezone.now()

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


class TrackingNumberPool(models.Model):
    """Tracking numbers a carrier handed the merchant in advance for one of its services, imported
    from a sheet and given to parcels of that service when their labels are printed, each once
    (docs/architecture.md, "Printing in batches")."""

    service = models.OneToOneField(
        CarrierService, on_delete=models.PROTECT, related_name="tracking_pool", verbose_name=_("carrier service")
    )
    low_below = models.PositiveIntegerField(
        _("running low below"),
        default=200,
        help_text=_("The pool is shown as running low when fewer numbers than this are left."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("tracking-number pool")
        verbose_name_plural = _("tracking-number pools")
        ordering = ["service__carrier__name", "service__name"]
        permissions = [
            (codename(Logistics.IMPORT_TRACKING_NUMBERS), _("Can import tracking numbers into pools")),
        ]

    def __str__(self):
        return str(self.service)


class PooledTrackingNumber(models.Model):
    """One number of a pool: free, given to a parcel, or burnt (given to a parcel that then left
    the carrier, or found on another parcel), never given twice. The parcel is kept by id without a
    database constraint, so the number stays taken when its order is archived."""

    pool = models.ForeignKey(
        TrackingNumberPool, on_delete=models.PROTECT, related_name="numbers", verbose_name=_("pool")
    )
    # The pool's carrier, kept on the row so the database refuses one carrier's number twice.
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="+", verbose_name=_("carrier"))
    number = models.CharField(_("tracking number"), max_length=64)
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)
    imported_by = who_acted(_("imported by"))
    shipment = models.ForeignKey(
        Shipment,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("shipment"),
    )
    allocated_at = models.DateTimeField(_("given to a parcel at"), null=True, blank=True)
    burnt_at = models.DateTimeField(_("burnt at"), null=True, blank=True)
    burnt_because = models.CharField(_("burnt because"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("pooled tracking number")
        verbose_name_plural = _("pooled tracking numbers")
        ordering = ["pool", "id"]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "number"], name="pooled_number_once_per_carrier"),
            models.UniqueConstraint(
                fields=["shipment"],
                condition=Q(shipment__isnull=False, burnt_at__isnull=True),
                name="one_pooled_number_per_parcel",
            ),
        ]
        indexes = [
            # The free numbers of a pool in import order: allocation and the remaining counts.
            models.Index(
                fields=["pool", "id"],
                condition=Q(shipment__isnull=True, burnt_at__isnull=True),
                name="pooled_number_free",
            ),
        ]

    def __str__(self):
        return self.number


class InterceptionSettings(OneRowSettings):
    """How interception settles money; one row, edited by a manager (docs/architecture.md,
    "Interception and parcels that come back")."""

    refund_waits_for_parcel = models.BooleanField(
        _("refund waits for the parcel to come back"),
        default=True,
        help_text=_(
            "On: the refund of an order cancelled after dispatch is requested once its parcel is back at "
            "the warehouse, so a parcel the carrier could not stop is not refunded and delivered. Off: it "
            "is requested as soon as the interception is."
        ),
    )

    class Meta:
        verbose_name = _("interception settings")
        verbose_name_plural = _("interception settings")

    def __str__(self):
        return str(_("Interception settings"))


class Interception(FSMModelMixin, models.Model):
    """A request to the carrier to stop a parcel on its way and bring it back (物流拦截), and the
    carrier's answer: intercepted (the parcel is coming back) or failed (delivered anyway, and the
    order needs a return or a refund decision). Written only under the locks of its parcel's orders
    and of the parcel, so it needs no lock of its own; one is under way per parcel at a time."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Interception requested")
        INTERCEPTED = "intercepted", _("Intercepted: coming back")
        FAILED = "failed", _("Interception failed")

    class Reason(models.TextChoices):
        CANCELLED = "cancelled", _("Order cancelled after dispatch")
        REFUNDED = "refunded", _("Refunded without return")

    UNDER_WAY = [Status.REQUESTED, Status.INTERCEPTED]

    shipment = models.ForeignKey(
        Shipment, on_delete=models.PROTECT, related_name="interceptions", verbose_name=_("shipment")
    )
    status = FSMField(_("status"), max_length=12, choices=Status.choices, default=Status.REQUESTED, protected=True)
    reason = models.CharField(_("why"), max_length=12, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=255, blank=True)
    carrier_reference = models.CharField(_("carrier's reference"), max_length=100, blank=True)
    fee = models.DecimalField(
        _("interception fee"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("What the carrier charges for the interception, whatever its outcome."),
    )
    refund_waits = models.BooleanField(
        _("refund waits for the parcel"),
        default=True,
        help_text=_("The interception settings when it was requested."),
    )
    requested_by = who_acted(_("requested by"))
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    answered_by = who_acted(_("answer recorded by"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    outcome_note = models.CharField(_("carrier's answer"), max_length=255, blank=True)
    decided_by = who_acted(_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision = models.CharField(
        _("decision"),
        max_length=255,
        blank=True,
        help_text=_("After a failed interception: the return or refund agreed for the delivered parcel."),
    )

    class Meta:
        verbose_name = _("interception")
        verbose_name_plural = _("interceptions")
        ordering = ["-requested_at", "-id"]
        permissions = [
            (codename(Logistics.REQUEST_INTERCEPTION), _("Can ask carriers to intercept parcels")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["shipment"],
                condition=Q(status__in=["requested", "intercepted"]),
                name="one_interception_under_way_per_parcel",
            ),
            models.CheckConstraint(condition=Q(fee__gte=0) | Q(fee__isnull=True), name="interception_fee_not_negative"),
        ]
        indexes = [
            # The queue of failed interceptions waiting for a decision: few rows out of many.
            models.Index(
                fields=["answered_at"],
                condition=Q(status="failed", decided_at__isnull=True),
                name="interception_awaiting_decision",
            ),
        ]

    def __str__(self):
        return _("Interception of %(shipment)s") % {"shipment": self.shipment}

    @property
    def awaits_decision(self):
        return self.status == self.Status.FAILED and self.decided_at is None

    @transition(status, source=Status.REQUESTED, target=Status.INTERCEPTED, permission=Logistics.RECORD_TRACKING)
    def intercept(self):
        self.answered_at = timezone.now()

    @transition(status, source=Status.REQUESTED, target=Status.FAILED, permission=Logistics.RECORD_TRACKING)
    def fail(self):
        self.answered_at = timezone.now()


class CarrierClaim(FSMModelMixin, models.Model):
    """A claim against the carrier for a parcel it lost (docs/architecture.md, "Lost parcels"): the
    amount claimed (by default the goods' value of the parcel), the carrier's own reference, the
    documents sent with it, and what the carrier settled. A parcel has at most one claim that is
    not rejected: the constraint decides between two people filing at the same moment."""

    class Status(models.TextChoices):
        FILED = "filed", _("Filed")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        PAID = "paid", _("Paid")

    shipment = models.ForeignKey(
        Shipment, on_delete=models.PROTECT, related_name="claims", verbose_name=_("lost parcel")
    )
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="claims", verbose_name=_("carrier"))
    status = FSMField(_("status"), max_length=10, choices=Status.choices, default=Status.FILED, protected=True)
    currency = models.CharField(_("currency"), max_length=3)
    claimed_amount = models.DecimalField(_("amount claimed"), max_digits=12, decimal_places=2)
    settled_amount = models.DecimalField(
        _("amount settled"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("What the carrier agreed to pay: finance matches the carrier's payment against it."),
    )
    carrier_reference = models.CharField(_("carrier's claim number"), max_length=64, blank=True)
    note = models.TextField(_("note"), blank=True)
    decision_note = models.TextField(_("carrier's answer"), blank=True)
    filed_by = who_acted(_("filed by"))
    filed_at = models.DateTimeField(_("filed at"), default=timezone.now)
    decided_by = who_acted(_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    paid_recorded_by = who_acted(_("payment recorded by"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("carrier claim")
        verbose_name_plural = _("carrier claims")
        ordering = ["-filed_at", "-id"]
        permissions = [
            (codename(Logistics.FILE_CLAIM), _("Can file claims against carriers and record their answer")),
            (codename(Logistics.RECORD_CLAIM_PAYMENT), _("Can record a carrier's payment of a claim")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["shipment"], condition=~Q(status="rejected"), name="one_live_claim_per_parcel"
            ),
            models.CheckConstraint(condition=Q(claimed_amount__gt=0), name="claim_amount_positive"),
            models.CheckConstraint(
                condition=Q(settled_amount__isnull=True)
                | Q(settled_amount__gt=0, settled_amount__lte=F("claimed_amount")),
                name="claim_settled_within_claimed",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["filed", "rejected"]) | Q(settled_amount__isnull=False),
                name="claim_settled_amount_when_accepted",
            ),
        ]
        indexes = [models.Index(fields=["status", "filed_at"], name="claim_by_status_filed")]

    def __str__(self):
        return _("Claim %(number)s · %(carrier)s") % {"number": self.pk, "carrier": self.carrier}

    @transition(status, source=Status.FILED, target=Status.ACCEPTED, permission=Logistics.FILE_CLAIM)
    def accept(self):
        self.decided_at = timezone.now()

    @transition(status, source=Status.FILED, target=Status.REJECTED, permission=Logistics.FILE_CLAIM)
    def reject(self):
        self.decided_at = timezone.now()

    @transition(status, source=Status.ACCEPTED, target=Status.PAID, permission=Logistics.RECORD_CLAIM_PAYMENT)
    def record_payment(self):
        self.paid_at = timezone.now()


class ClaimDocument(models.Model):
    """A file sent with a claim (the carrier's loss confirmation, an invoice, photos). Kept under a
    random name outside every public folder and served only by the claim's permission-checked view."""

    claim = models.ForeignKey(CarrierClaim, on_delete=models.PROTECT, related_name="documents", verbose_name=_("claim"))
    file = models.FileField(_("file"), upload_to=document_name, storage=ClaimDocumentStorage(), max_length=100)
    original_name = models.CharField(_("file name"), max_length=120)
    content_type = models.CharField(_("type"), max_length=40)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = who_acted(_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("claim document")
        verbose_name_plural = _("claim documents")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name


class ParcelReplacement(models.Model):
    """The parcel that sends a lost parcel's goods again. One per lost parcel: the unique `lost`
    decides between two people replacing it at the same moment. A replaced parcel no longer holds
    its order back from delivery; the replacement does instead."""

    lost = models.OneToOneField(
        Shipment, on_delete=models.PROTECT, related_name="replaced_by", verbose_name=_("lost parcel")
    )
    parcel = models.OneToOneField(
        Shipment, on_delete=models.PROTECT, related_name="replacing", verbose_name=_("replacement parcel")
    )
    created_by = who_acted(_("sent again by"))
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("parcel replacement")
        verbose_name_plural = _("parcel replacements")
        ordering = ["-created_at", "-id"]
        permissions = [
            (codename(Logistics.SEND_REPLACEMENT), _("Can send a lost parcel's goods again, reserving their stock")),
        ]

    def __str__(self):
        return f"{self.lost_id} → {self.parcel_id}"


class ReplacementStock(models.Model):
    """The stock reserved for one line of a replacement parcel. An order's allocations are its goods
    waiting for its next parcel, which pick lists and dispatch take whole; a replacement's units
    must wait for their own parcel only, so they are reserved here, through the same ledger, and
    leave the books when the replacement is dispatched."""

    class State(models.TextChoices):
        RESERVED = "reserved", _("Reserved")
        SHIPPED = "shipped", _("Shipped")

    line = models.OneToOneField(
        ShipmentLine, on_delete=models.CASCADE, related_name="replacement_stock", verbose_name=_("shipment line")
    )
    stock_level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="+", verbose_name=_("stock"))
    quantity = models.PositiveIntegerField(_("quantity"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.RESERVED)

    class Meta:
        verbose_name = _("stock reserved for a replacement")
        verbose_name_plural = _("stock reserved for replacements")
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="replacement_stock_quantity_positive")]

    def __str__(self):
        return f"{self.line_id}: {self.quantity}"


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
