"""What every logistics use case shares: a shipment's guarded transition and the shipment lock.
Locks are taken in one order everywhere: the order row, then its shipments (by pk), then their
lines; stock rows are locked by the inventory services (by pk)."""

from django.utils.translation import gettext as _

from core.transitions import ensure_allowed
from orders import services as orders

from ..models import Shipment


def _not_possible_now(shipment, bound_method):
    return _("Shipment %(shipment)s is %(status)s now.") % {
        "shipment": shipment,
        "status": shipment.get_status_display(),
    }


def _not_for_this_role(shipment, bound_method):
    return _("Your role may not do this with shipments.")


def step(shipment, bound_method, actor):
    """Take one shipment transition, refusing it with the shipment's current state when it is not
    possible now (usually: someone else was quicker)."""
    ensure_allowed(shipment, bound_method, actor, refuse_state=_not_possible_now, refuse_role=_not_for_this_role)
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
