"""Archive: the console's order list and its searches (by number, phone and channel order id) with
5,000,000 orders of which 4,500,000 are archived, against the same pages with 500,000 orders never
archived. Aim: at most 1.2x. The Archived orders view's own list and searches over the 4,500,000 are
measured too.

    .venv/bin/python bench/archive.py             # writes bench/results/archive.json
    .venv/bin/python bench/archive.py --build-only --reuse   # only build (or keep) the databases

Each size lives in its own database, built with SQL (bench/data.py): the live one with
`build_orders_sql`; the archived one with the same 500,000 recent orders plus 4,500,000 orders
finished over five years before the archiving age, moved to the archive by one SQL statement that
does per row what `manage.py archive_orders` does (copy the order and its parcels into
orders_archivedorder, then delete them), then `VACUUM (ANALYZE)`, as autovacuum leaves a table in
use. Each database is served by its own worker process; the parent asks them in alternating rounds
and reports medians. `--orders` scales both sizes down (the archived share stays 90 %)."""

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402

DATABASES = {"live": "oc_bench_archive_live", "archived": "oc_bench_archive_archived"}
LIST_URL = "/admin/orders/order/"
ARCHIVE_URL = "/admin/orders/archivedorder/"
SEARCHED_PHONE = "138 0013 8000"
AIM = 1.2
# The archived orders end this many days ago, past the default ARCHIVE_AFTER_DAYS (548).
ARCHIVED_DAYS_AGO = 570


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=5_000_000, help="orders of the archived size (default 5M)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests-per-round", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="keep databases that already hold the data")
    parser.add_argument("--build-only", action="store_true", help="build the databases and stop")
    parser.add_argument("--drop", action="store_true", help="drop both databases at the end")
    parser.add_argument(
        "--command-batches",
        type=int,
        default=0,
        help="instead: time this many batches of archive_orders on a copy of the never-archived database",
    )
    parser.add_argument("--worker", choices=DATABASES, help=argparse.SUPPRESS)
    return parser.parse_args()


def sizes(total):
    live = total // 10
    return {"live": {"live": live, "archived": 0}, "archived": {"live": live, "archived": total - live}}


def log(message):
    print(message, file=sys.stderr, flush=True)


def counts(name):
    import psycopg

    try:
        with psycopg.connect(f"{data.SERVER_URL}/{name}") as existing:
            return {
                "live": existing.execute("SELECT count(*) FROM orders_order").fetchone()[0],
                "archived": existing.execute("SELECT count(*) FROM orders_archivedorder").fetchone()[0],
            }
    except psycopg.Error:
        return None


ARCHIVE_SQL = """
    INSERT INTO orders_archivedorder (
        id, number, channel_id, channel_order_id, customer_id, status, recipient, phone, province, city,
        currency, total, payment_status, placed_at, finished_at, archived_at, rows, api_answer
    )
    SELECT o.id, o.number, o.channel_id, o.channel_order_id, o.customer_id, o.status, o.recipient, o.phone,
           o.province, o.city, o.currency, o.total, o.payment_status, o.placed_at,
           coalesce(o.completed_at, o.cancelled_at), now(),
           jsonb_build_object(
               'orders.order', jsonb_build_array(to_jsonb(o)),
               'orders.orderline', jsonb_build_array(jsonb_build_object(
                   'id', o.id, 'order_id', o.id, 'product_id', 1, 'sku', 'BENCH-0001', 'name', 'Bench product 1',
                   'quantity', 1, 'unit_price', o.subtotal, 'line_total', o.subtotal)),
               'logistics.shipment', coalesce(s.shipments, '[]'::jsonb)),
           jsonb_build_object(
               'number', o.number, 'channel_order_id', o.channel_order_id, 'status', o.status,
               'payment_status', o.payment_status, 'currency', o.currency, 'total', o.total::text,
               'placed_at', o.placed_at, 'recipient', o.recipient, 'phone', o.phone, 'province', o.province,
               'city', o.city, 'address', o.address, 'lines', '[]'::jsonb, 'payments', '[]'::jsonb,
               'refunds', '[]'::jsonb, 'shipments', '[]'::jsonb, 'returns', '[]'::jsonb)
    FROM orders_order o
    LEFT JOIN LATERAL (
        SELECT jsonb_agg(to_jsonb(sh)) AS shipments FROM logistics_shipment sh WHERE sh.order_id = o.id
    ) s ON true
    WHERE o.id > %(first_archived)s
"""


def prepare(size, total, reuse):
    """Build (or reuse) this size's database; returns the build timings."""
    name = DATABASES[size]
    wanted = sizes(total)[size]
    if reuse and counts(name) == wanted:
        log(f"{size}: reusing {name} with {wanted}")
        data.use_database(name, recreate=False)
        return {"reused": True}
    log(f"{size}: building {name}: {wanted}")
    began = time.perf_counter()
    data.use_database(name)
    customers = max(wanted["live"] // 5, 10)
    timings = {"live": data.build_orders_sql(orders=wanted["live"], customers=customers, log=log)}
    if wanted["archived"]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT max(id) FROM orders_order")
            first_archived = cursor.fetchone()[0]
        timings["old"] = data.build_orders_sql(
            orders=wanted["archived"],
            customers=customers * 4,
            years=5,
            days_ago=ARCHIVED_DAYS_AGO,
            finished=True,
            log=log,
        )
        timings["archiving"] = archive_sql(first_archived)
    timings["with_migrate"] = round(time.perf_counter() - began, 1)
    return timings


def archive_sql(first_archived):
    """Move every order above `first_archived` with its parcels to the archive, as archive_orders
    would (copy, then delete), in SQL."""
    from django.db import connection

    timings = {}
    steps = [
        ("copy", ARCHIVE_SQL, {"first_archived": first_archived}),
        (
            "delete parcels",
            "DELETE FROM logistics_shipment WHERE order_id > %(first_archived)s",
            {"first_archived": first_archived},
        ),
        ("delete orders", "DELETE FROM orders_order WHERE id > %(first_archived)s", {"first_archived": first_archived}),
        ("vacuum analyze", "VACUUM (ANALYZE)", None),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '256MB'")
        cursor.execute("SET synchronous_commit = 'off'")
        for label, sql, params in steps:
            began = time.perf_counter()
            cursor.execute(sql, params)
            timings[label] = round(time.perf_counter() - began, 1)
            log(f"  archiving, {label}: {timings[label]} s")
        cursor.execute("RESET maintenance_work_mem")
        cursor.execute("RESET synchronous_commit")
    return timings


def views(connection):
    """The measured pages of this database, with search terms taken from its own data: the newest
    live order's number and a channel order id from the middle of the live ones; in the archive,
    the number, phone and channel order id of an archived order from its middle."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT number FROM orders_order ORDER BY id DESC LIMIT 1")
        number = cursor.fetchone()[0]
        cursor.execute(
            "SELECT channel_order_id FROM orders_order ORDER BY id LIMIT 1 OFFSET (SELECT count(*) / 2 FROM orders_order)"
        )
        channel_order_id = cursor.fetchone()[0]
        cursor.execute(
            "SELECT number, phone, channel_order_id FROM orders_archivedorder ORDER BY id LIMIT 1 OFFSET 1000"
        )
        archived = cursor.fetchone()
    pages = {
        "default": LIST_URL,
        "status_filter": f"{LIST_URL}?status__exact=shipped",
        "phone_search": f"{LIST_URL}?q={quote(SEARCHED_PHONE)}",
        "number_search": f"{LIST_URL}?q={quote(number)}",
        "channel_order_id_search": f"{LIST_URL}?q={quote(channel_order_id)}",
    }
    if archived:
        archived_number, archived_phone, archived_channel_order_id = archived
        pages |= {
            "archive_default": ARCHIVE_URL,
            "archive_number_search": f"{ARCHIVE_URL}?q={quote(archived_number)}",
            "archive_phone_search": f"{ARCHIVE_URL}?q={quote(archived_phone)}",
            "archive_channel_order_id_search": f"{ARCHIVE_URL}?q={quote(archived_channel_order_id)}",
        }
    return pages


def worker(size, total, reuse, build_only):
    # WhiteNoise warns that collectstatic has not run; the list page does not serve static files.
    warnings.filterwarnings("ignore", message="No directory at")
    timings = prepare(size, total, reuse)

    from django.db import connection
    from django.test import Client

    def reply(message):
        print(json.dumps(message, default=str), flush=True)

    if build_only:
        reply({"ready": True, "build": timings})
        return
    client = Client()
    client.force_login(data.superuser())
    pages = views(connection)
    reply({"ready": True, "orders": counts(DATABASES[size]), "build": timings, "pages": pages})

    for line in sys.stdin:
        command = json.loads(line)
        if command["do"] == "quit":
            break
        path = pages[command["view"]]
        if command["do"] == "check":
            response = client.get(path)
            reply({"status": response.status_code, "found": response.content.count(b'class="field-number"')})
        elif command["do"] == "time":
            seconds, statuses = [], set()
            for _ in range(command["repeat"]):
                began = time.perf_counter()
                response = client.get(path)
                seconds.append(time.perf_counter() - began)
                statuses.add(response.status_code)
            reply({"ms": [s * 1000 for s in seconds], "statuses": sorted(statuses)})


class Worker:
    def __init__(self, size, args):
        command = [sys.executable, __file__, "--worker", size, "--orders", str(args.orders)]
        command += ["--reuse"] if args.reuse else []
        command += ["--build-only"] if args.build_only else []
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


def summary(ms, orders):
    ms = sorted(ms)
    return {
        "orders": orders,
        "median_ms": round(data.median(ms), 1),
        "min_ms": round(ms[0], 1),
        "p90_ms": round(ms[int(len(ms) * 0.9) - 1], 1),
        "requests": len(ms),
    }


COMMAND_DATABASE = "oc_bench_archive_command"


def command_throughput(batches):
    """archive_orders itself, on a copy of the never-archived database (its orders finished over
    548 days ago are archivable: about a fifth of them): `batches` batches of the default size."""
    import psycopg

    with psycopg.connect(f"{data.SERVER_URL}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{COMMAND_DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{COMMAND_DATABASE}" TEMPLATE "{DATABASES["live"]}"')
    data.use_database(COMMAND_DATABASE, recreate=False)
    from django.conf import settings
    from django.db import connection

    from core.actors import SYSTEM
    from orders.services import archive_batch, archiving_cutoff

    cutoff = archiving_cutoff()
    seconds, moved = [], 0
    for _ in range(batches):
        began = time.perf_counter()
        count = archive_batch(actor=SYSTEM, cutoff=cutoff, size=settings.ARCHIVE_BATCH_SIZE)
        seconds.append(time.perf_counter() - began)
        moved += count
        if not count:
            break
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM orders_order")
        live = cursor.fetchone()[0]
    connection.close()
    data.drop_database(COMMAND_DATABASE)
    return {
        "batch_size": settings.ARCHIVE_BATCH_SIZE,
        "batches": len(seconds),
        "orders_archived": moved,
        "live_orders_left": live,
        "median_batch_s": round(data.median(seconds), 2),
        "orders_per_second": round(moved / sum(seconds), 1),
    }


def main():
    args = parse_args()
    if args.worker:
        worker(args.worker, args.orders, args.reuse, args.build_only)
        return
    if args.command_batches:
        figures = command_throughput(args.command_batches)
        print(figures)
        path = data.write_results(
            "archive_command",
            databases=[COMMAND_DATABASE],
            figures=figures,
            notes="archive_batch timed batch by batch on a copy of the 500,000-order database (orders, parcels).",
        )
        print(f"wrote {path}")
        return

    # One after the other: two builds at once would share the machine's two cores.
    workers = {}
    try:
        for size in DATABASES:
            workers[size] = Worker(size, args)
        if args.build_only:
            for size, w in workers.items():
                print(f"{size}: built {w.ready['build']}")
            return
        live_views = list(workers["live"].ready["pages"])
        archive_views = [name for name in workers["archived"].ready["pages"] if name.startswith("archive_")]
        for size, w in workers.items():
            print(f"{size}: {w.ready['orders']}, build {w.ready['build']}")
            for name in w.ready["pages"]:
                answer = w.ask(do="check", view=name)
                if answer["status"] != 200:
                    raise SystemExit(f"{name} answers {answer['status']} on {size}")
                print(f"  {name}: {answer['found']} orders listed")
                w.ask(do="time", view=name, repeat=3)

        samples = {name: {size: [] for size in DATABASES} for name in live_views}
        samples |= {name: {"archived": []} for name in archive_views}
        for number in range(1, args.rounds + 1):
            for name in live_views + archive_views:
                for size in samples[name]:
                    answer = workers[size].ask(do="time", view=name, repeat=args.requests_per_round)
                    if answer["statuses"] != [200]:
                        raise SystemExit(f"{name} answered {answer['statuses']} on {size}")
                    samples[name][size] += answer["ms"]
            print(f"round {number}/{args.rounds} done")

        figures = {}
        for name in live_views:
            row = {size: summary(samples[name][size], workers[size].ready["orders"]) for size in DATABASES}
            row["path"] = {size: workers[size].ready["pages"][name] for size in DATABASES}
            row["ratio"] = round(row["archived"]["median_ms"] / row["live"]["median_ms"], 2)
            row["aim_met"] = row["ratio"] <= AIM
            figures[name] = row
            print(
                f"{name:>24}: never archived {row['live']['median_ms']:7.1f} ms  "
                f"after archiving {row['archived']['median_ms']:7.1f} ms  ratio {row['ratio']:.2f} "
                f"{'ok' if row['aim_met'] else 'OVER THE AIM'}"
            )
        for name in archive_views:
            row = {"archived": summary(samples[name]["archived"], workers["archived"].ready["orders"])}
            row["path"] = workers["archived"].ready["pages"][name]
            figures[name] = row
            print(f"{name:>24}: {row['archived']['median_ms']:7.1f} ms over the archive")
    finally:
        for w in workers.values():
            w.close()

    path = data.write_results(
        "archive",
        databases=list(DATABASES.values()),
        figures={
            "aim": f"after archiving / never archived median <= {AIM}",
            "aim_met": all(row.get("aim_met", True) for row in figures.values()),
            "orders": args.orders,
            "views": figures,
            "build_seconds": {size: w.ready["build"] for size, w in workers.items()},
        },
        notes=(
            f"Medians of {args.rounds * args.requests_per_round} requests per view and size through "
            "django.test.Client logged in as a superuser, after 3 warm-up requests; the sizes are asked in "
            "alternating rounds. The machine was shared with other work while measuring."
        ),
    )
    print(f"wrote {path}")
    if args.drop:
        for name in DATABASES.values():
            data.drop_database(name)


if __name__ == "__main__":
    main()
