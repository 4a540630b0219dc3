"""Packing station scans over HTTP: the round trip of one item scan (POST to the pack page's JSON
answer, /admin/logistics/shipment/pack/<id>/scan/, as scan_station.js sends it) with 4 stations
scanning at once, against 1 station alone. Each station is its own packer, signed in with its own
session, scanning one unit at a time into its own parcel (one line of many identical units), and
sends its next scan when the answer to the last has come, as the page does. No aim is set: with
more stations than cores the scans queue for the cores, and the figures say by how much.

    .venv/bin/python bench/scan_station.py       # writes bench/results/scan_station.json

The server is gunicorn with 4 sync workers on PostgreSQL (database oc_scan_bench, rebuilt each run),
DEBUG off. The two configurations run in alternating rounds (1 station, then 4, then 1 ...), so load
from other work on the machine falls on both alike; the figures are the medians and 95th
percentiles of every scan's round trip, measured by the client."""

import argparse
import http.client
import os
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402
from bench.api_intake import HOST  # noqa: E402

DATABASE = "oc_scan_bench"
STATIONS = 4
WORKERS = 4


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--scans", type=int, default=40, help="scans per station in a round")
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--keep-database", action="store_true", help="leave the database for inspection")
    return parser.parse_args()


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


class Station:
    """One packer at one station: a signed-in session (its cookie made through the test client's
    force_login, stored in the database the server reads), a CSRF token, and a parcel to fill."""

    def __init__(self, user, shipment_id, sku, path):
        from django.conf import settings
        from django.test import Client
        from django.utils.crypto import get_random_string

        client = Client()
        client.force_login(user)
        self.session = client.cookies[settings.SESSION_COOKIE_NAME].value
        # A CSRF secret as Django makes them: 32 letters and digits, sent as cookie and header.
        self.csrf = get_random_string(32)
        self.csrf_cookie = settings.CSRF_COOKIE_NAME
        self.session_cookie = settings.SESSION_COOKIE_NAME
        self.shipment_id, self.sku, self.path = shipment_id, sku, path

    def scan(self, port):
        """One scan; returns its round trip in milliseconds."""
        body = urlencode({"code": self.sku})
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "X-CSRFToken": self.csrf,
            "Cookie": f"{self.session_cookie}={self.session}; {self.csrf_cookie}={self.csrf}",
        }
        began = time.perf_counter()
        connection = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            connection.request("POST", self.path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
        finally:
            connection.close()
        elapsed = (time.perf_counter() - began) * 1000
        if response.status != 200 or b'"accepted": true' not in answer:
            raise RuntimeError(f"scan answered {response.status}: {answer[:300]!r}")
        return elapsed


def run(stations, port, scans):
    """Every station scans `scans` units, all at once; returns every round trip."""
    times, failures = [], []
    lock = threading.Lock()

    def work(station):
        try:
            mine = [station.scan(port) for _ in range(scans)]
        except Exception as error:  # noqa: BLE001 - reported after the threads end
            failures.append(error)
            return
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=work, args=(station,)) for station in stations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return times


def build(units):
    """One warehouse, one product, and per station a packer and a picked parcel of `units` units."""
    from django.contrib.auth.models import Group, User
    from django.urls import reverse

    from core.actors import SYSTEM
    from inventory.models import Warehouse
    from logistics import services as logistics
    from orders import services as orders
    from orders.models import Order

    (product,) = data.build_catalogue(products=1, warehouses=1)
    warehouse = Warehouse.objects.get(code="WH1")
    channel = data.channel()
    boss = data.superuser()
    operators = Group.objects.get(name="Warehouse operator")
    stations = []
    for number in range(1, STATIONS + 1):
        user, _created = User.objects.get_or_create(username=f"packer{number}", defaults={"is_staff": True})
        user.groups.add(operators)
        placed = orders.place_order(
            orders.OrderInput(
                channel=channel,
                channel_order_id=f"SCAN-BENCH-{number}",
                recipient=f"客户{number}",
                phone=f"139 0000 {number:04d}",
                province="上海市",
                city="上海市",
                district="静安区",
                address=f"南京西路 {number} 号",
                postcode="200040",
                lines=[orders.LineInput(sku=product.sku, quantity=units)],
                payment_method="e_wallet",
                paid_amount=product.unit_price * units,
            ),
            actor=SYSTEM,
        ).order
        if placed.status == Order.Status.ON_HOLD:
            # A parcel this big is a high-value order: a reviewer lets it through.
            orders.approve(placed.pk, actor=boss)
        logistics.create_pick_wave(warehouse.pk, [placed.pk], actor=boss)
        shipment = placed.shipments.get()
        path = reverse("admin:logistics_shipment_pack_scan", args=[shipment.pk])
        stations.append(Station(user, shipment.pk, product.sku, path))
    return stations


def main():
    args = parse_args()
    print(f"database {args.database}: create and migrate")
    data.use_database(args.database)

    from django.conf import settings
    from django.db import connections

    from bench.api_intake import Server

    # Station 1 scans in both configurations; a unit is left over so no parcel completes.
    units = 2 * (args.rounds + 1) * args.scans + 1
    stations = build(units)
    connections.close_all()

    # The sessions were signed in here: the server must check them with the same key.
    server = Server(args.database, workers=WORKERS, SECRET_KEY=settings.SECRET_KEY)
    try:
        server_ready(server, stations[0])
        print(f"gunicorn: {WORKERS} workers on port {server.port}; {os.cpu_count()} cores")
        # Warm-up: each worker has its connection, imports and plans.
        run(stations, server.port, 5)
        alone, together, per_round = [], [], []
        for number in range(1, args.rounds + 1):
            one = run(stations[:1], server.port, args.scans)
            four = run(stations, server.port, args.scans)
            alone += one
            together += four
            per_round.append((data.median(one), data.median(four)))
            print(f"round {number}: 1 station {per_round[-1][0]:.1f} ms, {STATIONS} stations {per_round[-1][1]:.1f} ms")
    finally:
        server.stop()

    figures = {
        "one_station": {
            "median_ms": round(data.median(alone), 1),
            "p95_ms": round(percentile(alone, 0.95), 1),
            "scans": len(alone),
        },
        f"{STATIONS}_stations": {
            "median_ms": round(data.median(together), 1),
            "p95_ms": round(percentile(together, 0.95), 1),
            "scans": len(together),
        },
    }
    ratio = figures[f"{STATIONS}_stations"]["median_ms"] / figures["one_station"]["median_ms"]
    figures.update(
        {
            "median_ratio": round(ratio, 2),
            "rounds": args.rounds,
            "scans_per_station_per_round": args.scans,
            "medians_per_round_ms": [[round(one, 1), round(four, 1)] for one, four in per_round],
            "gunicorn_workers": WORKERS,
        }
    )
    print(
        f"1 station: median {figures['one_station']['median_ms']} ms, p95 {figures['one_station']['p95_ms']} ms; "
        f"{STATIONS} stations: median {figures[f'{STATIONS}_stations']['median_ms']} ms, "
        f"p95 {figures[f'{STATIONS}_stations']['p95_ms']} ms; ratio {ratio:.2f}"
    )
    path = data.write_results(
        "scan_station",
        databases=[args.database],
        figures=figures,
        notes=(
            "Each scan is one POST of an item code to the pack page's JSON answer (the packer's session and "
            "CSRF token, the pack permission, scan_item under the parcel's row lock, the parcel's lines read "
            "back), timed by the client through gunicorn on the same machine as PostgreSQL and the client "
            "threads. Stations scan different parcels, so they wait on no one's lock but share the workers, "
            "the cores and the database."
        ),
    )
    print(f"wrote {path}")
    if not args.keep_database:
        data.drop_database(args.database)


def server_ready(server, station, timeout=60):
    """The server answers: a scan without a session is sent to the sign-in page, rendering nothing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.process.returncode}")
        try:
            connection = http.client.HTTPConnection(HOST, server.port, timeout=5)
            connection.request("GET", station.path)
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer in time")


if __name__ == "__main__":
    main()
