"""Order list: the console's order list page (/admin/orders/order/) with 1,000,000 orders against
the same page with 10,000 orders, in three views: the default list, a status filter and a search
by phone. Aim: at most 2x, the list's cost must not grow with the table.

    .venv/bin/python bench/order_list.py          # writes bench/results/order_list.json

Each size lives in its own database, built with SQL (bench/data.py) and served by its own worker
process; the parent asks the two workers for requests in alternating rounds so load from other
work on the machine falls on both sizes alike, and reports medians. `--reuse` keeps databases
from an earlier run when they hold the right number of orders; `--drop` removes them afterwards."""

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

SIZES = {
    "small": {"database": "oc_bench_list_small", "orders": 10_000, "customers": 2_000},
    "big": {"database": "oc_bench_list_big", "orders": 1_000_000, "customers": 200_000},
}
LIST_URL = "/admin/orders/order/"
# The known customer's phone as a person would type it, not as it is stored.
SEARCHED_PHONE = "138 0013 8000"
VIEWS = {
    "default": LIST_URL,
    "status_filter": f"{LIST_URL}?status__exact=shipped",
    "phone_search": f"{LIST_URL}?q={quote(SEARCHED_PHONE)}",
}
AIM = 2.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests-per-round", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="keep databases that already hold the data")
    parser.add_argument("--drop", action="store_true", help="drop both databases at the end")
    parser.add_argument("--worker", choices=SIZES, help=argparse.SUPPRESS)
    return parser.parse_args()


# --- worker: one database, one logged-in test client ------------------------------------------


def log(message):
    print(message, file=sys.stderr, flush=True)


def prepare(size, reuse):
    """Build (or reuse) this size's database; returns the build timings."""
    import psycopg

    spec = SIZES[size]
    name = spec["database"]
    if reuse:
        try:
            with psycopg.connect(f"{data.SERVER_URL}/{name}") as existing:
                count = existing.execute("SELECT count(*) FROM orders_order").fetchone()[0]
        except psycopg.Error:
            count = None
        if count == spec["orders"]:
            log(f"{size}: reusing {name} with {count} orders")
            data.use_database(name, recreate=False)
            return {"reused": True}
    log(f"{size}: building {name}: {spec['orders']} orders, {spec['customers']} customers")
    began = time.perf_counter()
    data.use_database(name)
    timings = data.build_orders_sql(orders=spec["orders"], customers=spec["customers"], log=log)
    timings["with_migrate"] = round(time.perf_counter() - began, 1)
    return timings


def worker(size, reuse):
    # WhiteNoise warns that collectstatic has not run; the list page does not serve static files.
    warnings.filterwarnings("ignore", message="No directory at")
    timings = prepare(size, reuse)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

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
    reply({"ready": True, "orders": orders, "build": timings})

    for line in sys.stdin:
        command = json.loads(line)
        if command["do"] == "quit":
            break
        path = command["path"]
        if command["do"] == "check":
            response, size_bytes = get(path)
            reply({"status": response.status_code, "location": response.get("Location", ""), "bytes": size_bytes})
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


def query_report(connection, get, path, capture):
    """The queries one page costs, the slowest first, each with its own time and, for the slow
    ones, the plan PostgreSQL chose."""
    timed = []

    def stopwatch(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timed.append((time.perf_counter() - began) * 1000)

    with capture(connection) as captured, connection.execute_wrapper(stopwatch):
        get(path)
    queries = [{"ms": round(ms, 2), "sql": q["sql"]} for q, ms in zip(captured.captured_queries, timed, strict=True)]
    slowest = sorted(queries, key=lambda q: -q["ms"])[:4]
    for query in slowest:
        if query["ms"] >= 5 and query["sql"].lstrip().upper().startswith("SELECT"):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                query["plan"] = [row[0] for row in cursor.fetchall()]
    return {
        "count": len(queries),
        "total_ms": round(sum(timed), 1),
        "slowest": slowest,
        "all": [q["sql"][:200] for q in queries],
    }


# --- parent: two workers, alternating rounds ---------------------------------------------------


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

    workers = {size: Worker(size, args.reuse) for size in SIZES}
    try:
        for size, w in workers.items():
            print(f"{size}: {w.ready['orders']} orders, build {w.ready['build']}")
        for path in VIEWS.values():
            for size, w in workers.items():
                answer = w.ask(do="check", path=path)
                if answer["status"] != 200:
                    raise SystemExit(
                        f"{path} answers {answer['status']} {answer['location']} on {size}: "
                        "the order list is not there (yet)"
                    )
        for path in VIEWS.values():
            for w in workers.values():
                w.ask(do="time", path=path, repeat=3)

        samples = {name: {size: [] for size in SIZES} for name in VIEWS}
        for number in range(1, args.rounds + 1):
            for name, path in VIEWS.items():
                for size, w in workers.items():
                    answer = w.ask(do="time", path=path, repeat=args.requests_per_round)
                    if answer["statuses"] != [200]:
                        raise SystemExit(f"{path} answered {answer['statuses']} on {size}")
                    samples[name][size] += answer["ms"]
            print(f"round {number}/{args.rounds} done")

        figures, queries = {}, {}
        for name, path in VIEWS.items():
            row = {"path": path}
            for size, w in workers.items():
                ms = sorted(samples[name][size])
                report = w.ask(do="queries", path=path)
                queries.setdefault(name, {})[size] = report
                row[size] = {
                    "orders": w.ready["orders"],
                    "median_ms": round(data.median(ms), 1),
                    "min_ms": round(ms[0], 1),
                    "p90_ms": round(ms[int(len(ms) * 0.9) - 1], 1),
                    "requests": len(ms),
                    "queries": report["count"],
                    "sql_ms": report["total_ms"],
                }
            row["ratio"] = round(row["big"]["median_ms"] / row["small"]["median_ms"], 2)
            row["aim_met"] = row["ratio"] <= AIM
            figures[name] = row
            print(
                f"{name:>14}: 10k {row['small']['median_ms']:7.1f} ms ({row['small']['queries']} queries)  "
                f"1M {row['big']['median_ms']:7.1f} ms ({row['big']['queries']} queries)  "
                f"ratio {row['ratio']:.2f} {'ok' if row['aim_met'] else 'OVER THE AIM'}"
            )
    finally:
        for w in workers.values():
            w.close()

    path = data.write_results(
        "order_list",
        databases=[spec["database"] for spec in SIZES.values()],
        figures={
            "aim": f"1M / 10k median <= {AIM}",
            "aim_met": all(row["aim_met"] for row in figures.values()),
            "views": figures,
            "build_seconds": {size: w.ready["build"] for size, w in workers.items()},
            "queries": queries,
        },
        notes=(
            "Medians of 20 requests per view and size through django.test.Client logged in as a superuser, "
            "after 3 warm-up requests; the two sizes are asked in alternating rounds. The machine was shared "
            "with other work while measuring."
        ),
    )
    print(f"wrote {path}")
    if args.drop:
        for spec in SIZES.values():
            data.drop_database(spec["database"])


if __name__ == "__main__":
    main()
