from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django_fsm import can_proceed, has_transition_perm

from ..events import ORDER_STATUS_CHANGED
from ..models import OrderEvent


class TransitionRefused(Exception):
    """The order is not in a state that allows this step (often: someone else was quicker)."""


def transition_label(bound_method):
    """The name staff see for a transition, in their language."""
    for declared in bound_method._django_fsm.transitions.values():
        if declared.custom.get("label"):
            return str(declared.custom["label"])
    return bound_method.__name__.replace("_", " ")


def ensure_allowed(case, bound_method, actor):
    """Refuse a transition the state or the actor's role does not allow, for an order or any other
    numbered case with a status (a return, a ticket). `actor` None means the system itself
    (intake, a carrier update) and needs no permission."""
    kind = str(case._meta.verbose_name)
    if not can_proceed(bound_method):
        raise TransitionRefused(
            _("%(kind)s %(number)s is %(status)s now, so “%(step)s” is not possible.")
            % {
                "kind": kind[:1].upper() + kind[1:],
                "number": case.number,
                "status": case.get_status_display(),
                "step": transition_label(bound_method),
            }
        )
    if actor is not None and not has_transition_perm(bound_method, actor):
        raise PermissionDenied(
            _("Your role may not take the step “%(step)s” on %(kind)s %(number)s.")
            % {"step": transition_label(bound_method), "kind": kind, "number": case.number}
        )


def take_transition(order, bound_method, *, actor=None, reason=""):
    """Take one FSM transition of a locked order in memory and return its event, both unsaved:
    `record_transition` writes them at once, intake writes those of many new orders together (and
    announces them with the orders placed)."""
    ensure_allowed(order, bound_method, actor)
    from_status = order.status
    bound_method()
    return OrderEvent(
        order=order,
        from_status=from_status,
        to_status=order.status,
        transition=bound_method.__name__,
        actor=actor,
        reason=reason or "",
    )


def record_transition(order, bound_method, *, actor=None, reason=""):
    """Take one FSM transition of a locked order, save it, write its event and announce the step."""
    event = take_transition(order, bound_method, actor=actor, reason=reason)
    order.save()
    event.save()
    ORDER_STATUS_CHANGED.publish(order_event=event)
    return event
