from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.actors import Actor
from core.permissions import Orders, require

from .. import locks
from ..models import Customer
from .phones import normalize_phone


@transaction.atomic
def update_customer(customer_id: int, *, actor: Actor, name: str, phone: str, email: str = "") -> Customer:
    """Correct a customer's details. The phone is how intake finds the customer again, so it is
    stored in the same form and must not belong to another customer."""
    require(actor, Orders.CHANGE_CUSTOMER, _("Your role may not change customers."))
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Enter the customer's name.")})
    phone, valid = normalize_phone(phone)
    if not valid:
        raise ValidationError({"phone": _("Enter a valid phone number.")})
    customer = locks.lock_customer(customer_id)
    if Customer.objects.filter(phone=phone).exclude(pk=customer.pk).exists():
        raise ValidationError({"phone": _("This phone number belongs to another customer.")})
    customer.name, customer.phone, customer.email = name, phone, (email or "").strip()
    customer.save(update_fields=["name", "phone", "email"])
    return customer
