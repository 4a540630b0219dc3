"""Dashboard: the manager's front page (/admin/) for the last 30 days with 1,000,000 orders against the
same page with 10,000 orders, unfiltered and filtered to one channel and one warehouse. Aim: at most
1.5x; the dashboard reads daily rollups, so its cost must not grow with the order table.

    .venv/bin/python bench/dashboard.py          # writes bench/results/dashboard.json

Each size lives in its own database: orders and customers from bench/data.py, then their lines,
events, payments and parcels written here with SQL as the services would have left them, then
`rebuild_rollups` computes the rollups from those records (its time is reported too). Each size is
served by its own worker process; the parent asks the two in alternating rounds, so load from other
work on the machine falls on both alike, and reports medians. `--reuse` keeps databases from an
earlier run when they hold the right number of orders; `--drop` removes them afterwards."""

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402

SIZES = {
    "small": {"database": "oc_dash_bench_10k", "orders": 10_000, "customers": 2_000},
    "big": {"database": "oc_dash_bench_1m", "orders": 1_000_000, "customers": 200_000},
}
STAFF = 12
AIM = 1.5


def views(channel_id, warehouse_id):
    return {
        "30_days": "/admin/?" + urlencode({"range": "30d"}),
        "30_days_channel_warehouse": "/admin/?" + urlencode(
            {"range": "30d", "channel": channel_id, "warehouse": warehouse_id}),
    }


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests-per-round", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="keep databases that already hold the data")
    parser.add_argument("--drop", action="store_true", help="drop both databases at the end")
    parser.add_argument("--worker", choices=SIZES, help=argparse.SUPPRESS)
    return parser.parse_args()


def log(message):
    print(message, file=sys.stderr, flush=True)


# --- the rest of each order's story, in SQL -------------------------------------------------------

def _step(label, sql, params, timings):
    from django.db import connection

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    timings[label] = round(time.perf_counter() - began, 1)
    log(f"  {label}: {timings[label]} s")


def fill_order_stories(timings):
    """Lines (1 to 3 catalogue products), the event log each order's status and stage times imply (a
    tenth of the orders held and approved first), a payment for what each has paid, and a parcel
    from one of three warehouses for each order that left, packed and dispatched by bench staff,
    promised for two to four days after dispatch (some a day only, so some arrive late)."""
    from django.contrib.auth.models import User

    from inventory.models import Product, Warehouse

    people = [User.objects.get_or_create(username=f"bench_staff_{n}", defaults={"is_staff": True,
                                                                                "first_name": f"员工{n}"})[0].pk
              for n in range(1, STAFF + 1)]
    staff_sql = f"(ARRAY{people})"
    products = list(Product.objects.filter(sku__startswith="BENCH-").order_by("pk").values_list("pk", flat=True))
    houses = list(Warehouse.objects.filter(code__in=["WH1", "WH2", "WH3"]).order_by("code").values_list("pk", flat=True))

    _step("order lines", f"""
        INSERT INTO orders_orderline (order_id, product_id, sku, name, quantity, unit_price, line_total)
        SELECT o.id, p.id, p.sku, p.name, q.quantity, p.unit_price, q.quantity * p.unit_price
        FROM orders_order o
        CROSS JOIN LATERAL generate_series(1, 1 + o.id % 3) AS n
        CROSS JOIN LATERAL (SELECT (ARRAY{products})[1 + (o.id * 7 + n * 13) % {len(products)}] AS product_id,
                                   1 + (o.id + n) % 3 AS quantity) AS q
        JOIN inventory_product p ON p.id = q.product_id
    """, None, timings)

    held_first = "(o.id % 10 = 0 AND o.confirmed_at IS NOT NULL)"
    _step("order events", f"""
        INSERT INTO orders_orderevent (order_id, from_status, to_status, transition, actor_id, reason, created_at)
        SELECT o.id, 'pending', 'on_hold', 'hold', NULL, '', o.placed_at
        FROM orders_order o WHERE o.status = 'on_hold' OR {held_first}
        UNION ALL
        SELECT o.id, 'on_hold', 'confirmed', 'approve', {staff_sql}[1 + o.id % 2], '', o.confirmed_at
        FROM orders_order o WHERE {held_first}
        UNION ALL
        SELECT o.id, 'pending', 'confirmed', 'confirm', NULL, '', coalesce(o.confirmed_at, o.placed_at)
        FROM orders_order o
        WHERE (o.confirmed_at IS NOT NULL AND NOT {held_first}) OR o.status = 'cancelled'
        UNION ALL
        SELECT o.id, 'confirmed', 'cancelled', 'cancel', {staff_sql}[3], 'customer asked', o.cancelled_at
        FROM orders_order o WHERE o.status = 'cancelled'
        UNION ALL
        SELECT o.id, 'confirmed', 'picking', 'start_picking', {staff_sql}[4 + o.id % 3], '', o.picking_at
        FROM orders_order o WHERE o.picking_at IS NOT NULL
        UNION ALL
        SELECT o.id, 'picking', 'packed', 'mark_packed', {staff_sql}[4 + o.id % 3], '', o.packed_at
        FROM orders_order o WHERE o.packed_at IS NOT NULL
        UNION ALL
        SELECT o.id, 'packed', CASE WHEN o.status = 'partially_shipped' THEN 'partially_shipped' ELSE 'shipped' END,
               'ship', {staff_sql}[7 + o.id % 3], '', o.shipped_at
        FROM orders_order o WHERE o.shipped_at IS NOT NULL
        UNION ALL
        SELECT o.id, 'shipped', 'delivered', 'deliver', NULL, '', o.delivered_at
        FROM orders_order o WHERE o.delivered_at IS NOT NULL
        UNION ALL
        SELECT o.id, 'delivered', 'completed', 'complete', {staff_sql}[10], '', o.completed_at
        FROM orders_order o WHERE o.completed_at IS NOT NULL
    """, None, timings)

    _step("payments", """
        INSERT INTO orders_payment (order_id, method, amount, reference, status, created_at, recorded_by_id)
        SELECT o.id, o.payment_method, o.amount_paid, '', 'captured',
               coalesce(CASE WHEN o.payment_method = 'cod' THEN o.delivered_at END, o.placed_at), NULL
        FROM orders_order o WHERE o.amount_paid > 0
    """, None, timings)

    carrier = _bench_carrier()
    _step("shipments", f"""
        INSERT INTO logistics_shipment (order_id, warehouse_id, carrier_id, tracking_number, status, exception_kind,
                                        service_reason, created_at, packed_at, packed_by_id, shipped_at,
                                        dispatched_by_id, expected_delivery_on, delivered_at)
        SELECT o.id, (ARRAY{houses})[1 + o.id % {len(houses)}], {carrier}, 'TN' || lpad(o.id::text, 12, '0'),
               CASE WHEN o.delivered_at IS NULL THEN 'shipped' ELSE 'delivered' END, '', 'cheapest',
               coalesce(o.picking_at, o.shipped_at), coalesce(o.packed_at, o.shipped_at),
               {staff_sql}[4 + o.id % 3], o.shipped_at, {staff_sql}[7 + o.id % 3],
               (o.shipped_at AT TIME ZONE 'Asia/Shanghai')::date + (CASE WHEN o.id % 7 = 0 THEN 1 ELSE 2 + o.id % 3 END)::int,
               o.delivered_at
        FROM orders_order o WHERE o.shipped_at IS NOT NULL
    """, None, timings)
    _step("vacuum analyze", "VACUUM (ANALYZE)", None, timings)


def _bench_carrier():
    from logistics.models import Carrier

    return Carrier.objects.get_or_create(code="sf", defaults={"name": "SF Express"})[0].pk


# --- worker: one database, one logged-in test client ----------------------------------------------

def prepare(size, reuse):
    """Build (or reuse) this size's database with its rollups; returns the build timings."""
    import psycopg

    spec = SIZES[size]
    name = spec["database"]
    if reuse:
        try:
            with psycopg.connect(f"{data.SERVER_URL}/{name}") as existing:
                count = existing.execute("SELECT count(*) FROM orders_order").fetchone()[0]
                rolled = existing.execute("SELECT count(*) FROM analytics_dailyorders").fetchone()[0]
        except psycopg.Error:
            count = rolled = None
        if count == spec["orders"] and rolled:
            log(f"{size}: reusing {name} with {count} orders")
            data.use_database(name, recreate=False)
            return {"reused": True}
    log(f"{size}: building {name}: {spec['orders']} orders, {spec['customers']} customers")
    began = time.perf_counter()
    data.use_database(name)
    data.build_catalogue(stock_per_level=1_000)
    timings = data.build_orders_sql(orders=spec["orders"], customers=spec["customers"], shipments=False, log=log)
    fill_order_stories(timings)

    from django.core.management import call_command

    rebuild_began = time.perf_counter()
    call_command("rebuild_rollups", stdout=sys.stderr)
    timings["rebuild_rollups"] = round(time.perf_counter() - rebuild_began, 1)
    timings["with_migrate"] = round(time.perf_counter() - began, 1)
    return timings


def worker(size, reuse):
    # WhiteNoise warns that collectstatic has not run; the page's static files are not fetched here.
    warnings.filterwarnings("ignore", message="No directory at")
    timings = prepare(size, reuse)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.order_list import query_report
    from inventory.models import Warehouse
    from orders.models import Channel

    client = Client()
    client.force_login(data.superuser())

    def get(path):
        response = client.get(path)
        return response, len(response.content)

    def reply(message):
        print(json.dumps(message, default=str), flush=True)

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM orders_order")
        orders = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM orders_order WHERE placed_at >= now() - interval '30 days'")
        recent = cursor.fetchone()[0]
        rollup_rows = {}
        for table in ("dailyorders", "dailyprovinceorders", "dailyproductsales", "dailystagetime",
                      "dailyshipments", "dailyhandling"):
            cursor.execute(f"SELECT count(*) FROM analytics_{table}")
            rollup_rows[table] = cursor.fetchone()[0]
    paths = views(Channel.objects.get(code="web").pk, Warehouse.objects.get(code="WH2").pk)
    reply({"ready": True, "orders": orders, "orders_last_30_days": recent, "rollup_rows": rollup_rows,
           "build": timings, "paths": paths})

    for line in sys.stdin:
        command = json.loads(line)
        if command["do"] == "quit":
            break
        path = command["path"]
        if command["do"] == "check":
            response, size_bytes = get(path)
            reply({"status": response.status_code, "bytes": size_bytes,
                   "has_figures": b'id="dash-figures"' in response.content})
        elif command["do"] == "time":
            seconds, statuses = [], set()
            for _ in range(command["repeat"]):
                began = time.perf_counter()
                response, _size = get(path)
                seconds.append(time.perf_counter() - began)
                statuses.add(response.status_code)
            reply({"ms": [s * 1000 for s in seconds], "statuses": sorted(statuses)})
        elif command["do"] == "queries":
            reply(query_report(connection, get, path, CaptureQueriesContext))


# --- parent: two workers, alternating rounds ------------------------------------------------------

class Worker:
    def __init__(self, size, reuse):
        command = [sys.executable, __file__, "--worker", size] + (["--reuse"] if reuse else [])
        self.size = size
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ready = self.read()

    def read(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.size} worker stopped; see its messages above")
        return json.loads(line)

    def ask(self, **command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self.read()

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.write(json.dumps({"do": "quit"}) + "\n")
            self.process.stdin.flush()
        self.process.wait(timeout=60)


def main():
    args = parse_args()
    if args.worker:
        worker(args.worker, args.reuse)
        return

    # The big database takes the longest to build: start it first, the small one meanwhile.
    workers = {size: Worker(size, args.reuse) for size in ("big", "small")}
    try:
        for size, w in workers.items():
            print(f"{size}: {w.ready['orders']} orders ({w.ready['orders_last_30_days']} in the last 30 days), "
                  f"rollup rows {w.ready['rollup_rows']}, build {w.ready['build']}")
        names = list(workers["small"].ready["paths"])
        for name in names:
            for size, w in workers.items():
                answer = w.ask(do="check", path=w.ready["paths"][name])
                if answer["status"] != 200 or not answer["has_figures"]:
                    raise SystemExit(f"{name} answers {answer['status']} without the dashboard on {size}")
        for name in names:
            for w in workers.values():
                w.ask(do="time", path=w.ready["paths"][name], repeat=3)

        samples = {name: {size: [] for size in SIZES} for name in names}
        for number in range(1, args.rounds + 1):
            for name in names:
                for size, w in workers.items():
                    answer = w.ask(do="time", path=w.ready["paths"][name], repeat=args.requests_per_round)
                    if answer["statuses"] != [200]:
                        raise SystemExit(f"{name} answered {answer['statuses']} on {size}")
                    samples[name][size] += answer["ms"]
            print(f"round {number}/{args.rounds} done")

        figures, queries = {}, {}
        for name in names:
            row = {}
            for size in SIZES:
                w = workers[size]
                ms = sorted(samples[name][size])
                report = w.ask(do="queries", path=w.ready["paths"][name])
                queries.setdefault(name, {})[size] = report
                row[size] = {
                    "orders": w.ready["orders"], "orders_last_30_days": w.ready["orders_last_30_days"],
                    "median_ms": round(data.median(ms), 1), "min_ms": round(ms[0], 1),
                    "p90_ms": round(ms[int(len(ms) * 0.9) - 1], 1), "requests": len(ms),
                    "queries": report["count"], "sql_ms": report["total_ms"],
                }
            row["ratio"] = round(row["big"]["median_ms"] / row["small"]["median_ms"], 2)
            row["aim_met"] = row["ratio"] <= AIM
            figures[name] = row
            print(f"{name:>26}: 10k {row['small']['median_ms']:7.1f} ms ({row['small']['queries']} queries, "
                  f"SQL {row['small']['sql_ms']} ms)  1M {row['big']['median_ms']:7.1f} ms "
                  f"({row['big']['queries']} queries, SQL {row['big']['sql_ms']} ms)  ratio {row['ratio']:.2f} "
                  f"{'ok' if row['aim_met'] else 'OVER THE AIM'}")
    finally:
        for w in workers.values():
            w.close()

    path = data.write_results("dashboard", databases=[spec["database"] for spec in SIZES.values()], figures={
        "aim": f"1M / 10k median <= {AIM}",
        "aim_met": all(row["aim_met"] for row in figures.values()),
        "views": figures,
        "rollup_rows": {size: w.ready["rollup_rows"] for size, w in workers.items()},
        "build_seconds": {size: w.ready["build"] for size, w in workers.items()},
        "queries": queries,
    }, notes=(
        "Medians of 20 requests per view and size through django.test.Client logged in as a superuser, "
        "after 3 warm-up requests; the two sizes are asked in alternating rounds. Orders spread over two "
        "years (bench/data.py), so the 30 days hold about 1.5 % of them. build_seconds.rebuild_rollups is "
        "`manage.py rebuild_rollups` recomputing every rollup from the records. The machine was shared with "
        "other work while measuring."
    ))
    print(f"wrote {path}")
    if args.drop:
        for spec in SIZES.values():
            data.drop_database(spec["database"])


if __name__ == "__main__":
    main()
