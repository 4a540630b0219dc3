"""Interception and parcels that come back: what each step costs a parcel of 1 line and one of 3
lines (asking the carrier, recording its answer, receiving the parcel back into stock and closing
its order), and the warehouse's "Parcels coming back" page with 20 and with 200 parcels on it.
Aim: the queries of each step do not grow with the parcel's lines beyond the ledger's own, and the
page's queries do not grow with the parcels.

    .venv/bin/python bench/interception.py       # writes bench/results/interception.json

Orders are placed through `orders.services.place_order`, picked, packed and dispatched through
the logistics services. The step timings alternate a 1-line and a 3-line parcel in every round, so
load from other work on the machine falls on both alike; medians are reported."""

import argparse
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402

DATABASE = "oc_intercept_bench"
PRODUCTS = 60
PAGE_SIZES = (20, 200)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="parcels of each size taken through every step")
    parser.add_argument("--page-requests", type=int, default=15)
    parser.add_argument("--keep-database", action="store_true", help="leave the database for inspection")
    return parser.parse_args()


def log(message):
    print(message, file=sys.stderr, flush=True)


def build(parcels_per_size, page_parcels):
    """Shipped parcels: `parcels_per_size` of 1 line and of 3 lines for the steps, and
    `page_parcels` more of 1 line for the page. Returns ({lines: [shipment]}, [shipment], seconds)."""
    from core.actors import SYSTEM
    from inventory.models import StockLevel
    from logistics import services as logistics
    from logistics.models import Carrier, InterceptionSettings, Shipment
    from orders.services import LineInput, OrderInput, place_order

    began = time.perf_counter()
    products = data.build_catalogue(products=PRODUCTS, warehouses=1)
    carrier = Carrier.objects.create(code="zto", name="ZTO Express")
    InterceptionSettings.current()
    channel = data.channel()
    warehouse_id = StockLevel.objects.values_list("warehouse_id", flat=True).first()
    number = 0

    def shipped(line_count):
        nonlocal number
        number += 1
        chosen = [products[(number * step) % len(products)] for step in (1, 7, 13)[:line_count]]
        total = sum((p.unit_price for p in chosen), Decimal("0"))
        province, city, districts, postcode = data.PLACES[number % len(data.PLACES)]
        order = place_order(
            OrderInput(
                channel=channel,
                channel_order_id=f"BENCH-{number}",
                recipient=f"客户{number}",
                phone=f"139 {number // 10000:04d} {number % 10000:04d}",
                province=province,
                city=city,
                district=districts[number % len(districts)],
                address=f"{data.STREETS[number % len(data.STREETS)]} {number} 号",
                postcode=postcode,
                payment_method="e_wallet",
                paid_amount=total,
                lines=[LineInput(sku=p.sku, quantity=1) for p in chosen],
            ),
            actor=SYSTEM,
        ).order
        if order.status != "confirmed":
            raise SystemExit(f"order {order.number} was not confirmed ({order.status})")
        logistics.create_pick_wave(warehouse_id, [order.pk], actor=SYSTEM)
        parcel = order.shipments.get(status=Shipment.Status.PENDING)
        for product in chosen:
            logistics.pack_item(parcel.pk, product.sku, actor=SYSTEM)
        logistics.finish_packing(parcel.pk, weight_kg="1", package_count=1, actor=SYSTEM)
        return logistics.dispatch(parcel.pk, carrier_id=carrier.pk, tracking_number=f"7{number:013d}", actor=SYSTEM)

    steps = {lines: [shipped(lines) for _index in range(parcels_per_size)] for lines in (1, 3)}
    page = [shipped(1) for _index in range(page_parcels)]
    return steps, page, round(time.perf_counter() - began, 1)


def main():
    args = parse_args()
    log(f"building {DATABASE}")
    data.use_database(DATABASE)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from core.actors import SYSTEM
    from logistics import services as logistics
    from logistics.models import Interception, TrackingEvent

    steps, page_parcels, build_seconds = build(args.rounds, max(PAGE_SIZES))
    log(f"built in {build_seconds} s")
    manager = data.superuser()

    def measured(call):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            result = call()
            ms = (time.perf_counter() - began) * 1000
        return result, ms, len(captured)

    samples = {(lines, step): [] for lines in steps for step in ("request", "answer", "receive_back")}
    queries = {}
    for index in range(args.rounds):
        for lines, parcels in steps.items():
            parcel = parcels[index]
            interception, ms, count = measured(
                lambda parcel=parcel: logistics.request_interception(
                    parcel.pk, reason=Interception.Reason.CANCELLED, actor=manager
                )
            )
            samples[(lines, "request")].append(ms)
            queries[(lines, "request")] = count
            _answer, ms, count = measured(
                lambda interception=interception: logistics.record_interception_outcome(
                    interception.pk, intercepted=True, fee="12.00", actor=manager
                )
            )
            samples[(lines, "answer")].append(ms)
            queries[(lines, "answer")] = count
            counts = {line.pk: (1, 0) for line in parcel.lines.all()}
            _received, ms, count = measured(
                lambda parcel=parcel, counts=counts: logistics.receive_parcel_back(
                    parcel.pk, counts=counts, actor=manager
                )
            )
            samples[(lines, "receive_back")].append(ms)
            queries[(lines, "receive_back")] = count
        log(f"round {index + 1}/{args.rounds} done")

    client = Client()
    client.force_login(manager)
    path = reverse("admin:logistics_shipment_coming_back")
    page_figures, returned = {}, 0
    for size in PAGE_SIZES:
        while returned < size:
            logistics.record_tracking_event(
                page_parcels[returned].pk,
                status=TrackingEvent.Status.RETURNED,
                occurred_at=timezone.now(),
                source=TrackingEvent.Source.WEBHOOK,
                actor=SYSTEM,
            )
            returned += 1
        for _warm_up in range(3):
            client.get(path)
        ms = []
        for _request in range(args.page_requests):
            began = time.perf_counter()
            response = client.get(path)
            ms.append((time.perf_counter() - began) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}")
        with CaptureQueriesContext(connection) as captured:
            client.get(path)
        ms.sort()
        page_figures[size] = {
            "parcels_coming_back": size,
            "queries": len(captured),
            "median_ms": round(data.median(ms), 1),
            "p90_ms": round(ms[int(len(ms) * 0.9) - 1], 1),
            "requests": len(ms),
        }
        print(f"coming back page, {size} parcels: {len(captured)} queries, median {page_figures[size]['median_ms']} ms")

    step_figures = {}
    for (lines, step), ms in samples.items():
        ms = sorted(ms)
        step_figures.setdefault(step, {})[f"{lines}_line"] = {
            "queries": queries[(lines, step)],
            "median_ms": round(data.median(ms), 1),
            "p90_ms": round(ms[int(len(ms) * 0.9) - 1], 1),
            "parcels": len(ms),
        }
        print(f"{step:>12}, {lines} line(s): {queries[(lines, step)]} queries, median {round(data.median(ms), 1)} ms")
    page_aim = page_figures[PAGE_SIZES[0]]["queries"] == page_figures[PAGE_SIZES[1]]["queries"]
    path = data.write_results(
        "interception",
        databases=[DATABASE],
        figures={
            "aim": "the coming-back page's queries do not grow from 20 to 200 parcels",
            "aim_met": page_aim,
            "steps": step_figures,
            "coming_back_page": page_figures,
            "build_seconds": build_seconds,
        },
        notes=(
            f"Each step timed on {args.rounds} parcels of 1 line and {args.rounds} of 3 lines (1 unit each), a "
            "1-line and a 3-line parcel alternating in every round, called directly in one connection with "
            "autocommit; the query count is the last parcel's. The page is asked through django.test.Client "
            "as a superuser, after 3 warm-up requests, first with 20 parcels coming back and then with 200 (the "
            "page lists at most 200), so its two sizes are measured one after the other, not alternated. "
            "The machine (2 cores) was shared with other work while measuring."
        ),
    )
    print(f"wrote {path}")
    if not args.keep_database:
        data.drop_database(DATABASE)


if __name__ == "__main__":
    main()
