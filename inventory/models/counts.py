"""Stock counts (docs/architecture.md, "Stock counts"): a session counts the stock levels of a
warehouse, a zone, a list of bins or an ABC class, blind; each line's expected figure is frozen when
it is first counted, and the variances are booked through the ledger when the session is closed,
by a manager's approval where they are large."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from core.models import OneRowSettings, who_acted
from core.permissions import Inventory, codename

from .stock import AbcClass, StockLevel, Warehouse


class CountSettings(OneRowSettings):
    """How often each ABC class is counted and which variances a manager approves; one row."""

    a_every_days = models.PositiveSmallIntegerField(
        _("count class A every (days)"), default=30, validators=[MinValueValidator(1)]
    )
    b_every_days = models.PositiveSmallIntegerField(
        _("count class B every (days)"), default=91, validators=[MinValueValidator(1)]
    )
    c_every_days = models.PositiveSmallIntegerField(
        _("count class C every (days)"), default=365, validators=[MinValueValidator(1)]
    )
    approval_above_value = models.DecimalField(
        _("approval above value"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("200.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("A line whose variance is worth more than this (units × the product's cost) waits for a manager."),
    )
    approval_above_percent = models.DecimalField(
        _("approval above percentage"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("10.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("A line whose variance is more than this share of the expected units waits for a manager."),
    )

    class Meta:
        verbose_name = _("count settings")
        verbose_name_plural = _("count settings")

    def __str__(self):
        return str(_("Count settings"))

    def every_days(self, abc_class):
        return {AbcClass.A: self.a_every_days, AbcClass.B: self.b_every_days, AbcClass.C: self.c_every_days}[abc_class]


class CountSession(FSMModelMixin, models.Model):
    class Scope(models.TextChoices):
        WAREHOUSE = "warehouse", _("Whole warehouse")
        ZONE = "zone", _("Zone (bins starting with)")
        BINS = "bins", _("List of bins")
        ABC = "abc", _("ABC class")

    class Status(models.TextChoices):
        COUNTING = "counting", _("Counting")
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        BOOKED = "booked", _("Booked")
        CANCELLED = "cancelled", _("Cancelled")

    LIVE = [Status.COUNTING, Status.AWAITING_APPROVAL]

    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="count_sessions", verbose_name=_("warehouse")
    )
    scope = models.CharField(_("what is counted"), max_length=12, choices=Scope.choices)
    zone = models.CharField(_("zone"), max_length=32, blank=True)
    bins = models.JSONField(_("bins"), default=list, blank=True)
    abc_class = models.CharField(_("ABC class"), max_length=1, choices=AbcClass.choices, blank=True)
    scheduled = models.BooleanField(_("opened by the schedule"), default=False)
    note = models.CharField(_("note"), max_length=255, blank=True)
    status = FSMField(_("status"), max_length=20, choices=Status.choices, default=Status.COUNTING, protected=True)
    created_by = who_acted(_("opened by"))
    created_at = models.DateTimeField(_("opened at"), default=timezone.now)
    submitted_by = who_acted(_("finished by"))
    submitted_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    approved_by = who_acted(_("approved by"))
    booked_at = models.DateTimeField(_("booked at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("count session")
        verbose_name_plural = _("count sessions")
        ordering = ["-created_at", "-id"]
        permissions = [
            (codename(Inventory.APPROVE_COUNT), _("Can approve count variances above the limits")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(scope="zone", zone__gt="") | ~Q(scope="zone"), name="count_zone_named"),
            models.CheckConstraint(
                condition=Q(scope="abc", abc_class__gt="") | ~Q(scope="abc"), name="count_class_named"
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def number(self):
        """CS and the row id: the ledger lines carry it as their reference, so unlike
        `core.transitions.number_for` it holds no day, which a moved timestamp would change."""
        return f"CS{self.pk:06d}" if self.pk else ""

    @property
    def scope_text(self):
        if self.scope == self.Scope.ZONE:
            return _("Zone %(zone)s") % {"zone": self.zone}
        if self.scope == self.Scope.BINS:
            return _("Bins %(bins)s") % {"bins": ", ".join(self.bins)}
        if self.scope == self.Scope.ABC:
            return _("Class %(abc)s") % {"abc": self.abc_class}
        return self.get_scope_display()

    @transition(status, source=Status.COUNTING, target=Status.AWAITING_APPROVAL, permission=Inventory.COUNT_STOCK)
    def submit(self):
        self.submitted_at = timezone.now()

    @transition(status, source=Status.COUNTING, target=Status.BOOKED, permission=Inventory.COUNT_STOCK)
    def book(self):
        self.submitted_at = self.booked_at = timezone.now()

    @transition(status, source=Status.AWAITING_APPROVAL, target=Status.BOOKED, permission=Inventory.APPROVE_COUNT)
    def approve(self):
        self.booked_at = timezone.now()

    @transition(status, source=Status.AWAITING_APPROVAL, target=Status.COUNTING, permission=Inventory.APPROVE_COUNT)
    def recount(self):
        self.submitted_at = None

    @transition(status, source=Status.COUNTING, target=Status.CANCELLED, permission=Inventory.ADD_COUNTSESSION)
    def cancel(self):
        self.cancelled_at = timezone.now()


class CountLine(models.Model):
    """One stock level to count in a session. `expected` is the on-hand figure frozen when the line
    is first counted (never shown to the counter); the variance `counted − expected` is booked on
    top of whatever moved since, so nothing that moved during the count is lost or counted twice."""

    session = models.ForeignKey(CountSession, on_delete=models.CASCADE, related_name="lines", verbose_name=_("session"))
    stock_level = models.ForeignKey(
        StockLevel, on_delete=models.PROTECT, related_name="count_lines", verbose_name=_("stock level")
    )
    bin_location = models.CharField(_("bin location"), max_length=32, blank=True)
    counted = models.PositiveIntegerField(_("counted"), null=True, blank=True)
    expected = models.IntegerField(_("expected"), null=True, blank=True)
    counted_at = models.DateTimeField(_("counted at"), null=True, blank=True)
    counted_by = who_acted(_("counted by"))
    needs_approval = models.BooleanField(_("needs approval"), default=False)
    booked_change = models.IntegerField(_("booked change"), null=True, blank=True)
    # True while the session is counting or awaiting approval: a stock level is in one such session
    # at a time, else two sessions would book the same shelf's variance twice.
    live = models.BooleanField(default=True, editable=False)

    class Meta:
        verbose_name = _("count line")
        verbose_name_plural = _("count lines")
        ordering = ["session", "bin_location", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "stock_level"], name="count_line_once_per_session"),
            models.UniqueConstraint(
                fields=["stock_level"], condition=Q(live=True), name="count_level_in_one_live_session"
            ),
            models.CheckConstraint(
                condition=Q(counted__isnull=True) | Q(expected__isnull=False), name="count_expected_frozen_when_counted"
            ),
        ]

    def __str__(self):
        return f"{self.session} · {self.stock_level}"

    @property
    def variance(self):
        return None if self.counted is None else self.counted - self.expected
