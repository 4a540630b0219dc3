"""How the console shows an order's values: its badges, the customer's name, phone and address as
the person looking may see them (docs/architecture.md, "Personal data"), the steps it refuses."""

from dataclasses import dataclass

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from core.console import badge, money, short_datetime
from core.permissions import Orders
from core.privacy import Sight, mask_name, record_view, sight_of
from core.transitions import TransitionRefused

from ..services.phones import format_phone, mask_phone

REFUSALS = (TransitionRefused, PermissionDenied, ValidationError)


def can_see_phone(user):
    return user.has_perm(Orders.VIEW_CUSTOMER_PHONE)


def shown_phone(phone, *, whole):
    """The number grouped for reading, or masked; both keep the country code apart:
    +86 138 0013 8000 and +86 138****8000."""
    return format_phone(phone) if whole else mask_phone(phone)


def phone_for(user, phone):
    """The number as this member of staff may see it."""
    return shown_phone(phone, whole=can_see_phone(user))


@dataclass(frozen=True)
class Contact:
    """Where an order goes, as one person may see it."""

    recipient: str
    phone: str
    province: str
    city: str
    district: str
    address: str
    postcode: str
    instructions: str
    customer: str

    @property
    def region(self):
        return " ".join(part for part in (self.province, self.city, self.district) if part)


def contact_for(user, order, sight: Sight | None = None):
    sight = sight or sight_of(user)
    return Contact(
        recipient=sight.shown_name(order.recipient),
        phone=shown_phone(order.phone, whole=sight.phone),
        province=order.province,
        city=order.city,
        district=order.district,
        address=sight.shown_street(order.address),
        postcode=sight.shown_postcode(order.postcode),
        # Customers write names, numbers and gate codes here: it goes with the street address.
        instructions=order.special_instructions if sight.address else "",
        customer=sight.shown_name(order.customer.name),
    )


def opened_order(request, order, page):
    """The order's contact as the user may see it, the opening logged when any of it is unmasked."""
    sight = sight_of(request.user)
    record_view(request.user, sight, customer_id=order.customer_id, order_number=order.number, page=page)
    return contact_for(request.user, order, sight)


def status_badge(order):
    return badge("status", order.status, order.get_status_display())


def payment_badge(order):
    return badge("payment", order.payment_status, order.get_payment_status_display())


class OrderColumns:
    """List columns shared by every admin that lists orders. The phone column is chosen per
    request (see `phone_column`), so staff without the permission never get the full number."""

    @staticmethod
    def phone_column(request):
        return "phone_full" if can_see_phone(request.user) else "phone_masked"

    @staticmethod
    def recipient_column(request):
        return "recipient" if sight_of(request.user).name else "recipient_masked"

    @admin.display(description=_("recipient"), ordering="recipient")
    def recipient_masked(self, order):
        return mask_name(order.recipient)

    @admin.display(description=_("placed at"), ordering="placed_at")
    def placed(self, order):
        return short_datetime(order.placed_at)

    @admin.display(description=_("phone"))
    def phone_full(self, order):
        return format_phone(order.phone)

    @admin.display(description=_("phone"))
    def phone_masked(self, order):
        return mask_phone(order.phone)

    @admin.display(description=_("total"))
    def total_display(self, order):
        return money(order.total, order.currency)

    @admin.display(description=_("payment"))
    def payment_status_display(self, order):
        return payment_badge(order)

    @admin.display(description=_("status"))
    def status_display(self, order):
        return status_badge(order)
