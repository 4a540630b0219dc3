"""Inventory page: the console's ABC classes, turnover and dead stock page (/admin/planning/
inventorysnapshot/) for 10,000 products × 3 warehouses with 1,000,000 order lines, against the same
page for 100 products × 3 warehouses with 10,000 order lines (the same history per product: 100
lines each). Aim: at most 2x. The page reads the snapshot `classify_products` writes, so its cost
must not grow with the catalogue; the command's own time (the live computation the page would
otherwise do) is reported for each size too.

    .venv/bin/python bench/inventory_page.py          # writes bench/results/inventory_page.json

Each size lives in its own database: products, stock levels with their receipts, orders from
bench/data.py over the last year, their lines (a few products sell most, some not at all lately),
allocations from the three warehouses and shipment movements in the ledger, written with SQL as the
services would have left them. Each size is served by its own worker process, signed in as a
Manager; the parent asks the two in alternating rounds, so load from other work on the machine falls
on both alike, and reports medians. `--reuse` keeps databases from an earlier run; `--drop` removes
them afterwards."""

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402

SIZES = {
    "small": {"database": "oc_inventory_bench_100", "products": 100, "orders": 5_000, "customers": 1_000},
    "big": {"database": "oc_inventory_bench_10k", "products": 10_000, "orders": 500_000, "customers": 100_000},
}
AIM = 2.0
PAGE = "/admin/planning/inventorysnapshot/"
EXPORT = "/admin/planning/inventorysnapshot/export/"


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


def _step(label, sql, timings):
    from django.db import connection

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql)
    timings[label] = round(time.perf_counter() - began, 1)
    log(f"  {label}: {timings[label]} s")


def fill_catalogue(products, timings):
    """Products priced 9.90 to 99.90 at 40-60% cost, three warehouses, and a stock level of each
    product in each, received 200 days ago (some topped up within the period)."""
    from inventory.models import Warehouse

    for number in (1, 2, 3):
        Warehouse.objects.get_or_create(
            code=f"WH{number}", defaults={"name": f"Warehouse {number}", "priority": number}
        )
    _step(
        "products",
        f"""
        INSERT INTO inventory_product (sku, name, barcode, unit_price, cost, weight_kg, fragile, active, abc_class,
                                       created_at)
        SELECT 'INV-' || lpad(g::text, 5, '0'), 'Inventory bench product ' || g, '691' || lpad(g::text, 10, '0'),
               9.90 + (g % 10) * 10, round((9.90 + (g % 10) * 10) * (0.4 + (g % 5) * 0.05), 2), 0.4, false, true,
               '', now() - interval '400 days'
        FROM generate_series(1, {products}) AS g
        """,
        timings,
    )
    _step(
        "stock levels",
        """
        INSERT INTO inventory_stocklevel (product_id, warehouse_id, on_hand, reserved, quarantined, reorder_point,
                                          bin_location)
        SELECT p.id, w.id, 50 + (p.id * 7 + w.id * 13) % 400, 0, 0, 0, ''
        FROM inventory_product p CROSS JOIN inventory_warehouse w
        """,
        timings,
    )
    _step(
        "receipts",
        """
        INSERT INTO inventory_stockmovement (stock_level_id, kind, on_hand_change, reserved_change,
                                             quarantined_change, reference, reason, actor_id, created_at)
        SELECT s.id, 'receipt', s.on_hand, 0, 0, 'bench stock', '', NULL::integer, now() - interval '200 days'
        FROM inventory_stocklevel s
        UNION ALL
        SELECT s.id, 'receipt', 100, 0, 0, 'bench top-up', '', NULL::integer, now() - interval '1 day' * (s.id % 80)
        FROM inventory_stocklevel s WHERE s.id % 4 = 0
        """,
        timings,
    )
    _step("top-ups on hand", "UPDATE inventory_stocklevel SET on_hand = on_hand + 100 WHERE id % 4 = 0", timings)


def fill_sales(products, timings):
    """Two lines an order on average, each of a product drawn so that a fifth of the catalogue
    brings most of the revenue (and the last twentieth never sells: dead stock), allocated to one of
    the three warehouses: shipped for orders that left, reserved for open ones, released for
    cancelled ones; every shipment in the ledger."""
    _step(
        "order lines",
        f"""
        INSERT INTO orders_orderline (order_id, product_id, sku, name, quantity, unit_price, line_total, is_gift,
                                      bundle_sku, bundle_name)
        SELECT o.id, p.id, p.sku, p.name, q.quantity, p.unit_price, q.quantity * p.unit_price, false, '', ''
        FROM orders_order o
        CROSS JOIN LATERAL generate_series(1, 1 + o.id % 3) AS n
        CROSS JOIN LATERAL (
            SELECT 1 + floor({products} * 0.95 * power(random(), 3))::int AS number, 1 + (o.id + n) % 3 AS quantity
        ) AS q
        JOIN inventory_product p ON p.sku = 'INV-' || lpad(q.number::text, 5, '0')
        """,
        timings,
    )
    _step(
        "allocations",
        """
        INSERT INTO orders_allocation (line_id, stock_level_id, quantity, state, ship_later, created_at)
        SELECT l.id, s.id, l.quantity,
               CASE WHEN o.status = 'cancelled' THEN 'released'
                    WHEN o.shipped_at IS NOT NULL THEN 'shipped' ELSE 'reserved' END,
               false, o.placed_at
        FROM orders_orderline l
        JOIN orders_order o ON o.id = l.order_id
        JOIN inventory_warehouse w ON w.code = 'WH' || (1 + l.id % 3)
        JOIN inventory_stocklevel s ON s.product_id = l.product_id AND s.warehouse_id = w.id
        """,
        timings,
    )
    _step(
        "shipments in the ledger",
        """
        INSERT INTO inventory_stockmovement (stock_level_id, kind, on_hand_change, reserved_change,
                                             quarantined_change, reference, reason, actor_id, created_at)
        SELECT a.stock_level_id, 'shipment', -a.quantity, -a.quantity, 0, o.number, '', NULL::integer, o.shipped_at
        FROM orders_allocation a JOIN orders_orderline l ON l.id = a.line_id JOIN orders_order o ON o.id = l.order_id
        WHERE a.state = 'shipped'
        """,
        timings,
    )
    # What left the shelves was there before: on hand grows by what shipped, so it never goes
    # below zero, and what open orders hold is reserved.
    _step(
        "on hand and reserved",
        """
        UPDATE inventory_stocklevel s
        SET on_hand = s.on_hand + coalesce(moved.shipped, 0) + coalesce(moved.reserved, 0),
            reserved = coalesce(moved.reserved, 0)
        FROM (SELECT stock_level_id,
                     sum(quantity) FILTER (WHERE state = 'shipped') AS shipped,
                     sum(quantity) FILTER (WHERE state = 'reserved') AS reserved
              FROM orders_allocation GROUP BY stock_level_id) AS moved
        WHERE moved.stock_level_id = s.id
        """,
        timings,
    )
    _step(
        "receipts for what shipped",
        """
        INSERT INTO inventory_stockmovement (stock_level_id, kind, on_hand_change, reserved_change,
                                             quarantined_change, reference, reason, actor_id, created_at)
        SELECT s.id, 'receipt', m.shipped + m.reserved, 0, 0, 'bench stock', '', NULL::integer, now() - interval '400 days'
        FROM inventory_stocklevel s
        JOIN (SELECT stock_level_id, coalesce(sum(quantity) FILTER (WHERE state = 'shipped'), 0) AS shipped,
                     coalesce(sum(quantity) FILTER (WHERE state = 'reserved'), 0) AS reserved
              FROM orders_allocation GROUP BY stock_level_id) AS m ON m.stock_level_id = s.id
        """,
        timings,
    )
    _step("vacuum analyze", "VACUUM (ANALYZE)", timings)


def _counts():
    from django.db import connection

    with connection.cursor() as cursor:
        counts = {}
        for table in (
            "inventory_product",
            "inventory_stocklevel",
            "orders_order",
            "orders_orderline",
            "orders_allocation",
            "inventory_stockmovement",
            "planning_stockfigure",
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id "
            "WHERE o.placed_at >= now() - interval '90 days'"
        )
        counts["order_lines_last_90_days"] = cursor.fetchone()[0]
    return counts


def prepare(size, reuse):
    import psycopg

    spec = SIZES[size]
    name = spec["database"]
    if reuse:
        try:
            with psycopg.connect(f"{data.SERVER_URL}/{name}") as existing:
                products = existing.execute("SELECT count(*) FROM inventory_product").fetchone()[0]
                figures = existing.execute("SELECT count(*) FROM planning_stockfigure").fetchone()[0]
        except psycopg.Error:
            products = figures = None
        if products == spec["products"] and figures:
            log(f"{size}: reusing {name}")
            data.use_database(name, recreate=False)
            return {"reused": True}
    log(f"{size}: building {name}: {spec['products']} products, {spec['orders']} orders")
    began = time.perf_counter()
    data.use_database(name)
    timings = {}
    fill_catalogue(spec["products"], timings)
    timings.update(
        data.build_orders_sql(orders=spec["orders"], customers=spec["customers"], shipments=False, years=1, log=log)
    )
    fill_sales(spec["products"], timings)
    timings["with_migrate"] = round(time.perf_counter() - began, 1)
    return timings


def classify():
    """The live computation: every product's class and every stock figure, as the nightly command."""
    from core.actors import SYSTEM
    from planning import services

    began = time.perf_counter()
    services.recompute_classification(actor=SYSTEM)
    return round((time.perf_counter() - began) * 1000, 1)


def worker(size, reuse):
    warnings.filterwarnings("ignore", message="No directory at")
    timings = prepare(size, reuse)
    classify_ms = [classify() for _ in range(2)]

    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.order_list import query_report
    from inventory.models import Warehouse

    manager, _created = User.objects.get_or_create(username="bench_manager", defaults={"is_staff": True})
    manager.groups.add(Group.objects.get(name="Manager"))
    client = Client()
    client.force_login(manager)

    def get(path):
        response = client.get(path)
        return response, len(response.content)

    def reply(message):
        print(json.dumps(message, default=str), flush=True)

    warehouse = Warehouse.objects.get(code="WH2").pk
    paths = {"all_warehouses": PAGE, "one_warehouse": f"{PAGE}?warehouse={warehouse}"}
    export_began = time.perf_counter()
    export, export_bytes = get(EXPORT)
    export_ms = round((time.perf_counter() - export_began) * 1000, 1)
    reply(
        {
            "ready": True,
            "counts": _counts(),
            "build": timings,
            "classify_ms": classify_ms,
            "paths": paths,
            "export": {"status": export.status_code, "bytes": export_bytes, "ms": export_ms},
        }
    )

    for line in sys.stdin:
        command = json.loads(line)
        if command["do"] == "quit":
            break
        path = command["path"]
        if command["do"] == "check":
            response, size_bytes = get(path)
            reply(
                {
                    "status": response.status_code,
                    "bytes": size_bytes,
                    "has_figures": b'id="inventory-figures"' in response.content,
                }
            )
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

    workers = {size: Worker(size, args.reuse) for size in ("big", "small")}
    try:
        for size, w in workers.items():
            print(
                f"{size}: {w.ready['counts']}, classify_products {w.ready['classify_ms']} ms, "
                f"export {w.ready['export']}, build {w.ready['build']}"
            )
        names = list(workers["small"].ready["paths"])
        for name in names:
            for size, w in workers.items():
                answer = w.ask(do="check", path=w.ready["paths"][name])
                if answer["status"] != 200 or not answer["has_figures"]:
                    raise SystemExit(f"{name} answers {answer['status']} without the figures on {size}")
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

        figures = {}
        for name in names:
            row = {}
            for size in SIZES:
                w = workers[size]
                ms = sorted(samples[name][size])
                report = w.ask(do="queries", path=w.ready["paths"][name])
                row[size] = {
                    "products": w.ready["counts"]["inventory_product"],
                    "order_lines": w.ready["counts"]["orders_orderline"],
                    "median_ms": round(data.median(ms), 1),
                    "min_ms": round(ms[0], 1),
                    "p90_ms": round(ms[int(len(ms) * 0.9) - 1], 1),
                    "requests": len(ms),
                    "queries": report["count"],
                    "sql_ms": report["total_ms"],
                    "slowest_queries": report["slowest"],
                }
            row["ratio"] = round(row["big"]["median_ms"] / row["small"]["median_ms"], 2)
            row["aim_met"] = row["ratio"] <= AIM
            figures[name] = row
            print(
                f"{name:>16}: 100 products {row['small']['median_ms']:7.1f} ms ({row['small']['queries']} queries, "
                f"SQL {row['small']['sql_ms']} ms)  10,000 products {row['big']['median_ms']:7.1f} ms "
                f"({row['big']['queries']} queries, SQL {row['big']['sql_ms']} ms)  ratio {row['ratio']:.2f} "
                f"{'ok' if row['aim_met'] else 'OVER THE AIM'}"
            )
        figures["classify_products_ms"] = {size: w.ready["classify_ms"] for size, w in workers.items()}
        figures["export"] = {size: w.ready["export"] for size, w in workers.items()}
        figures["data"] = {size: w.ready["counts"] for size, w in workers.items()}
        figures["build_seconds"] = {size: w.ready["build"] for size, w in workers.items()}
        path = data.write_results(
            "inventory_page",
            databases=[spec["database"] for spec in SIZES.values()],
            figures=figures,
            notes=(
                "Page GET as a Manager through Django's test client, DEBUG off; sizes asked in alternating "
                f"rounds ({args.rounds} rounds of {args.requests_per_round} requests per page and size). "
                "classify_products_ms: two runs of the computation that writes the snapshot (the page's live "
                "alternative). Other engineers' work shared the 2-core machine during the run."
            ),
        )
        print(f"wrote {path}")
    finally:
        for w in workers.values():
            w.close()
        if args.drop:
            for spec in SIZES.values():
                data.drop_database(spec["database"])


if __name__ == "__main__":
    main()
