"""Every lock on incident rows. An incident is locked first of all its step's locks: then the
channel or warehouse the step holds, pauses or releases, then the orders and what follows them in
the one lock order (docs/architecture.md, "Lock order")."""

from __future__ import annotations

from .models import Incident, Risk


def lock_incident(incident_id: int) -> Incident:
    """Lock one incident; raises Incident.DoesNotExist."""
    return Incident.objects.select_for_update().get(pk=incident_id)


def lock_risk(risk_id: int) -> Risk:
    """Lock one risk of the register, alone."""
    return Risk.objects.select_for_update().get(pk=risk_id)
