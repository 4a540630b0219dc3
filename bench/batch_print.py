"""Batch print: every packing slip and label of a pick list in one print job
(/admin/logistics/shipment/print/sheets/?wave=<id>&paper=label), for a pick list of 500 orders
against one of 50. Aim: the number of database queries does not grow with the orders; the render
times and their ratio are reported, and so are the queries of the print itself (the POST that gives
every parcel its pool number and counts its label).

    .venv/bin/python bench/batch_print.py          # writes bench/results/batch_print.json

Orders of 3 lines (a quarter cash on delivery) are placed through `orders.services.place_order`
into one warehouse whose products lie in scattered bins, the two pick lists are made with
`logistics.services.create_pick_wave`, and the carrier service gets a pool of numbers. Each list is
printed once through its batch page's POST as a superuser; then the two printable pages are asked
for in alternating rounds through django.test.Client, so load from other work on the machine falls
on both alike, and medians are reported."""

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402
from bench.pick_list import PRODUCTS, SIZES  # noqa: E402
from bench.pick_list import build as build_pick_lists  # noqa: E402

DATABASE = "oc_print_bench"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests-per-round", type=int, default=3)
    parser.add_argument("--keep-database", action="store_true", help="leave the database for inspection")
    return parser.parse_args()


def log(message):
    print(message, file=sys.stderr, flush=True)


def build():
    """The pick list benchmark's shop, orders and two pick lists, and a pool of 2,000 numbers for
    the carrier service they ship with; returns ({size: wave}, seconds per step)."""
    from logistics.models import CarrierService, PooledTrackingNumber, TrackingNumberPool

    waves, timings = build_pick_lists()
    began = time.perf_counter()
    service = CarrierService.objects.select_related("carrier").get(carrier__code="sf", code="standard")
    pool = TrackingNumberPool.objects.create(service=service)
    PooledTrackingNumber.objects.bulk_create(
        [PooledTrackingNumber(pool=pool, carrier=service.carrier, number=f"SF{n:013d}") for n in range(1, 2001)]
    )
    timings["pool"] = round(time.perf_counter() - began, 1)
    return waves, timings


def main():
    args = parse_args()
    # WhiteNoise warns that collectstatic has not run; the print page loads no static files here.
    warnings.filterwarnings("ignore", message="No directory at")
    log(f"building {DATABASE}")
    data.use_database(DATABASE)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from logistics.models import Shipment

    waves, build_seconds = build()
    log(f"built in {build_seconds}")
    batch, sheets = reverse("admin:logistics_shipment_print"), reverse("admin:logistics_shipment_print_sheets")
    client = Client()
    client.force_login(data.superuser())

    printing = {}
    for size, wave in waves.items():
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            response = client.post(f"{batch}?wave={wave.pk}", {"paper": "label"})
            seconds = time.perf_counter() - began
        if response.status_code != 302:
            raise SystemExit(f"the print of {size} answered {response.status_code}")
        printing[size] = {"queries": len(captured), "ms": round(seconds * 1000, 1)}
    unnumbered = Shipment.objects.filter(tracking_number="").count()
    if unnumbered:
        raise SystemExit(f"{unnumbered} parcels got no pool number")

    paths = {size: f"{sheets}?wave={wave.pk}&paper=label" for size, wave in waves.items()}

    def get(path):
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        return response

    for path in paths.values():
        for _warm_up in range(2):
            get(path)
    samples = {size: [] for size in SIZES}
    for number in range(1, args.rounds + 1):
        for size, path in paths.items():
            for _request in range(args.requests_per_round):
                began = time.perf_counter()
                get(path)
                samples[size].append((time.perf_counter() - began) * 1000)
        log(f"round {number}/{args.rounds} done")

    figures = {}
    for size, path in paths.items():
        with CaptureQueriesContext(connection) as captured:
            response = get(path)
        ms = sorted(samples[size])
        content = response.content.decode()
        figures[size] = {
            "path": path,
            "orders": SIZES[size],
            "labels": content.count('class="sheet label"'),
            "bytes": len(response.content),
            "queries": len(captured),
            "median_ms": round(data.median(ms), 1),
            "min_ms": round(ms[0], 1),
            "p90_ms": round(ms[int(len(ms) * 0.9) - 1], 1),
            "requests": len(ms),
            "print_post": printing[size],
            "sql": [query["sql"][:200] for query in captured.captured_queries],
        }
        print(
            f"{size:>6}: {figures[size]['orders']} orders, {figures[size]['labels']} labels, "
            f"{figures[size]['queries']} queries, median {figures[size]['median_ms']} ms; "
            f"the print: {printing[size]['queries']} queries, {printing[size]['ms']} ms"
        )
    aim_met = (
        figures["large"]["queries"] == figures["small"]["queries"]
        and printing["large"]["queries"] == printing["small"]["queries"]
    )
    ratio = round(figures["large"]["median_ms"] / figures["small"]["median_ms"], 2)
    print(f"queries {'do not grow' if aim_met else 'GROW'} with the orders; render time ratio {ratio:.2f}")
    path = data.write_results(
        "batch_print",
        databases=[DATABASE],
        figures={
            "aim": "queries for 500 orders == queries for 50 orders (the printable page and the print's POST)",
            "aim_met": aim_met,
            "time_ratio": ratio,
            "sizes": figures,
            "build_seconds": build_seconds,
        },
        notes=(
            f"Medians of {args.rounds * args.requests_per_round} requests per printable page through "
            "django.test.Client logged in as a superuser, after 2 warm-up requests, the two pages asked in "
            "alternating rounds; the query count includes the session and user lookups of the console. Each "
            "pick list was printed once before (its POST, measured once, gave every parcel a pool number). "
            f"Orders of 3 lines over {PRODUCTS} products in one warehouse, a quarter cash on delivery. The "
            "machine was shared with other work while measuring."
        ),
    )
    print(f"wrote {path}")
    if not args.keep_database:
        data.drop_database(DATABASE)


if __name__ == "__main__":
    main()
