"""Printing in batches in the demo shop (docs/architecture.md, "Printing in batches"): the carrier
service most of the open parcels of the busiest pick list travel with gets a pool of tracking numbers
(a range, imported as the coordinator would from the carrier's sheet), and that pick list's slips
and labels are printed once by the warehouse, so its parcels carry pool numbers and the pool shows
what is left."""

from collections import Counter

from logistics import selectors
from logistics.models import PickWave, Shipment
from logistics.services import print_labels
from logistics.services.tracking_pools import PoolRow, import_tracking_numbers

# Per carrier: (prefix, first, last), a range apart from the numbers the demo's story gave parcels
# (SF and 13 digits from 10¹², ZTO 7 and 13 digits), each fitting the carrier's pattern.
RANGES = {"sf": ("SF", "0000000100001", "0000000100250"), "zto": ("", "700000100001", "700000100250")}


def seed_label_printing(command) -> str:
    """Called by seed_demo after the orders, with itself: its users."""
    waiting = Shipment.objects.filter(status__in=Shipment.OPEN, wave__isnull=False, tracking_number="")
    busiest = Counter(waiting.values_list("wave_id", flat=True)).most_common(1)
    if not busiest:
        return "no pick list waits to be printed"
    wave = PickWave.objects.get(pk=busiest[0][0])
    service = Counter(
        waiting.filter(wave=wave).exclude(service=None).values_list("service__carrier__code", "service__code")
    ).most_common(1)[0][0]
    carrier_code, service_code = service
    prefix, first, last = RANGES[carrier_code]
    row = PoolRow(carrier=carrier_code, service=service_code, start=first, end=last, prefix=prefix)
    outcomes = import_tracking_numbers([row], actor=command.users["logistics"])
    if not isinstance(outcomes[0], int):
        raise RuntimeError(f"The demo's tracking numbers were refused: {outcomes[0]}")
    printed = print_labels(selectors.wave_parcels_in_pick_order(wave.pk), actor=command.users["warehouse"])
    return (
        f"a pool of {outcomes[0]} numbers for {carrier_code} {service_code}; pick list {wave.pk} printed, "
        f"{len(printed.given)} parcels given pool numbers"
    )
