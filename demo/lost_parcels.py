"""A lost parcel in the demo shop (docs/architecture.md, "Lost parcels"): the carrier reports one
parcel on its way lost, the coordinator files a claim for its goods' value, the carrier settles it,
and the goods are sent again in a replacement parcel that now waits in the warehouse to be picked
and packed (its customer told). Everything goes through the services; the rows each step wrote are
then moved to the step's moment, as in the rest of the demo."""

from datetime import timedelta

from django.db.models import Q

from logistics import services as logistics
from logistics.models import Shipment

from .timeline import move, moving


def seed_lost_parcel(command) -> str:
    """Called by seed_demo after the orders, with itself: its users, stamps and the demo's clock.
    The parcel lost is the oldest one still on its way, quiet for a day, alone in its order."""
    users = command.users
    quiet_since = command.limit - timedelta(days=1)
    parcel = (
        Shipment.objects.filter(
            Q(last_event_at__lt=quiet_since) | Q(last_event_at=None),
            purpose=Shipment.Purpose.ORDER,
            status__in=[Shipment.Status.SHIPPED, Shipment.Status.IN_TRANSIT],
            order__status="shipped",
            merge__isnull=True,
            shipped_at__lt=quiet_since,
        )
        .order_by("shipped_at", "pk")
        .first()
    )
    if parcel is None:
        return "no parcel on its way to lose"
    order = parcel.order
    # Reported a day after the parcel's last news, and always before the demo's present.
    reported = min((parcel.last_event_at or parcel.shipped_at) + timedelta(days=1), quiet_since)
    command.at(
        order,
        reported,
        logistics.record_tracking_event,
        parcel.pk,
        status="exception",
        exception_kind="lost",
        occurred_at=reported,
        location="转运中心",
        description="承运商确认：包裹在转运中遗失",
        source="console",
        actor=users["logistics"],
    )
    claim = logistics.file_claim(
        parcel.pk,
        carrier_reference=f"CLM-{parcel.tracking_number}",
        note="附承运商遗失证明与发票",
        actor=users["logistics"],
    )
    logistics.accept_claim(
        claim.pk, settled_amount=claim.claimed_amount, note="按货值全额赔付", actor=users["logistics"]
    )
    of_the_parcel = f"shipment_id = {int(parcel.pk)}"
    move(
        [
            moving("logistics_carrierclaim", "filed_at", of_order=of_the_parcel),
            moving("logistics_carrierclaim", "decided_at", of_order=of_the_parcel),
        ],
        moment=reported + timedelta(hours=2),
        started=command.started,
        order_id=order.pk,
    )
    replacement = command.at(
        order, reported + timedelta(hours=3), logistics.send_replacement, parcel.pk, actor=users["logistics"]
    )
    move(
        [moving("logistics_shipment", "created_at"), moving("logistics_parcelreplacement", "created_at", of_order="")],
        moment=reported + timedelta(hours=3),
        started=command.started,
        order_id=order.pk,
    )
    return (
        f"parcel {parcel.tracking_number} of {order.number} lost: claim {claim.pk} settled at "
        f"{claim.claimed_amount} {claim.currency}, replacement parcel {replacement.parcel_id} waiting in "
        f"{replacement.parcel.warehouse.code}"
    )
