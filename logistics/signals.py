"""Logistics reacting to orders, which may not import logistics (DESIGN: apps depend one way)."""

from django.dispatch import receiver
from django_fsm.signals import post_transition

from orders.models import Order

from . import services


@receiver(post_transition, sender=Order, dispatch_uid="logistics_cancel_open_shipments")
def void_parcels_of_cancelled_orders(sender, instance, name, target, **kwargs):
    """A cancelled or rejected order's parcels that have not left are void (its stock is released
    by the order services in the same transaction)."""
    if target == Order.Status.CANCELLED:
        services.cancel_open_shipments(instance)
