"""Merge detection: the merge queue's query (orders.selectors.merge_detection_query, which groups
the confirmed orders by phone, address and channel and keeps the groups of two or more) over a
1,000,000-order table with a realistic share of open orders and some mergeable pairs. Records the
median time of the query and of the whole queue (merge_groups: the query plus the groups' orders)
and the query's EXPLAIN (ANALYZE, BUFFERS) plan, which must read only the partial index
`order_merge_candidates` (the orders before picking), never the whole table.

    .venv/bin/python bench/merge_detection.py      # writes bench/results/merge_detection.json

The database (oc_bench_merge_big) is built with SQL (bench/data.py) and dropped at the end unless
`--keep` is given; `--reuse` keeps one from an earlier run that holds the right number of orders."""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402

DATABASE = "oc_bench_merge_big"
ORDERS, CUSTOMERS = 1_000_000, 200_000
# One confirmed order in PAIR_EVERY takes the phone, address and channel of the confirmed order
# before it: a buyer who ordered twice within a few days.
PAIR_EVERY = 8


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


def log(message):
    print(message, file=sys.stderr, flush=True)


def order_count():
    import psycopg

    try:
        with psycopg.connect(f"{data.SERVER_URL}/{DATABASE}") as connection:
            return connection.execute("SELECT count(*) FROM orders_order").fetchone()[0]
    except psycopg.Error:
        return None


def build():
    timings = data.build_orders_sql(orders=ORDERS, customers=CUSTOMERS, shipments=False, log=log)
    timings["mergeable pairs"] = add_pairs()
    return timings


def add_pairs():
    """Make one confirmed order in PAIR_EVERY a second order of the buyer of the one before it;
    returns the seconds taken."""
    from django.db import connection

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH confirmed AS (
                SELECT id, lag(id) OVER (ORDER BY id) AS previous, row_number() OVER (ORDER BY id) AS n
                FROM orders_order WHERE status = 'confirmed'
            )
            UPDATE orders_order o
            SET phone = p.phone, recipient = p.recipient, customer_id = p.customer_id, channel_id = p.channel_id,
                province = p.province, city = p.city, district = p.district, address = p.address,
                postcode = p.postcode, address_key = p.address_key
            FROM confirmed c JOIN orders_order p ON p.id = c.previous
            WHERE o.id = c.id AND c.n % {PAIR_EVERY} = 0
            """
        )
        cursor.execute("VACUUM (ANALYZE) orders_order")
    return round(time.perf_counter() - began, 1)


def measure(rounds):
    from django.db import connection

    from orders import selectors

    def timed(call):
        times = []
        for _round in range(rounds):
            began = time.perf_counter()
            result = call()
            times.append((time.perf_counter() - began) * 1000)
        return round(data.median(times), 2), round(min(times), 2), round(max(times), 2), result

    query_median, query_min, query_max, keys = timed(
        lambda: list(selectors.merge_detection_query(across_channels=False))
    )
    queue_median, queue_min, queue_max, groups = timed(lambda: selectors.merge_groups(across_channels=False))
    across_median, _lo, _hi, across_keys = timed(lambda: list(selectors.merge_detection_query(across_channels=True)))
    plan = selectors.merge_detection_query(across_channels=False).explain(analyze=True, buffers=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE status IN ('pending', 'on_hold', 'confirmed')), "
            "count(*) FILTER (WHERE status = 'confirmed'), count(*) FROM orders_order"
        )
        before_picking, confirmed, total = cursor.fetchone()
        cursor.execute("SELECT pg_relation_size('order_merge_candidates'), pg_relation_size('orders_order')")
        index_bytes, table_bytes = cursor.fetchone()
    return {
        "orders": total,
        "orders_before_picking": before_picking,
        "confirmed_orders": confirmed,
        "candidate_groups": len(keys),
        "candidate_groups_across_channels": len(across_keys),
        "queue_groups_shown": len(groups),
        "detection_query_ms": {"median": query_median, "min": query_min, "max": query_max},
        "merge_queue_ms": {"median": queue_median, "min": queue_min, "max": queue_max},
        "detection_query_across_channels_ms": across_median,
        "rounds": rounds,
        "partial_index_bytes": index_bytes,
        "orders_table_bytes": table_bytes,
        "plan": plan.splitlines(),
        "plan_uses_partial_index": "order_merge_candidates" in plan,
        "plan_scans_whole_table": "Seq Scan on orders_order" in plan,
    }


def main():
    args = parse_args()
    reuse = args.reuse and order_count() == ORDERS
    data.use_database(DATABASE, recreate=not reuse)
    build_timings = {} if reuse else build()
    if reuse:
        from orders import selectors

        if not selectors.merge_candidate_keys(across_channels=False, limit=1):
            build_timings["mergeable pairs"] = add_pairs()
    try:
        figures = measure(args.rounds)
        figures["build_seconds"] = build_timings
        path = data.write_results(
            "merge_detection",
            databases=[DATABASE],
            figures=figures,
            notes=(
                "Detection reads the partial index order_merge_candidates (orders before picking), "
                "whose size follows the open orders, not the table."
            ),
        )
        log(f"wrote {path}")
        log(f"detection query median {figures['detection_query_ms']['median']} ms; plan:")
        log("\n".join(figures["plan"]))
    finally:
        if not args.keep:
            data.drop_database(DATABASE)


if __name__ == "__main__":
    main()
