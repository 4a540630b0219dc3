"""Taking the steps of a case that has a status (docs/architecture.md, "Permissions"): an order, a
refund, a return, a ticket, a shipment. Each step is a django-fsm transition of the model, declared
with the permission a person needs for it. A service locks the case, then `record_transition` checks
the step, takes it and writes it into the case's event log (`ensure_allowed` alone checks a step
before the work that goes with it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed, has_transition_perm

from .actors import SYSTEM, Actor, ensure_actor, stored_user

Step = Callable[[], Any]
"""A transition bound to its case, such as `order.approve`."""


class TransitionRefused(Exception):
    """The case is not in a state that allows this step (often: someone else was quicker)."""


def transition_label(bound_method: Step) -> str:
    """The name staff see for a transition, in their language."""
    for declared in bound_method._django_fsm.transitions.values():
        if declared.custom.get("label"):
            return str(declared.custom["label"])
    return bound_method.__name__.replace("_", " ")


def may_take(bound_method: Step, actor: Actor) -> bool:
    """Whether `actor` may take the step now: the case's state must allow it, and a person also
    needs the permission the transition declares; the system needs none."""
    if ensure_actor(actor) is SYSTEM:
        return can_proceed(bound_method)
    return has_transition_perm(bound_method, actor)


def _kind(case: models.Model) -> str:
    return str(case._meta.verbose_name)


def not_possible(case: models.Model, bound_method: Step) -> str:
    """Why a numbered case (an order, a return, a ticket) cannot take a step now."""
    kind = _kind(case)
    return _("%(kind)s %(number)s is %(status)s now, so “%(step)s” is not possible.") % {
        "kind": kind[:1].upper() + kind[1:],
        "number": case.number,
        "status": case.get_status_display(),
        "step": transition_label(bound_method),
    }


def not_permitted(case: models.Model, bound_method: Step) -> str:
    """Why the actor's role may not take a step of a numbered case."""
    return _("Your role may not take the step “%(step)s” on %(kind)s %(number)s.") % {
        "step": transition_label(bound_method),
        "kind": _kind(case),
        "number": case.number,
    }


Refusal = Callable[[models.Model, Step], str]


def ensure_allowed(
    case: models.Model,
    bound_method: Step,
    actor: Actor,
    *,
    refuse_state: Refusal = not_possible,
    refuse_role: Refusal = not_permitted,
) -> None:
    """Refuse a step the case's state (TransitionRefused) or the actor's role (PermissionDenied)
    does not allow. The sentences name a numbered case; a case named otherwise (a refund by its
    order and amount, a shipment) brings its own `refuse_state` and `refuse_role`."""
    ensure_actor(actor)
    if not can_proceed(bound_method):
        raise TransitionRefused(refuse_state(case, bound_method))
    if not may_take(bound_method, actor):
        raise PermissionDenied(refuse_role(case, bound_method))


def take_transition(case: models.Model, bound_method: Step, *, actor: Actor, reason: str = "") -> models.Model:
    """Take one transition of a locked case in memory and return its event, both unsaved:
    `record_transition` writes them at once, intake writes those of many new orders together.
    A case's event log is the model whose foreign key to it is named `events` in reverse
    (`order.events`, `ticket.events`)."""
    ensure_allowed(case, bound_method, actor)
    from_status = case.status
    bound_method()
    log = type(case).events.rel
    return log.related_model(
        **{log.field.name: case},
        from_status=from_status,
        to_status=case.status,
        transition=bound_method.__name__,
        actor=stored_user(actor),
        reason=reason or "",
    )


def record_transition(case: models.Model, bound_method: Step, *, actor: Actor, reason: str = "") -> models.Model:
    """Take one transition of a locked case, save it and write its event."""
    event = take_transition(case, bound_method, actor=actor, reason=reason)
    case.save()
    event.save()
    return event


def number_for(case: models.Model, prefix: str) -> str:
    """A case's number, human-friendly and never reused: a prefix, the day the case was opened,
    then its row id."""
    return f"{prefix}{timezone.localdate(case.created_at):%y%m%d}-{case.pk:06d}"
