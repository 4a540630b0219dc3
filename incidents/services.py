"""Incidents and their plans (docs/architecture.md, "Incidents"). A manager declares an incident;
each step of its plan is one transaction that locks the incident first, calls the lower apps'
services to act (orders, inventory, logistics) and writes the step to the incident's timeline
with who took it. Closing the incident releases every hold it still has in force."""

from __future__ import annotations

from collections.abc import Collection

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor, stored_user
from core.permissions import Incidents, require
from core.transitions import number_for
from inventory import services as inventory
from logistics import services as logistics
from orders import services as orders

from . import locks, selectors
from .models import Incident, IncidentAction, Risk

Kind = IncidentAction.Kind
TITLE_LENGTH = Incident._meta.get_field("title").max_length
# What a hold tells staff (reviewers on each held order, operators refused a pick list).
HOLD_REASON_LENGTH = 200
MESSAGE_SCOPES = ("carrier", "warehouse", "channel")


class IncidentClosed(Exception):
    """A step of an incident that is closed already."""


def _open_incident(incident_id: int, actor: Actor) -> Incident:
    require(actor, Incidents.ACT_ON_INCIDENT, _("Your role may not take the steps of an incident's plan."))
    incident = locks.lock_incident(incident_id)
    if not incident.is_open:
        raise IncidentClosed(
            _("Incident %(number)s is closed; its plan takes no more steps.") % {"number": incident.number}
        )
    return incident


def _record(incident, kind, actor, **fields) -> IncidentAction:
    return IncidentAction.objects.create(incident=incident, kind=kind, actor=stored_user(actor), **fields)


def _hold_reason(incident: Incident) -> str:
    return f"{incident.number} · {incident.title}"[:HOLD_REASON_LENGTH]


@transaction.atomic
def declare(*, kind: str, title: str, description: str = "", actor: Actor) -> Incident:
    """A manager declares an incident; its plan (models.PLANS) is then offered on its page."""
    require(actor, Incidents.DECLARE_INCIDENT, _("Only a manager may declare an incident."))
    errors = {}
    if kind not in Incident.Kind.values:
        errors["kind"] = [_("Choose what kind of incident this is.")]
    title = " ".join((title or "").split())
    if not title:
        errors["title"] = [_("Give the incident a short title staff recognise it by.")]
    elif len(title) > TITLE_LENGTH:
        errors["title"] = [_("Use at most %(max)d characters.") % {"max": TITLE_LENGTH}]
    if errors:
        raise ValidationError(errors)
    incident = Incident.objects.create(
        kind=kind, title=title, description=(description or "").strip(), declared_by=stored_user(actor)
    )
    incident.number = number_for(incident, "INC")
    incident.save(update_fields=["number"])
    _record(incident, Kind.DECLARED, actor, details={"title": title})
    return incident


@transaction.atomic
def hold_channel(incident_id: int, channel_id: int, *, actor: Actor) -> IncidentAction:
    """Hold every new order of a channel for review, the incident named as the reason, until the
    hold is released or the incident closed."""
    incident = _open_incident(incident_id, actor)
    channel = orders.hold_channel_intake(channel_id, reason=_hold_reason(incident), actor=actor)
    return _record(incident, Kind.HOLD_CHANNEL, actor, channel=channel, details={"channel": channel.name})


@transaction.atomic
def pause_picking(incident_id: int, warehouse_id: int, *, actor: Actor) -> IncidentAction:
    """No pick list is made at the warehouse until the hold is released or the incident closed."""
    incident = _open_incident(incident_id, actor)
    warehouse = inventory.pause_warehouse(warehouse_id, "picking", reason=_hold_reason(incident), actor=actor)
    return _record(incident, Kind.PAUSE_PICKING, actor, warehouse=warehouse, details={"warehouse": str(warehouse)})


@transaction.atomic
def pause_reservations(incident_id: int, warehouse_id: int, *, actor: Actor) -> IncidentAction:
    """Stock figures in doubt: new orders (and approvals) reserve nothing at the warehouse, so they
    are filled from the other warehouses or held as short for a reviewer, until the figures are
    counted again and the hold is released."""
    incident = _open_incident(incident_id, actor)
    warehouse = inventory.pause_warehouse(warehouse_id, "reservations", reason=_hold_reason(incident), actor=actor)
    return _record(incident, Kind.PAUSE_RESERVATIONS, actor, warehouse=warehouse, details={"warehouse": str(warehouse)})


@transaction.atomic
def move_work(incident_id: int, from_warehouse_id: int, to_warehouse_id: int, *, actor: Actor) -> IncidentAction:
    """Move a warehouse's unpicked orders to another warehouse (logistics.services.move_open_work)."""
    incident = _open_incident(incident_id, actor)
    result = logistics.move_open_work(from_warehouse_id, to_warehouse_id, reason=incident.number, actor=actor)
    from_warehouse, to_warehouse = selectors.warehouse(from_warehouse_id), selectors.warehouse(to_warehouse_id)
    return _record(
        incident,
        Kind.MOVE_WORK,
        actor,
        warehouse=from_warehouse,
        details={
            "warehouse": str(from_warehouse),
            "to_warehouse": str(to_warehouse),
            "orders": result.done,
            "left": result.left,
        },
    )


def _provinces(provinces: str | Collection[str]) -> list[str]:
    if isinstance(provinces, str):
        provinces = provinces.replace("，", ",").replace("、", ",").replace("\n", ",").split(",")
    return sorted({province.strip() for province in provinces if province.strip()})


@transaction.atomic
def switch_carrier(
    incident_id: int, carrier_id: int, service_id: int, *, provinces: str | Collection[str] = "", actor: Actor
) -> IncidentAction:
    """Switch the carrier's parcels that have not left (only those to `provinces`, when given:
    names separated by commas) to another carrier service, in bulk."""
    incident = _open_incident(incident_id, actor)
    provinces = _provinces(provinces)
    service, carrier = selectors.carrier_service(service_id), selectors.carrier(carrier_id)
    if carrier is None:
        raise ValidationError({"carrier": _("Choose the carrier whose parcels switch.")})
    if service is not None and service.carrier_id == carrier.pk:
        raise ValidationError({"service": _("Choose a service of another carrier.")})
    result = logistics.switch_carrier_service(carrier_id, service_id, provinces=provinces, actor=actor)
    return _record(
        incident,
        Kind.SWITCH_CARRIER,
        actor,
        details={
            "carrier": carrier.name,
            "service": str(service),
            "provinces": provinces,
            "orders": result.done,
            "left": result.left,
            "relabel": result.needs_new_label,
        },
    )


@transaction.atomic
def message_customers(
    incident_id: int,
    *,
    scope: str,
    message: str,
    carrier_id: int | None = None,
    warehouse_id: int | None = None,
    channel_id: int | None = None,
    provinces: str | Collection[str] = "",
    actor: Actor,
) -> IncidentAction:
    """Write to the customers the incident affects with the shop's disruption notice, `message`
    in it: those with parcels of a carrier not yet delivered (to `provinces`, when given), those
    whose orders wait in a warehouse, or those whose orders a channel's hold keeps back."""
    incident = _open_incident(incident_id, actor)
    provinces = _provinces(provinces)
    details = {"scope": scope, "message": (message or "").strip()}
    if scope == "carrier":
        carrier = selectors.carrier(carrier_id)
        if carrier is None:
            raise ValidationError({"carrier": _("Choose the carrier whose customers are told.")})
        order_ids = selectors.orders_with_parcels_of(carrier.pk, provinces)
        details.update(carrier=carrier.name, provinces=provinces)
    elif scope == "warehouse":
        warehouse = selectors.warehouse(warehouse_id)
        if warehouse is None:
            raise ValidationError({"warehouse": _("Choose the warehouse whose customers are told.")})
        order_ids = selectors.orders_waiting_in(warehouse.pk)
        details["warehouse"] = str(warehouse)
    elif scope == "channel":
        channel = selectors.channel(channel_id)
        if channel is None:
            raise ValidationError({"channel": _("Choose the channel whose customers are told.")})
        order_ids = selectors.orders_held_from(channel.pk)
        details["channel"] = channel.name
    else:
        raise ValidationError({"scope": _("Choose who is told.")})
    if not order_ids:
        raise ValidationError(_("No order is affected that way, so nobody was written to."))
    notifications = orders.notify_disruption(order_ids, message=message, actor=actor)
    details["count"] = len(order_ids)
    details["messages"] = len(notifications)
    return _record(incident, Kind.MESSAGE_CUSTOMERS, actor, details=details)


@transaction.atomic
def add_note(incident_id: int, *, text: str, actor: Actor) -> IncidentAction:
    """Put what was decided or learnt on the incident's timeline."""
    incident = _open_incident(incident_id, actor)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write the note.")})
    return _record(incident, Kind.NOTE, actor, details={"text": text})


def _release(incident: Incident, hold: IncidentAction, actor: Actor) -> IncidentAction:
    details = {"hold": hold.kind}
    if hold.kind == Kind.HOLD_CHANNEL:
        released = orders.release_channel_intake(hold.channel_id, actor=actor)
        details.update(
            channel=hold.channel.name,
            orders=released.confirmed,
            confirmed=len(released.confirmed),
            still_held=len(released.still_held),
        )
    else:
        what = "picking" if hold.kind == Kind.PAUSE_PICKING else "reservations"
        inventory.resume_warehouse(hold.warehouse_id, what, actor=actor)
        details["warehouse"] = str(hold.warehouse)
    hold.released_at = timezone.now()
    hold.save(update_fields=["released_at"])
    return _record(incident, Kind.RELEASED, actor, channel=hold.channel, warehouse=hold.warehouse, details=details)


def _release_order(hold: IncidentAction) -> tuple[int, int]:
    # Warehouses first, then channels, each by key: a channel's release locks its held orders, and
    # no lock of a warehouse or channel may come after an order's (docs/architecture.md, "Lock order").
    return (0, hold.warehouse_id) if hold.warehouse_id else (1, hold.channel_id)


@transaction.atomic
def release_hold(incident_id: int, action_id: int, *, actor: Actor) -> IncidentAction:
    """Release one hold of an open incident before closing it."""
    incident = _open_incident(incident_id, actor)
    hold = next((hold for hold in selectors.holds_in_force(incident) if hold.pk == action_id), None)
    if hold is None:
        raise ValidationError(_("This hold has been released already."))
    return _release(incident, hold, actor)


@transaction.atomic
def close(incident_id: int, *, note: str = "", actor: Actor) -> Incident:
    """Close the incident: every hold still in force is released (held orders go back through the
    checks, paused work resumes), then the closing is written last on the timeline."""
    require(actor, Incidents.CLOSE_INCIDENT, _("Only a manager may close an incident."))
    incident = locks.lock_incident(incident_id)
    if not incident.is_open:
        raise IncidentClosed(_("Incident %(number)s is closed already.") % {"number": incident.number})
    for hold in sorted(selectors.holds_in_force(incident), key=_release_order):
        _release(incident, hold, actor)
    incident.status = Incident.Status.CLOSED
    incident.closed_at = timezone.now()
    incident.closed_by = stored_user(actor)
    incident.save(update_fields=["status", "closed_at", "closed_by"])
    _record(incident, Kind.CLOSED, actor, details={"note": (note or "").strip()})
    return incident


# The risk register


@transaction.atomic
def save_risk(
    risk_id: int | None = None,
    *,
    title: str,
    description: str = "",
    likelihood: int,
    impact: int,
    owner_id: int,
    plan: str,
    response: str = "",
    actor: Actor,
) -> Risk:
    """Add a risk to the register, or change one."""
    permission = Incidents.CHANGE_RISK if risk_id else Incidents.ADD_RISK
    require(actor, permission, _("Only a manager may keep the risk register."))
    errors = {}
    title = " ".join((title or "").split())
    if not title:
        errors["title"] = [_("Name the risk.")]
    for name, value in (("likelihood", likelihood), ("impact", impact)):
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            errors[name] = [_("Choose a level from 1 to 5.")]
    if not selectors.staff_users().filter(pk=owner_id).exists():
        errors["owner"] = [_("Choose a member of staff who owns this risk.")]
    if plan not in Incident.Kind.values:
        errors["plan"] = [_("Choose the plan that answers this risk.")]
    if errors:
        raise ValidationError(errors)
    risk = locks.lock_risk(risk_id) if risk_id else Risk()
    risk.title, risk.description = title, (description or "").strip()
    risk.likelihood, risk.impact, risk.owner_id = likelihood, impact, owner_id
    risk.plan, risk.response = plan, (response or "").strip()
    risk.save()
    risk.refresh_from_db(fields=["score"])
    return risk
