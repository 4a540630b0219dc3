"""What every logistics use case shares: a shipment's guarded transition. Permissions are checked
with core.permissions.require; locks are taken through logistics.locks, in the lock order of
docs/architecture.md."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _

from core.actors import Actor
from core.transitions import ensure_allowed

from ..models import Shipment


def _not_possible_now(shipment, bound_method):
    return _("Shipment %(shipment)s is %(status)s now.") % {
        "shipment": shipment,
        "status": shipment.get_status_display(),
    }


def _not_for_this_role(shipment, bound_method):
    return _("Your role may not do this with shipments.")


def step(shipment: Shipment, bound_method: Callable[[], object], actor: Actor) -> None:
    """Take one shipment transition, refusing it with the shipment's current state when it is not
    possible now (usually: someone else was quicker)."""
    ensure_allowed(shipment, bound_method, actor, refuse_state=_not_possible_now, refuse_role=_not_for_this_role)
    bound_method()
