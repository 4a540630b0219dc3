"""Transfers between warehouses (docs/architecture.md, "Transfers between warehouses"): a draft with
lines per product, sent (booked out of the source through the ledger: in transit), then received
(booked into the destination, a difference with its reason), or cancelled while a draft."""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from core.models import who_acted
from core.permissions import Inventory, codename
from core.transitions import number_for

from .stock import Product, Warehouse


class Transfer(FSMModelMixin, models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_TRANSIT = "in_transit", _("In transit")
        RECEIVED = "received", _("Received")
        CANCELLED = "cancelled", _("Cancelled")

    source = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="transfers_out", verbose_name=_("from warehouse")
    )
    destination = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="transfers_in", verbose_name=_("to warehouse")
    )
    status = FSMField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT, protected=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_by = who_acted(_("drafted by"))
    created_at = models.DateTimeField(_("drafted at"), default=timezone.now)
    sent_by = who_acted(_("sent by"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    received_by = who_acted(_("received by"))
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    cancelled_by = who_acted(_("cancelled by"))
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-created_at", "-id"]
        permissions = [
            (codename(Inventory.SEND_TRANSFER), _("Can send transfers (book goods out of the source)")),
            (codename(Inventory.RECEIVE_TRANSFER), _("Can receive transfers (book goods into the destination)")),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(source=F("destination")), name="transfer_between_two_warehouses"),
        ]
        indexes = [
            # Stock in transit is read on every stock page: the few transfers on their way.
            models.Index(fields=["destination"], condition=Q(status="in_transit"), name="transfer_in_transit"),
        ]

    def __str__(self):
        return self.number

    @property
    def number(self):
        return number_for(self, "TR") if self.pk else ""

    @transition(status, source=Status.DRAFT, target=Status.IN_TRANSIT, permission=Inventory.SEND_TRANSFER)
    def send(self):
        self.sent_at = timezone.now()

    @transition(status, source=Status.IN_TRANSIT, target=Status.RECEIVED, permission=Inventory.RECEIVE_TRANSFER)
    def receive(self):
        self.received_at = timezone.now()

    @transition(status, source=Status.DRAFT, target=Status.CANCELLED, permission=Inventory.ADD_TRANSFER)
    def cancel(self):
        self.cancelled_at = timezone.now()


class TransferLine(models.Model):
    """Units of one product on a transfer; `received` is filled in when the destination books them."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines", verbose_name=_("transfer"))
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="transfer_lines", verbose_name=_("product")
    )
    quantity = models.PositiveIntegerField(_("units sent"))
    received = models.PositiveIntegerField(_("units received"), null=True, blank=True)
    difference_reason = models.CharField(_("why the units received differ"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("transfer line")
        verbose_name_plural = _("transfer lines")
        ordering = ["transfer", "id"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "product"], name="transfer_product_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_quantity_positive"),
            models.CheckConstraint(
                condition=Q(received__isnull=True) | Q(received=F("quantity")) | ~Q(difference_reason=""),
                name="transfer_difference_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.product.sku} × {self.quantity}"

    @property
    def difference(self):
        return None if self.received is None else self.received - self.quantity
