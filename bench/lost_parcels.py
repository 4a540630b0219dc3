"""Lost parcels: the claims list (/admin/logistics/carrierclaim/) with 500 claims against one with
50, and sending a lost parcel again (`logistics.services.send_replacement`). Aims: the list's
queries do not grow with the claims; a replacement costs the same number of statements whatever
the number of parcels already replaced.

    .venv/bin/python bench/lost_parcels.py       # writes bench/results/lost_parcels.json

Orders of 3 lines are placed through `orders.services.place_order` into one warehouse, picked,
packed and dispatched through the services, reported lost by a tracking event, and a claim is
filed for each. Two carriers hold 50 and the rest of the claims, so the list filtered by carrier
shows the small and the large set; the two are asked for in alternating rounds through
django.test.Client logged in as a superuser. Replacements are timed one per round between the
list requests, each for a parcel not sent again yet; medians are reported."""

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402
from bench.intake import order_inputs  # noqa: E402

DATABASE = "oc_claims_bench"
SIZES = {"small": 50, "large": 500}
PRODUCTS = 60


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests-per-round", type=int, default=3)
    parser.add_argument("--keep-database", action="store_true", help="leave the database for inspection")
    return parser.parse_args()


def log(message):
    print(message, file=sys.stderr, flush=True)


def build():
    """The shop, the lost parcels and their claims; returns ({size: carrier}, lost parcel ids, seconds per step)."""
    from django.utils import timezone

    from core.actors import SYSTEM
    from inventory.models import StockLevel
    from logistics import services as logistics
    from logistics.models import Carrier, CarrierService, Shipment
    from orders import services as orders

    timings = {}
    began = time.perf_counter()
    products = data.build_catalogue(products=PRODUCTS, warehouses=1)
    carriers = {}
    for size, code in (("small", "zto"), ("large", "sf")):
        carriers[size] = Carrier.objects.create(code=code, name=code.upper())
        CarrierService.objects.create(
            carrier=carriers[size], code="standard", name="Standard", supports_cod=True, base_fee=8, fee_per_kg=2
        )
    channel = data.channel()
    placed = [
        orders.place_order(order_input, actor=SYSTEM).order
        for order_input in order_inputs(channel, products, 1, sum(SIZES.values()))
    ]
    timings["orders"] = round(time.perf_counter() - began, 1)

    began = time.perf_counter()
    warehouse_id = StockLevel.objects.values_list("warehouse_id", flat=True).first()
    wave = logistics.create_pick_wave(warehouse_id, [order.pk for order in placed], actor=SYSTEM)
    lost, start, number = [], 0, 0
    parcels = list(Shipment.objects.filter(wave=wave).order_by("pk").prefetch_related("lines__order_line"))
    for size, count in SIZES.items():
        for parcel in parcels[start : start + count]:
            for line in parcel.lines.all():
                logistics.pack_item(parcel.pk, f"{line.quantity}*{line.order_line.sku}", actor=SYSTEM)
            logistics.finish_packing(parcel.pk, weight_kg="1.0", package_count=1, actor=SYSTEM)
            number += 1
            prefix = "SF" if size == "large" else "ZT"
            logistics.dispatch(
                parcel.pk, carrier_id=carriers[size].pk, tracking_number=f"{prefix}{number:013d}", actor=SYSTEM
            )
            logistics.record_tracking_event(
                parcel.pk,
                status="exception",
                exception_kind="lost",
                occurred_at=timezone.now(),
                source="console",
                actor=SYSTEM,
            )
            logistics.file_claim(parcel.pk, actor=SYSTEM)
            lost.append(parcel.pk)
        start += count
    timings["lost_parcels_and_claims"] = round(time.perf_counter() - began, 1)
    return carriers, lost, timings


def main():
    args = parse_args()
    warnings.filterwarnings("ignore", message="No directory at")
    log(f"building {DATABASE}")
    data.use_database(DATABASE)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from core.actors import SYSTEM
    from logistics import services as logistics

    carriers, lost, build_seconds = build()
    log(f"built in {build_seconds}")
    url = reverse("admin:logistics_carrierclaim_changelist")
    paths = {size: f"{url}?carrier__id__exact={carrier.pk}" for size, carrier in carriers.items()}
    client = Client()
    client.force_login(data.superuser())

    def get(path):
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        return response

    for path in paths.values():
        for _warm_up in range(3):
            get(path)
    samples = {size: [] for size in SIZES}
    replacement_ms, replacement_queries = [], []
    to_replace = iter(reversed(lost))
    for number in range(1, args.rounds + 1):
        for size, path in paths.items():
            for _request in range(args.requests_per_round):
                began = time.perf_counter()
                get(path)
                samples[size].append((time.perf_counter() - began) * 1000)
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            logistics.send_replacement(next(to_replace), actor=SYSTEM)
            replacement_ms.append((time.perf_counter() - began) * 1000)
        replacement_queries.append(len(captured))
        log(f"round {number}/{args.rounds} done")

    figures = {}
    for size, path in paths.items():
        with CaptureQueriesContext(connection) as captured:
            response = get(path)
        ms = sorted(samples[size])
        figures[size] = {
            "path": path,
            "claims": SIZES[size],
            "bytes": len(response.content),
            "queries": len(captured),
            "median_ms": round(data.median(ms), 1),
            "min_ms": round(ms[0], 1),
            "p90_ms": round(ms[int(len(ms) * 0.9) - 1], 1),
            "requests": len(ms),
        }
        print(
            f"{size:>6}: {SIZES[size]} claims, {figures[size]['queries']} queries, "
            f"median {figures[size]['median_ms']} ms"
        )
    replacement = {
        "median_ms": round(data.median(sorted(replacement_ms)), 1),
        "queries": sorted(set(replacement_queries)),
        "count": len(replacement_ms),
    }
    print(f"replacement: median {replacement['median_ms']} ms, {replacement['queries']} statements each")
    aim_met = figures["large"]["queries"] == figures["small"]["queries"] and len(replacement["queries"]) == 1
    path = data.write_results(
        "lost_parcels",
        databases=[DATABASE],
        figures={
            "aim": "list queries for 500 claims == for 50; the same statements for every replacement",
            "aim_met": aim_met,
            "time_ratio": round(figures["large"]["median_ms"] / figures["small"]["median_ms"], 2),
            "list": figures,
            "replacement": replacement,
            "build_seconds": build_seconds,
        },
        notes=(
            f"Medians of {args.rounds * args.requests_per_round} requests per list through django.test.Client "
            "logged in as a superuser, after 3 warm-up requests, the two lists asked in alternating rounds with one "
            "replacement timed between rounds (its statements include the customer's messages queued). Orders of 3 "
            f"lines over {PRODUCTS} products in one warehouse. The machine was shared with other work while measuring."
        ),
    )
    print(f"wrote {path}")
    if not args.keep_database:
        data.drop_database(DATABASE)


if __name__ == "__main__":
    main()
