from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from core.models import who_acted
from core.permissions import Aftersales, codename
from inventory.models import Warehouse
from logistics.models import Shipment
from orders.models import MONEY, Channel, Customer, Order, OrderLine, Refund


class Outcome(models.TextChoices):
    REFUND = "refund", _("Refund")
    EXCHANGE = "exchange", _("Exchange")
    REPAIR = "repair", _("Repair")


class ReturnReason(models.TextChoices):
    QUALITY = "quality", _("Quality problem")
    WRONG_ITEM = "wrong_item", _("Wrong item")
    DAMAGED_IN_TRANSIT = "damaged_in_transit", _("Damaged in transit")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    CHANGED_MIND = "changed_mind", _("Changed mind")


class TransitionLog(models.Model):
    """One transition of an after-sales case: its timeline and audit trail, like an order's events."""

    from_status = models.CharField(_("from"), max_length=20)
    to_status = models.CharField(_("to"), max_length=20)
    transition = models.CharField(_("transition"), max_length=32)
    actor = who_acted(_("by"))
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"


class ReturnRequest(FSMModelMixin, models.Model):
    """A customer sends goods of one order back and wants a refund, an exchange or a repair."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        RECEIVED = "received", _("Received")
        INSPECTED = "inspected", _("Inspected")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

    OPEN = [Status.REQUESTED, Status.APPROVED, Status.RECEIVED, Status.INSPECTED]

    number = models.CharField(_("return number"), max_length=24, unique=True, null=True, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns", verbose_name=_("order"))
    status = FSMField(_("status"), max_length=12, choices=Status.choices, default=Status.REQUESTED, protected=True)
    wanted_outcome = models.CharField(_("customer wants"), max_length=10, choices=Outcome.choices)
    resolution = models.CharField(_("resolved by"), max_length=10, choices=Outcome.choices, blank=True)
    customer_note = models.TextField(_("customer's words"), blank=True)
    rejection_reason = models.TextField(_("why it was rejected"), blank=True)
    channel_reference = models.CharField(
        _("channel's return id"),
        max_length=64,
        blank=True,
        help_text=_("The id the channel gave this return, when it came through the API."),
    )
    channel = models.ForeignKey(
        Channel,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("channel"),
        help_text=_("The order's channel, kept here so figures per channel need not read the orders."),
    )

    delivered_at = models.DateTimeField(_("order delivered at"), null=True, blank=True)
    window_days = models.PositiveSmallIntegerField(_("return window (days)"))
    within_window = models.BooleanField(_("asked within the return window"))
    window_override_reason = models.TextField(_("why a late return was accepted"), blank=True)

    warehouse = models.ForeignKey(
        Warehouse,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("receiving warehouse"),
    )
    refund_amount = models.DecimalField(_("refund amount"), null=True, blank=True, **MONEY)
    refund_includes_shipping = models.BooleanField(_("refund includes shipping"), default=False)
    refunds = models.ManyToManyField(Refund, blank=True, related_name="+", verbose_name=_("refunds"))
    replacement_order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaces_returns",
        verbose_name=_("replacement order"),
    )
    repair_shipment = models.ForeignKey(
        Shipment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("repaired goods sent back in"),
    )

    requested_by = who_acted(_("entered by"))
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    inspected_at = models.DateTimeField(_("inspected at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("return")
        verbose_name_plural = _("returns")
        ordering = ["-created_at", "-id"]
        permissions = [
            (codename(Aftersales.APPROVE_RETURN), _("Can approve or reject returns")),
            (codename(Aftersales.RECEIVE_RETURN), _("Can receive and inspect returned goods")),
            (codename(Aftersales.RESOLVE_RETURN), _("Can resolve and close returns")),
            (codename(Aftersales.ACCEPT_LATE_RETURN), _("Can accept a return after the return window")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(refund_amount__isnull=True) | Q(refund_amount__gt=0), name="return_refund_positive"
            ),
            models.UniqueConstraint(
                fields=["channel", "channel_reference"],
                condition=~Q(channel_reference=""),
                name="channel_return_id_unique_per_channel",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="return_by_status"),
            models.Index(fields=["created_at"], name="return_by_day"),
            models.Index(fields=["channel", "created_at"], name="return_by_channel_day"),
        ]

    def __str__(self):
        return self.number or str(_("new return"))

    @transition(
        status,
        source=Status.REQUESTED,
        target=Status.APPROVED,
        permission=Aftersales.APPROVE_RETURN,
        custom={"label": _("Approve")},
    )
    def approve(self):
        self.approved_at = timezone.now()

    @transition(
        status,
        source=Status.REQUESTED,
        target=Status.REJECTED,
        permission=Aftersales.APPROVE_RETURN,
        custom={"label": _("Reject"), "needs_reason": True},
    )
    def reject(self):
        self.closed_at = timezone.now()

    @transition(
        status,
        source=Status.APPROVED,
        target=Status.RECEIVED,
        permission=Aftersales.RECEIVE_RETURN,
        custom={"label": _("Receive goods")},
    )
    def receive(self):
        self.received_at = timezone.now()

    @transition(
        status,
        source=Status.RECEIVED,
        target=Status.INSPECTED,
        permission=Aftersales.RECEIVE_RETURN,
        custom={"label": _("Record inspection")},
    )
    def inspect(self):
        self.inspected_at = timezone.now()

    @transition(
        status,
        source=Status.INSPECTED,
        target=Status.RESOLVED,
        permission=Aftersales.RESOLVE_RETURN,
        custom={"label": _("Resolve")},
    )
    def resolve(self):
        self.resolved_at = timezone.now()

    @transition(
        status,
        source=Status.RESOLVED,
        target=Status.CLOSED,
        permission=Aftersales.RESOLVE_RETURN,
        custom={"label": _("Close")},
    )
    def close(self):
        self.closed_at = timezone.now()


class ReturnLine(models.Model):
    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="lines", verbose_name=_("return")
    )
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+", verbose_name=_("order line"))
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    reason = models.CharField(_("reason"), max_length=20, choices=ReturnReason.choices)
    note = models.CharField(_("detail"), max_length=255, blank=True)
    received_quantity = models.PositiveIntegerField(_("received"), default=0)
    resellable_quantity = models.PositiveIntegerField(_("resellable"), default=0)
    damaged_quantity = models.PositiveIntegerField(_("damaged"), default=0)
    inspection_note = models.CharField(_("inspection note"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("returned line")
        verbose_name_plural = _("returned lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="return_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(received_quantity__lte=F("quantity")), name="return_line_received_within_asked"
            ),
            models.CheckConstraint(
                condition=Q(resellable_quantity__gte=0, damaged_quantity__gte=0)
                & Q(resellable_quantity__lte=F("received_quantity") - F("damaged_quantity")),
                name="return_line_inspected_within_received",
            ),
            models.UniqueConstraint(fields=["return_request", "order_line"], name="one_return_line_per_order_line"),
        ]

    def __str__(self):
        return f"{self.order_line.sku} × {self.quantity}"


class ReturnEvent(TransitionLog):
    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.PROTECT, related_name="events", verbose_name=_("return")
    )

    class Meta(TransitionLog.Meta):
        verbose_name = _("return event")
        verbose_name_plural = _("return events")


class Ticket(FSMModelMixin, models.Model):
    """A complaint, from first contact to the corrective action that keeps it from happening again."""

    class Category(models.TextChoices):
        QUALITY = "quality", _("Quality")
        LATE_DELIVERY = "late_delivery", _("Late delivery")
        WRONG_ITEM = "wrong_item", _("Wrong item")
        DAMAGE = "damage", _("Damage")
        SERVICE = "service", _("Service")
        OTHER = "other", _("Other")

    class Severity(models.TextChoices):
        URGENT = "urgent", _("Urgent")
        HIGH = "high", _("High")
        NORMAL = "normal", _("Normal")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        WAITING_CUSTOMER = "waiting_customer", _("Waiting for customer")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

    class Source(models.TextChoices):
        CONSOLE = "console", _("Staff")
        FEEDBACK = "feedback", _("Low rating")

    OPEN = [Status.OPEN, Status.IN_PROGRESS, Status.WAITING_CUSTOMER]

    number = models.CharField(_("ticket number"), max_length=24, unique=True, null=True, editable=False)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("what the customer says"), blank=True)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices, default=Severity.NORMAL)
    status = FSMField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN, protected=True)
    source = models.CharField(_("opened from"), max_length=10, choices=Source.choices, default=Source.CONSOLE)

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets", verbose_name=_("order")
    )
    shipment = models.ForeignKey(
        Shipment, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("shipment")
    )
    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets", verbose_name=_("return")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets", verbose_name=_("customer")
    )
    channel = models.ForeignKey(
        Channel,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("channel"),
        help_text=_("The order's channel, kept here so figures per channel need not read the orders."),
    )
    assigned_to = who_acted(_("assigned to"))
    respond_by = models.DateTimeField(_("answer by"))
    first_response_at = models.DateTimeField(_("first answered at"), null=True, blank=True)
    root_cause = models.TextField(_("root cause"), blank=True)
    corrective_action = models.TextField(_("corrective action"), blank=True)

    opened_by = who_acted(_("opened by"))
    created_at = models.DateTimeField(_("opened at"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("complaint ticket")
        verbose_name_plural = _("complaint tickets")
        ordering = ["respond_by", "id"]
        permissions = [(codename(Aftersales.HANDLE_TICKET), _("Can work on complaint tickets"))]
        indexes = [
            models.Index(fields=["status", "respond_by"], name="ticket_by_status_deadline"),
            models.Index(fields=["created_at"], name="ticket_by_day"),
            models.Index(fields=["channel", "created_at"], name="ticket_by_channel_day"),
        ]

    def __str__(self):
        return self.number or str(_("new ticket"))

    def has_cause_and_action(self):
        return bool(self.root_cause.strip() and self.corrective_action.strip())

    @transition(
        status,
        source=Status.OPEN,
        target=Status.IN_PROGRESS,
        permission=Aftersales.HANDLE_TICKET,
        custom={"label": _("Start work")},
    )
    def start(self):
        pass

    @transition(
        status,
        source=Status.IN_PROGRESS,
        target=Status.WAITING_CUSTOMER,
        permission=Aftersales.HANDLE_TICKET,
        custom={"label": _("Wait for customer")},
    )
    def wait_for_customer(self):
        pass

    @transition(
        status,
        source=Status.WAITING_CUSTOMER,
        target=Status.IN_PROGRESS,
        permission=Aftersales.HANDLE_TICKET,
        custom={"label": _("Customer answered")},
    )
    def resume(self):
        pass

    @transition(
        status,
        source=OPEN,
        target=Status.RESOLVED,
        permission=Aftersales.HANDLE_TICKET,
        conditions=[has_cause_and_action],
        custom={"label": _("Resolve")},
    )
    def resolve(self):
        self.resolved_at = timezone.now()

    @transition(
        status,
        source=Status.RESOLVED,
        target=Status.IN_PROGRESS,
        permission=Aftersales.HANDLE_TICKET,
        custom={"label": _("Reopen"), "needs_reason": True},
    )
    def reopen(self):
        self.resolved_at = None

    @transition(
        status,
        source=Status.RESOLVED,
        target=Status.CLOSED,
        permission=Aftersales.HANDLE_TICKET,
        custom={"label": _("Close")},
    )
    def close(self):
        self.closed_at = timezone.now()


class TicketMessage(models.Model):
    class Kind(models.TextChoices):
        NOTE = "note", _("Internal note")
        REPLY = "reply", _("Reply to customer")

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="messages", verbose_name=_("ticket"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    text = models.TextField(_("text"))
    sent_to = models.CharField(_("sent to"), max_length=254, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.text[:50]


class TicketEvent(TransitionLog):
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="events", verbose_name=_("ticket"))

    class Meta(TransitionLog.Meta):
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")


class Feedback(models.Model):
    """What a customer said about an order through the link sent after delivery: one per order."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="feedback", verbose_name=_("order"))
    rating = models.PositiveSmallIntegerField(_("rating"), validators=[MinValueValidator(1), MaxValueValidator(5)])
    comment = models.TextField(_("comment"), blank=True)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("ticket opened")
    )
    channel = models.ForeignKey(
        Channel,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=_("channel"),
        help_text=_("The order's channel, kept here so figures per channel need not read the orders."),
    )
    created_at = models.DateTimeField(_("given at"), default=timezone.now)

    class Meta:
        verbose_name = _("customer feedback")
        verbose_name_plural = _("customer feedback")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="feedback_rating_1_to_5")]
        # With the rating in the index, counting ratings and satisfied ones never reads the table.
        indexes = [
            models.Index(fields=["created_at", "rating"], name="feedback_by_day"),
            models.Index(fields=["channel", "created_at", "rating"], name="feedback_by_channel_day"),
        ]

    def __str__(self):
        return f"{self.order} · {self.rating}"
