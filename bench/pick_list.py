"""Pick list: the printable pick list page (/admin/logistics/pickwave/<id>/print/) for a wave of 500
orders against one of 50. Aim: the number of database queries does not grow with the orders; both
render times are reported.

    .venv/bin/python bench/pick_list.py          # writes bench/results/pick_list.json

Orders of 3 lines are placed through `orders.services.place_order` into one warehouse whose
products lie in scattered bins, and the two pick lists are made with
`logistics.services.create_pick_wave`. The two pages are then asked for in alternating rounds
through django.test.Client logged in as a superuser, so load from other work on the machine falls
on both alike, and medians are reported."""

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402
from bench.intake import order_inputs  # noqa: E402

DATABASE = "oc_pick_bench"
SIZES = {"small": 50, "large": 500}
PRODUCTS = 120


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests-per-round", type=int, default=4)
    parser.add_argument("--keep-database", action="store_true", help="leave the database for inspection")
    return parser.parse_args()


def log(message):
    print(message, file=sys.stderr, flush=True)


def build():
    """The shop, the orders and the two pick lists; returns ({size: wave}, seconds per step)."""
    from core.actors import SYSTEM
    from inventory import services as inventory
    from inventory.models import StockLevel
    from logistics import services as logistics
    from logistics.models import Carrier, CarrierService
    from orders import services as orders

    timings = {}
    began = time.perf_counter()
    products = data.build_catalogue(products=PRODUCTS, warehouses=1)
    # Bins in an order unrelated to the SKUs, so the list really has to sort them.
    for number, level in enumerate(StockLevel.objects.order_by("product__sku")):
        aisle, shelf = "ABCDEFGH"[(number * 5) % 8], 1 + (number * 37) % 40
        inventory.set_storage(
            stock_level_id=level.pk, bin_location=f"{aisle}-{shelf:02d}", reorder_point=0, actor=SYSTEM
        )
    carrier = Carrier.objects.create(
        code="sf", name="SF Express", tracking_url_template="https://www.sf-express.com/track?no={tracking_number}"
    )
    CarrierService.objects.create(
        carrier=carrier, code="standard", name="Standard", supports_cod=True, base_fee=8, fee_per_kg=2, transit_days=3
    )
    CarrierService.objects.create(
        carrier=carrier,
        code="express",
        name="Express",
        kind=CarrierService.Kind.EXPRESS,
        supports_cod=True,
        base_fee=15,
        fee_per_kg=3,
        transit_days=1,
    )
    timings["catalogue"] = round(time.perf_counter() - began, 1)

    began = time.perf_counter()
    channel = data.channel()
    placed = [
        orders.place_order(order_input, actor=SYSTEM).order
        for order_input in order_inputs(channel, products, 1, sum(SIZES.values()))
    ]
    held = [order.number for order in placed if order.status != "confirmed"]
    if held:
        raise SystemExit(f"{len(held)} orders were not confirmed (first: {held[0]}): the pick lists need them all")
    timings["orders"] = round(time.perf_counter() - began, 1)

    began = time.perf_counter()
    warehouse_id = StockLevel.objects.values_list("warehouse_id", flat=True).first()
    waves, start = {}, 0
    for size, count in SIZES.items():
        ids = [order.pk for order in placed[start : start + count]]
        waves[size] = logistics.create_pick_wave(warehouse_id, ids, actor=SYSTEM)
        start += count
    timings["pick_lists"] = round(time.perf_counter() - began, 1)
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

    from logistics import selectors

    waves, build_seconds = build()
    log(f"built in {build_seconds}")
    paths = {size: reverse("admin:logistics_pickwave_print", args=[wave.pk]) for size, wave in waves.items()}
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
        sheet = selectors.pick_sheet(waves[size].pk)
        ms = sorted(samples[size])
        figures[size] = {
            "path": path,
            "orders": len(sheet.orders),
            "sku_rows": len(sheet.rows),
            "units": sheet.total_quantity,
            "bytes": len(response.content),
            "queries": len(captured),
            "median_ms": round(data.median(ms), 1),
            "min_ms": round(ms[0], 1),
            "p90_ms": round(ms[int(len(ms) * 0.9) - 1], 1),
            "requests": len(ms),
            "sql": [query["sql"][:200] for query in captured.captured_queries],
        }
        print(
            f"{size:>6}: {figures[size]['orders']} orders, {figures[size]['sku_rows']} SKU rows, "
            f"{figures[size]['queries']} queries, median {figures[size]['median_ms']} ms"
        )
    aim_met = figures["large"]["queries"] == figures["small"]["queries"]
    print(
        f"queries {'do not grow' if aim_met else 'GROW'} with the orders; "
        f"render time ratio {figures['large']['median_ms'] / figures['small']['median_ms']:.2f}"
    )
    path = data.write_results(
        "pick_list",
        databases=[DATABASE],
        figures={
            "aim": "queries for 500 orders == queries for 50 orders",
            "aim_met": aim_met,
            "time_ratio": round(figures["large"]["median_ms"] / figures["small"]["median_ms"], 2),
            "sizes": figures,
            "build_seconds": build_seconds,
        },
        notes=(
            f"Medians of {args.rounds * args.requests_per_round} requests per pick list through django.test.Client "
            "logged in as a superuser, after 3 warm-up requests, the two lists asked in alternating rounds; the "
            "query count includes the session and user lookups of the console. Orders of 3 lines over "
            f"{PRODUCTS} products in one warehouse. The machine was shared with other work while measuring."
        ),
    )
    print(f"wrote {path}")
    if not args.keep_database:
        data.drop_database(DATABASE)


if __name__ == "__main__":
    main()
