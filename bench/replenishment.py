"""Replenishment: a whole planning run (`planning.services.plan_replenishment`: the demand snapshot,
every suggestion and run-out warning computed and stored) for 10,000 products in 3 warehouses with
1,000,000 order lines over 90 days, against one SQL aggregation of the same sales (units per product
and warehouse over 90 days, `planning.selectors.units_sold`). Aim: at most 2×.

    .venv/bin/python bench/replenishment.py      # writes bench/results/replenishment.json

The shop is built with SQL (bench/data.py's orders over the last 90 days, then their lines and
allocations: most lines allocated in one of the three warehouses, shipped, reserved or released with
a cancelled order, the held ones with nothing allocated), with a supplier for every product. The two
sides then run in alternating rounds, so load from other work on the machine falls on both alike,
and medians are reported."""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402

DATABASE = "oc_replenishment_bench"
PRODUCTS = 10_000
WAREHOUSES = 3
LINES = 1_000_000
LINES_PER_ORDER = 3
SUPPLIERS = 40
DAYS = 90


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--lines", type=int, default=LINES, help="order lines (for a quick try)")
    parser.add_argument("--keep-database", action="store_true", help="leave the database for inspection")
    parser.add_argument("--reuse-database", action="store_true", help="measure a database kept by an earlier run")
    return parser.parse_args()


def log(message):
    print(message, file=sys.stderr, flush=True)


def build(lines):
    """Products, warehouses, stock, suppliers, orders with their lines and allocations; returns
    seconds per step."""
    from django.db import connection

    from inventory.models import Warehouse

    timings = {}

    def step(label, sql, params=None):
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        timings[label] = round(time.perf_counter() - began, 1)
        log(f"  {label}: {timings[label]} s")

    houses = [
        Warehouse.objects.get_or_create(code=f"WH{n}", defaults={"name": f"Warehouse {n}", "priority": n})[0].pk
        for n in range(1, WAREHOUSES + 1)
    ]
    step(
        "products",
        """
        INSERT INTO inventory_product (sku, name, barcode, unit_price, cost, weight_kg, fragile, active,
                                       abc_class, created_at)
        SELECT 'P-' || lpad(g::text, 5, '0'), 'Product ' || g, NULL, 10 + mod(g, 90), 5, 0.4, false, true, '', now()
        FROM generate_series(1, %s) AS g
        """,
        [PRODUCTS],
    )
    # Stock that lasts a few days to a few months at each product's rate, so some need buying.
    step(
        "stock levels",
        f"""
        INSERT INTO inventory_stocklevel (product_id, warehouse_id, on_hand, reserved, quarantined,
                                          reorder_point, bin_location)
        SELECT p.id, w.id, mod(p.id * 7919 + w.id * 104729, 400), 0, 0, 0, ''
        FROM inventory_product p CROSS JOIN unnest(ARRAY{houses}) AS w(id)
        """,
    )
    step(
        "suppliers",
        """
        INSERT INTO inventory_supplier (code, name, contact_name, phone, email, currency, lead_time_days,
                                        minimum_order_value, payment_terms, active)
        SELECT 'S' || g, 'Supplier ' || g, '', '', '', 'CNY', 3 + mod(g, 20), 500, '', true
        FROM generate_series(1, %s) AS g
        """,
        [SUPPLIERS],
    )
    step(
        "supplier products",
        """
        INSERT INTO inventory_supplierproduct (supplier_id, product_id, supplier_sku, unit_cost, pack_size,
                                               minimum_quantity, preferred)
        SELECT s.id, p.id, 'X' || p.id, 5, (ARRAY[1, 6, 12, 24])[1 + mod(p.id, 4)], 1 + mod(p.id, 20), true
        FROM inventory_product p
        JOIN inventory_supplier s ON s.code = 'S' || (1 + mod(p.id, %s))
        """,
        [SUPPLIERS],
    )
    timings["orders"] = data.build_orders_sql(
        orders=lines // LINES_PER_ORDER, customers=50_000, shipments=False, years=DAYS / 365, log=log
    )
    # Popular products sell more (a skewed pick), one to five units a line; the condition on the row
    # makes PostgreSQL draw again for every line instead of once.
    step(
        "order lines",
        f"""
        INSERT INTO orders_orderline (order_id, product_id, sku, name, quantity, unit_price, line_total,
                                      bundle_id, bundle_sku, bundle_name, bundle_quantity, bundle_group,
                                      is_gift, gift_rule_id)
        SELECT o.id, p.id, p.sku, p.name, q.quantity, p.unit_price, p.unit_price * q.quantity,
               NULL, '', '', NULL, NULL, false, NULL
        FROM orders_order o
        CROSS JOIN generate_series(1, {LINES_PER_ORDER}) AS n
        CROSS JOIN LATERAL (SELECT 1 + floor(power(random(), 2) * {PRODUCTS})::int AS product_n,
                                   1 + floor(random() * 5)::int AS quantity
                            WHERE n > 0 AND o.id > 0) AS q
        JOIN inventory_product p ON p.sku = 'P-' || lpad(q.product_n::text, 5, '0')
        """,
    )
    step(
        "allocations",
        f"""
        INSERT INTO orders_allocation (line_id, stock_level_id, quantity, state, ship_later, created_at)
        SELECT l.id, level.id, l.quantity,
               CASE WHEN o.status = 'cancelled' THEN 'released'
                    WHEN o.status IN ('confirmed', 'picking', 'packed') THEN 'reserved'
                    ELSE 'shipped' END,
               false, o.placed_at
        FROM orders_orderline l
        JOIN orders_order o ON o.id = l.order_id
        JOIN inventory_stocklevel level
          ON level.product_id = l.product_id
         AND level.warehouse_id = (ARRAY{houses})[1 + mod(l.id * 7, {WAREHOUSES})]
        WHERE o.status NOT IN ('pending', 'on_hold')
        """,
    )
    step("vacuum analyze", "VACUUM (ANALYZE)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM orders_orderline")
        timings["lines"] = cursor.fetchone()[0]
    return timings


def main():
    args = parse_args()
    log(f"building {DATABASE}" if not args.reuse_database else f"reusing {DATABASE}")
    data.use_database(DATABASE, recreate=not args.reuse_database)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from core.actors import SYSTEM
    from planning import selectors, services
    from planning.models import ReplenishmentSuggestion

    if args.reuse_database:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM orders_orderline")
            build_seconds = {"reused": True, "lines": cursor.fetchone()[0]}
    else:
        build_seconds = build(args.lines)
    log(f"built: {build_seconds}")
    now = timezone.now()

    def aggregation():
        return selectors.units_sold(now)

    def replenishment():
        return services.plan_replenishment(actor=SYSTEM, now=now)

    sides = {"aggregation": aggregation, "replenishment": replenishment}
    for side in sides.values():
        side()
    samples = {name: [] for name in sides}
    for number in range(1, args.rounds + 1):
        for name, side in sides.items():
            began = time.perf_counter()
            side()
            samples[name].append((time.perf_counter() - began) * 1000)
        log(f"round {number}/{args.rounds}: " + ", ".join(f"{n} {s[-1]:.0f} ms" for n, s in samples.items()))

    with CaptureQueriesContext(connection) as captured:
        run = replenishment()
    totals = aggregation()
    medians = {name: round(data.median(values), 1) for name, values in samples.items()}
    ratio = round(medians["replenishment"] / medians["aggregation"], 2)
    figures = {
        "aim": "replenishment at most 2× the aggregation",
        "aim_met": ratio <= 2,
        "ratio": ratio,
        "median_ms": medians,
        "samples_ms": {name: [round(value, 1) for value in values] for name, values in samples.items()},
        "products": PRODUCTS,
        "warehouses": WAREHOUSES,
        "order_lines": build_seconds["lines"],
        "product_warehouse_pairs_with_sales": len(totals),
        "demand_rows": run.demand_rows,
        "suggestions": run.suggestions,
        "transfers": ReplenishmentSuggestion.objects.filter(kind="transfer").count(),
        "queries_per_run": len(captured),
        "build_seconds": build_seconds,
    }
    print(
        f"aggregation {medians['aggregation']} ms, replenishment {medians['replenishment']} ms: "
        f"{ratio}× ({'aim met' if ratio <= 2 else 'AIM MISSED'}); {run.suggestions} suggestions, "
        f"{len(captured)} queries per run"
    )
    path = data.write_results(
        "replenishment",
        databases=[DATABASE],
        figures=figures,
        notes=(
            f"Medians of {args.rounds} rounds after one warm-up of each side, the two sides alternating. "
            "Replenishment is the whole planning run as cron runs it: the demand snapshot (one INSERT … SELECT "
            "over the lines), suggestions and run-out warnings computed and stored, in one transaction. The "
            "aggregation sums units per product and warehouse over 90 days with the same joins (lines, orders, "
            "allocations, stock levels). The machine (2 cores) was shared with four other engineers' tests "
            "while measuring."
        ),
    )
    print(f"wrote {path}")
    if not args.keep_database:
        data.drop_database(DATABASE)


if __name__ == "__main__":
    main()
