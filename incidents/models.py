"""Incidents, the timeline of what their plans did, and the risk register (docs/architecture.md,
"Incidents"). Rows change only through incidents.services."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import who_acted
from core.permissions import Incidents, codename
from inventory.models import Warehouse
from orders.models import Channel


class Incident(models.Model):
    """Something that stops the shop's usual work, declared by a manager, and the plan that answers it."""

    class Kind(models.TextChoices):
        CARRIER_DOWN = "carrier_down", _("Carrier down")
        WAREHOUSE_CLOSED = "warehouse_closed", _("Warehouse closed")
        CHANNEL_BAD_ORDERS = "channel_bad_orders", _("Channel sending bad orders")
        STOCK_IN_DOUBT = "stock_in_doubt", _("Stock figures in doubt")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    number = models.CharField(_("incident number"), max_length=24, unique=True, null=True, editable=False)
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("what is happening"), blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("declared at"), default=timezone.now)
    declared_by = who_acted(_("declared by"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = who_acted(_("closed by"))

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-created_at", "-id"]
        permissions = [
            (codename(Incidents.ACT_ON_INCIDENT), _("Can run the steps of an incident's plan")),
            (codename(Incidents.CLOSE_INCIDENT), _("Can close incidents")),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="incident_by_status")]

    def __str__(self):
        return f"{self.number} · {self.title}" if self.number else self.title

    @property
    def is_open(self):
        return self.status == self.Status.OPEN


class IncidentAction(models.Model):
    """One entry of an incident's timeline: what was done, by whom and when. A hold (a channel's
    new orders, a warehouse's picking or its stock promised) stays in force until `released_at`."""

    class Kind(models.TextChoices):
        DECLARED = "declared", _("Declared")
        HOLD_CHANNEL = "hold_channel", _("Hold a channel's new orders")
        PAUSE_PICKING = "pause_picking", _("Pause picking at a warehouse")
        PAUSE_RESERVATIONS = "pause_reservations", _("Stop promising a warehouse's stock")
        MOVE_WORK = "move_work", _("Move a warehouse's open work")
        SWITCH_CARRIER = "switch_carrier", _("Switch a carrier's parcels to another service")
        MESSAGE_CUSTOMERS = "message_customers", _("Message the affected customers")
        NOTE = "note", _("Note")
        RELEASED = "released", _("Released")
        CLOSED = "closed", _("Closed")

    HOLDS = [Kind.HOLD_CHANNEL, Kind.PAUSE_PICKING, Kind.PAUSE_RESERVATIONS]

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="actions", verbose_name=_("incident"))
    kind = models.CharField(_("what"), max_length=24, choices=Kind.choices)
    actor = who_acted(_("by"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("channel")
    )
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("warehouse")
    )
    # What the step did, as values its sentence is made of in each reader's language
    # (incidents.selectors.describe), and the order numbers it touched.
    details = models.JSONField(_("details"), default=dict, blank=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)

    class Meta:
        verbose_name = _("incident step")
        verbose_name_plural = _("incident steps")
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.incident} · {self.get_kind_display()}"

    @property
    def in_force(self):
        return self.kind in self.HOLDS and self.released_at is None


class Level(models.IntegerChoices):
    VERY_LOW = 1, _("1 · very low")
    LOW = 2, _("2 · low")
    MEDIUM = 3, _("3 · medium")
    HIGH = 4, _("4 · high")
    VERY_HIGH = 5, _("5 · very high")


class Risk(models.Model):
    """One risk of the register: how likely, how bad, whose it is, and the plan that answers it."""

    title = models.CharField(_("risk"), max_length=120)
    description = models.TextField(_("what could happen"), blank=True)
    likelihood = models.PositiveSmallIntegerField(
        _("likelihood"), choices=Level.choices, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    impact = models.PositiveSmallIntegerField(
        _("impact"), choices=Level.choices, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    score = models.GeneratedField(
        expression=F("likelihood") * F("impact"),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
        verbose_name=_("score"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("owner")
    )
    plan = models.CharField(_("plan"), max_length=24, choices=Incident.Kind.choices)
    response = models.TextField(_("how the plan answers it"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("risk")
        verbose_name_plural = _("risk register")
        ordering = ["-score", "title"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(likelihood__gte=1, likelihood__lte=5, impact__gte=1, impact__lte=5),
                name="risk_levels_one_to_five",
            )
        ]

    def __str__(self):
        return self.title


# What each kind of incident's plan offers, in the order a manager usually takes the steps
# (docs/architecture.md, "Incidents"); an incident of another kind is offered every step.
Step = IncidentAction.Kind
PLANS = {
    Incident.Kind.CARRIER_DOWN: [Step.SWITCH_CARRIER, Step.MESSAGE_CUSTOMERS],
    Incident.Kind.WAREHOUSE_CLOSED: [Step.PAUSE_PICKING, Step.MOVE_WORK, Step.MESSAGE_CUSTOMERS],
    Incident.Kind.CHANNEL_BAD_ORDERS: [Step.HOLD_CHANNEL, Step.MESSAGE_CUSTOMERS],
    Incident.Kind.STOCK_IN_DOUBT: [Step.PAUSE_RESERVATIONS, Step.PAUSE_PICKING, Step.MOVE_WORK],
    Incident.Kind.OTHER: [
        Step.HOLD_CHANNEL,
        Step.PAUSE_PICKING,
        Step.PAUSE_RESERVATIONS,
        Step.MOVE_WORK,
        Step.SWITCH_CARRIER,
        Step.MESSAGE_CUSTOMERS,
    ],
}
