"""What every logistics use case shares: the permission check and a shipment's guarded transition.
Locks are taken through logistics.locks, in the lock order of docs/architecture.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django_fsm import can_proceed, has_transition_perm

from orders import services as orders

from ..models import Shipment

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def require(actor: User | None, permission: str, message: str) -> None:
    if actor is not None and not actor.has_perm(permission):
        raise PermissionDenied(message)


def step(shipment: Shipment, bound_method: Callable[[], object], actor: User | None) -> None:
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
