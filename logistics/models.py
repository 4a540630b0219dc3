from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from inventory.models import Warehouse
from orders.models import Order


TRACKING_NUMBER_SLOT = "{tracking_number}"


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
        _("tracking link"), max_length=255, blank=True, validators=[validate_tracking_link],
        help_text=_("A web address (http or https) with {tracking_number} where the number goes."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("carrier")
        verbose_name_plural = _("carriers")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def tracking_url(self, tracking_number):
        if not self.tracking_url_template or not self.tracking_url_template.lower().startswith(("http://", "https://")):
            return ""
        return self.tracking_url_template.replace(TRACKING_NUMBER_SLOT, quote(tracking_number, safe=""))


class Shipment(FSMModelMixin, models.Model):
    """The goods of one order that leave one warehouse together with one carrier."""

    class Status(models.TextChoices):
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments", verbose_name=_("order"))
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+", verbose_name=_("warehouse"))
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="shipments", verbose_name=_("carrier"))
    tracking_number = models.CharField(_("tracking number"), max_length=64)
    status = FSMField(_("status"), max_length=16, choices=Status.choices, default=Status.SHIPPED, protected=True)
    shipped_at = models.DateTimeField(_("shipped at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("dispatched by"),
    )

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["-shipped_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "tracking_number"], name="tracking_number_unique_per_carrier"),
        ]
        indexes = [models.Index(fields=["tracking_number"], name="shipment_by_tracking_number")]

    def __str__(self):
        return f"{self.carrier} {self.tracking_number}"

    @property
    def tracking_url(self):
        return self.carrier.tracking_url(self.tracking_number)

    @transition(status, source=Status.SHIPPED, target=Status.DELIVERED, permission="orders.dispatch_order")
    def deliver(self):
        self.delivered_at = timezone.now()
