"""What every logistics use case shares: the permission check, a shipment's guarded transition and
the shipment lock. Locks are taken in one order everywhere: the order row, then its shipments (by
pk), then their lines; stock rows are locked by the inventory services (by pk)."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django_fsm import can_proceed, has_transition_perm

from orders import services as orders

from ..models import Shipment


def require(actor, permission, message):
    if actor is not None and not actor.has_perm(permission):
        raise PermissionDenied(message)


def step(shipment, bound_method, actor):
    """Take one shipment transition, refusing it with the shipment's current state when it is not
    possible now (usually: someone else was quicker)."""
    if not can_proceed(bound_method):
        raise orders.TransitionRefused(
            _("Shipment %(shipment)s is %(status)s now.")
            % {"shipment": shipment, "status": shipment.get_status_display()}
        )
    if actor is not None and not has_transition_perm(bound_method, actor):
        raise PermissionDenied(_("Your role may not do this with shipments."))
    bound_method()


def locked_shipment(shipment_id, *, lock_order):
    if lock_order:
        order_id = Shipment.objects.values_list("order_id", flat=True).get(pk=shipment_id)
        orders.lock_order(order_id)
    return (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("order", "warehouse", "carrier")
        .get(pk=shipment_id)
    )
