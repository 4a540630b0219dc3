"""Carriers' cash-on-delivery remittances in the demo shop (docs/architecture.md, "Cash-on-delivery
remittance"): each carrier's contract fee, and one batch per carrier paying over the cash of its
delivered cash-on-delivery parcels, except the latest few, which stay outstanding on the
reconciliation page. SF's batch carries two mismatches to look into: a parcel short of what was
due, and a fee above the contract; ZTO's names a tracking number that is none of ours."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import F

from demo.timeline import move, moving
from logistics import services as logistics
from logistics.models import Carrier, Shipment
from orders.models import PaymentMethod

# carrier code: (percent, minimum per parcel)
CONTRACT_FEES = {"sf": (Decimal("1.00"), Decimal("2.00")), "zto": (Decimal("0.80"), Decimal("1.50"))}
# The latest delivered parcels of each carrier that its batch does not pay over yet.
LEFT_OUTSTANDING = 4


def _owed_parcels(carrier):
    """The carrier's delivered cash-on-delivery parcels of one order each whose order still owes,
    oldest delivery first; of an order sent in two parcels, the first, whose line pays it."""
    parcels = (
        Shipment.objects.filter(
            carrier=carrier,
            status=Shipment.Status.DELIVERED,
            purpose=Shipment.Purpose.ORDER,
            merge=None,
            order__payment_method=PaymentMethod.COD,
            order__amount_paid__lt=F("order__total"),
        )
        .select_related("order")
        .order_by("delivered_at", "pk")
    )
    first_of_order = {}
    for parcel in parcels:
        first_of_order.setdefault(parcel.order_id, parcel)
    return list(first_of_order.values())


def seed_remittances(command) -> str:
    """Called by seed_demo after the orders, with itself: its users."""
    told = []
    for code, (percent, minimum) in CONTRACT_FEES.items():
        Carrier.objects.filter(code=code).update(cod_fee_percent=percent, cod_fee_minimum=minimum)
        carrier = Carrier.objects.filter(code=code).first()
        if carrier is None:
            continue
        parcels = _owed_parcels(carrier)[:-LEFT_OUTSTANDING]
        lines = []
        for row, parcel in enumerate(parcels, start=2):
            amount = parcel.order.balance_due
            lines.append(
                {
                    "row": row,
                    "tracking_number": parcel.tracking_number,
                    "amount": amount,
                    "fee": carrier.cod_fee_allowed(amount),
                    "remitted_on": parcel.delivered_at.date(),
                    "reference": f"{code.upper()}-COD-001",
                }
            )
        if code == "sf" and len(lines) >= 2:
            lines[0]["amount"] -= Decimal("10.00")
            lines[1]["fee"] += Decimal("3.00")
        if code == "zto":
            lines.append(
                {
                    "row": len(lines) + 2,
                    "tracking_number": "75000000000001",
                    "amount": Decimal("88.00"),
                    "fee": Decimal("1.50"),
                    "remitted_on": None,
                    "reference": "ZTO-COD-001",
                }
            )
        recorded = logistics.record_remittance(
            carrier.pk, lines, file_name=f"{code}-cod-remittance.xlsx", actor=command.users["finance"]
        )
        for remittance in recorded.remittances:
            told.append(
                f"{carrier.name} {remittance.reference}: {remittance.line_count} lines, {remittance.mismatch_count} mismatches"
            )
    # The batches came in an hour before the demo's present, with the payments they recorded.
    move(
        [
            moving("orders_payment", "created_at", ""),
            moving("logistics_codremittance", "uploaded_at", ""),
        ],
        moment=command.limit - timedelta(hours=1),
        started=command.started,
    )
    return "; ".join(told) + f"; the latest {LEFT_OUTSTANDING} parcels of each carrier still outstanding"
