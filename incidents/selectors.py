"""Reads of incidents and the risk register for the console, and who an incident's message goes
to (docs/architecture.md, "Incidents")."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from inventory.models import Warehouse
from logistics.models import Carrier, CarrierService, Shipment
from orders.models import Allocation, Channel, Order
from orders.services.intake_holds import HOLD_CODE

from .models import Incident, IncidentAction, Risk

Kind = IncidentAction.Kind

SENTENCES = {
    Kind.DECLARED: _("Declared: %(title)s."),
    Kind.HOLD_CHANNEL: _("Held the new orders of %(channel)s for review."),
    Kind.PAUSE_PICKING: _("Paused picking at %(warehouse)s."),
    Kind.PAUSE_RESERVATIONS: _("Stopped promising the stock of %(warehouse)s to new orders."),
    Kind.MOVE_WORK: _(
        "Moved the open work of %(warehouse)s to %(to_warehouse)s: %(done)s orders moved, %(left)s left where they are."
    ),
    Kind.SWITCH_CARRIER: _(
        "Switched the parcels of %(carrier)s not yet sent to %(service)s: %(done)s switched, %(left)s left, "
        "%(relabel)s need a new label."
    ),
    Kind.MESSAGE_CUSTOMERS: _("Wrote to the customers of %(count)s orders (%(scope)s): “%(message)s”"),
    Kind.NOTE: "%(text)s",
    Kind.CLOSED: _("Closed the incident. %(note)s"),
}
SWITCHED_IN_PROVINCES = _(
    "Switched the parcels of %(carrier)s not yet sent to %(provinces)s to %(service)s: %(done)s switched, "
    "%(left)s left, %(relabel)s need a new label."
)
RELEASED = {
    Kind.HOLD_CHANNEL: _(
        "New orders of %(channel)s go through again: %(confirmed)s held orders confirmed, %(still_held)s still held "
        "for review."
    ),
    Kind.PAUSE_PICKING: _("Picking at %(warehouse)s resumed."),
    Kind.PAUSE_RESERVATIONS: _("The stock of %(warehouse)s is promised to new orders again."),
}
SCOPES = {
    "carrier": _("parcels with %(carrier)s not yet delivered"),
    "carrier_in": _("parcels with %(carrier)s to %(provinces)s not yet delivered"),
    "warehouse": _("orders waiting in %(warehouse)s"),
    "channel": _("orders of %(channel)s held by this incident"),
}


@dataclass
class TimelineEntry:
    action: IncidentAction
    sentence: str
    orders: list[str] = field(default_factory=list)
    left: dict[str, str] = field(default_factory=dict)
    relabel: list[str] = field(default_factory=list)


def _provinces_text(provinces: Collection[str]) -> str:
    return "、".join(provinces)


def describe(action: IncidentAction) -> str:
    """What a timeline entry says, in the reader's language."""
    details: dict[str, Any] = dict(action.details)
    params = {key: value for key, value in details.items() if isinstance(value, str)}
    params.update(
        done=len(details.get("orders", [])),
        left=len(details.get("left", {})),
        relabel=len(details.get("relabel", [])),
        count=details.get("count", 0),
        confirmed=details.get("confirmed", 0),
        still_held=details.get("still_held", 0),
        provinces=_provinces_text(details.get("provinces", [])),
        note=details.get("note", ""),
        text=details.get("text", ""),
    )
    if action.kind == Kind.RELEASED:
        return str(RELEASED[details["hold"]]) % params
    if action.kind == Kind.MESSAGE_CUSTOMERS:
        scope = details.get("scope", "")
        if scope == "carrier" and details.get("provinces"):
            scope = "carrier_in"
        params["scope"] = str(SCOPES[scope]) % params if scope in SCOPES else ""
    if action.kind == Kind.SWITCH_CARRIER and details.get("provinces"):
        return str(SWITCHED_IN_PROVINCES) % params
    return (str(SENTENCES[action.kind]) % params).strip()


def timeline(incident: Incident) -> list[TimelineEntry]:
    """The incident's steps, oldest first, each with its sentence and the orders it touched."""
    return [
        TimelineEntry(
            action=action,
            sentence=describe(action),
            orders=list(action.details.get("orders", [])),
            left=dict(action.details.get("left", {})),
            relabel=list(action.details.get("relabel", [])),
        )
        for action in incident.actions.select_related("actor").order_by("created_at", "id")
    ]


def holds_in_force(incident: Incident) -> list[IncidentAction]:
    """The incident's holds that still hold (a channel's new orders, a warehouse's picking or its
    stock promised), oldest first."""
    return list(
        incident.actions.filter(kind__in=IncidentAction.HOLDS, released_at__isnull=True)
        .select_related("channel", "warehouse")
        .order_by("created_at", "id")
    )


def incident_list() -> QuerySet[Incident]:
    return Incident.objects.select_related("declared_by", "closed_by")


def incident_for_page(incident_id: int) -> Incident:
    """One incident with who declared and closed it; raises Incident.DoesNotExist."""
    return incident_list().get(pk=incident_id)


def open_incidents() -> QuerySet[Incident]:
    return incident_list().filter(status=Incident.Status.OPEN)


def risk_list() -> QuerySet[Risk]:
    """The register, highest score first."""
    return Risk.objects.select_related("owner").order_by("-score", "title")


# What the step forms offer


def channels() -> QuerySet[Channel]:
    return Channel.objects.filter(active=True).order_by("name")


def warehouses() -> QuerySet[Warehouse]:
    return Warehouse.objects.filter(active=True).order_by("priority", "code")


def carriers() -> QuerySet[Carrier]:
    return Carrier.objects.filter(active=True).order_by("name")


def carrier_services() -> QuerySet[CarrierService]:
    return CarrierService.objects.filter(active=True, carrier__active=True).select_related("carrier")


def warehouse(warehouse_id: int | None) -> Warehouse | None:
    return Warehouse.objects.filter(pk=warehouse_id).first() if warehouse_id else None


def carrier(carrier_id: int | None) -> Carrier | None:
    return Carrier.objects.filter(pk=carrier_id).first() if carrier_id else None


def carrier_service(service_id: int | None) -> CarrierService | None:
    return carrier_services().filter(pk=service_id).first() if service_id else None


def channel(channel_id: int | None) -> Channel | None:
    return Channel.objects.filter(pk=channel_id).first() if channel_id else None


def staff_users() -> QuerySet[Any]:
    """Who may own a risk: active staff."""
    return get_user_model().objects.filter(is_active=True, is_staff=True).order_by("username")


# Who is told


def orders_with_parcels_of(carrier_id: int, provinces: Collection[str] = ()) -> list[int]:
    """Orders with a parcel of the carrier that has not been delivered (waiting, packed or on its
    way), only those to `provinces` when given."""
    parcels = Shipment.objects.filter(
        carrier_id=carrier_id, status__in=[*Shipment.OPEN, *Shipment.ON_THE_WAY], purpose__in=Shipment.CARRIES_GOODS
    )
    if provinces:
        parcels = parcels.filter(order__province__in=list(provinces))
    return sorted(set(parcels.values_list("order_id", flat=True)))


def orders_waiting_in(warehouse_id: int) -> list[int]:
    """Orders with goods reserved in the warehouse: what it has still to send."""
    return sorted(
        set(
            Allocation.objects.filter(
                state=Allocation.State.RESERVED, stock_level__warehouse_id=warehouse_id
            ).values_list("line__order_id", flat=True)
        )
    )


def orders_held_from(channel_id: int) -> list[int]:
    """Orders of the channel held because its new orders are held."""
    return [
        pk
        for pk, reasons in Order.objects.filter(channel_id=channel_id, status=Order.Status.ON_HOLD).values_list(
            "pk", "hold_reasons"
        )
        if any(reason.get("code") == HOLD_CODE for reason in reasons)
    ]
