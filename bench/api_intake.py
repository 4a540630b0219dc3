"""API intake over HTTP: orders of 3 lines created per second through POST /api/v1/orders/ (each
with its own Idempotency-Key, as a channel retrying safely sends them), against the same server
answering a minimal authenticated GET (/api/v1/orders/?channel_order_id=<none>: token, rate limit,
one indexed query, an empty page). Aim: at least 0.3.

    .venv/bin/python bench/api_intake.py         # writes bench/results/api_intake.json

The server is gunicorn with 2 sync workers on PostgreSQL (database oc_api_bench, rebuilt each run),
as production runs it without REDIS_URL: DEBUG off, the rate limit counted in the database
(core.RateCount). 8 client threads keep it busy; POST and GET are measured in alternating rounds and the medians reported, so
load from other work on the machine falls on both alike. An untimed pass serves one request of each
kind in this process, and place_order alone, counting queries and milliseconds."""

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402

DATABASE = "oc_api_bench"
HOST = "127.0.0.1"
WORKERS = 2
CLIENTS = 8
AIM = 0.3
ORDERS_PATH = "/api/v1/orders/"
MINIMAL_GET = "/api/v1/orders/?channel_order_id=NO-SUCH-ORDER"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--orders-per-client", type=int, default=25, help="POSTs per client in a round")
    parser.add_argument("--gets-per-client", type=int, default=150, help="GETs per client in a round")
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--keep-database", action="store_true", help="leave the database for inspection")
    return parser.parse_args()


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def order_body(products, number):
    """3 lines, each order to its own phone and address so no repeat-order rule holds it; prepaid
    or cash on delivery, all under the new-customer value threshold."""
    chosen = [products[(number * step) % len(products)] for step in (1, 7, 13)]
    quantities = [1 + number % 3, 1, 1 + (number // 3) % 2]
    total = sum(price * q for (_sku, price), q in zip(chosen, quantities, strict=True))
    province, city, districts, postcode = data.PLACES[number % len(data.PLACES)]
    cash_on_delivery = number % 4 == 0
    return {
        "channel_order_id": f"API-BENCH-{number}",
        "recipient": f"客户{number}",
        "phone": f"139 {number // 10000:04d} {number % 10000:04d}",
        "province": province,
        "city": city,
        "district": districts[number % len(districts)],
        "address": f"{data.STREETS[number % len(data.STREETS)]} {number} 号",
        "postcode": postcode,
        "payment_method": "cod" if cash_on_delivery else ("e_wallet", "card")[number % 2],
        "paid_amount": "0" if cash_on_delivery else str(total),
        "lines": [{"sku": sku, "quantity": q} for (sku, _price), q in zip(chosen, quantities, strict=True)],
    }


class Server:
    """gunicorn serving the project on a free port, with the benchmark's database; `settings` are
    environment variables that differ from this benchmark's (another rate, Redis, more workers)."""

    def __init__(self, database, workers=WORKERS, **settings):
        self.port = free_port()
        environment = {
            **os.environ,
            "DATABASE_URL": f"{data.SERVER_URL}/{database}",
            "DEBUG": "0",
            "SECRET_KEY": "api-intake-benchmark",
            "ALLOWED_HOSTS": HOST,
            # Plain HTTP on a local port: production's redirect to HTTPS would answer every request.
            "SECURE_SSL_REDIRECT": "false",
            # Every request still passes the rate limit (and pays for it); only the limit is lifted.
            "API_CHANNEL_RATE": "100000000/minute",
            "LOG_LEVEL": "WARNING",
            **settings,
        }
        self.process = subprocess.Popen(
            [
                str(data.BASE_DIR / ".venv" / "bin" / "gunicorn"),
                "config.wsgi:application",
                "--workers",
                str(workers),
                "--bind",
                f"{HOST}:{self.port}",
                "--log-level",
                "warning",
                "--backlog",
                "64",
            ],
            cwd=data.BASE_DIR,
            env=environment,
        )

    def wait_until_ready(self, token, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                status, _body = request(self.port, "GET", MINIMAL_GET, token)
                if status == 200:
                    return
                raise RuntimeError(f"the minimal GET answered {status}")
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer in time")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def request(port, method, path, token, body=None, headers=None):
    """One request on its own connection (gunicorn's sync workers close each one)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        sent = {"Authorization": f"Bearer {token}", **(headers or {})}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        connection.request(method, path, body=payload, headers=sent)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def run_clients(jobs):
    """Run each client's list of requests in its own thread at once; returns wall seconds and the
    count of each status code."""
    statuses = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(len(jobs) + 1)

    def client(calls):
        barrier.wait()
        seen = Counter(call() for call in calls)
        with lock:
            statuses.update(seen)

    threads = [threading.Thread(target=client, args=(calls,)) for calls in jobs]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, statuses


def post_jobs(port, token, products, start, per_client):
    def post(number):
        return lambda: request(
            port, "POST", ORDERS_PATH, token, order_body(products, number), {"Idempotency-Key": str(uuid.uuid4())}
        )[0]

    return [[post(start + c * per_client + i) for i in range(per_client)] for c in range(CLIENTS)]


def get_jobs(port, token, per_client):
    def get():
        return request(port, "GET", MINIMAL_GET, token)[0]

    return [[get for _i in range(per_client)] for _c in range(CLIENTS)]


def in_process(token, channel, products, start, repeat=40):
    """Queries and milliseconds of one POST and one minimal GET served in this process (no HTTP),
    and of `place_order` alone on the same kind of order: how much of a POST is the intake itself.
    Untimed for the throughput figures."""
    from django.db import connection
    from django.test import Client

    from core.actors import SYSTEM
    from orders.api.serializers import OrderInputSerializer
    from orders.services import place_order

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    numbers = iter(range(start, start + 3 * repeat + 2))

    def post():
        response = client.post(
            ORDERS_PATH,
            order_body(products, next(numbers)),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )
        assert response.status_code == 201, response.content

    def get():
        response = client.get(MINIMAL_GET)
        assert response.status_code == 200, response.content

    def intake_alone():
        incoming = OrderInputSerializer(data=order_body(products, next(numbers)))
        incoming.is_valid(raise_exception=True)
        place_order(incoming.order_input(channel), actor=SYSTEM)

    def counted(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    figures = {}
    for label, call in [("post", post), ("minimal_get", get), ("place_order", intake_alone)]:
        queries = [0]
        with connection.execute_wrapper(counted):
            call()
        began = time.perf_counter()
        for _ in range(repeat):
            call()
        figures[label] = {
            "queries": queries[0],
            "milliseconds": round((time.perf_counter() - began) / repeat * 1000, 2),
        }
    return figures


def require_shared_cache():
    """The rate limit must be counted where every worker sees it (DESIGN: nothing in process
    memory); measuring with a per-process cache would leave out its cost."""
    from django.conf import settings

    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith(("LocMemCache", "DummyCache")):
        raise SystemExit(
            f"CACHES['default'] is {backend}: the API's rate limit needs a shared cache "
            "(django.core.cache.backends.db.DatabaseCache) in config/settings.py"
        )
    return backend


def main():
    args = parse_args()
    print(f"database {args.database}: create and migrate")
    data.use_database(args.database)
    cache_backend = require_shared_cache()

    from django.core.management import call_command
    from django.db import connections
    from django.db.models import Count

    from core.actors import SYSTEM
    from orders.models import Order
    from orders.services import issue_token

    call_command("createcachetable")
    print("catalogue: 60 products x 3 warehouses, received through inventory.services")
    products = [(p.sku, p.unit_price) for p in data.build_catalogue(products=60, warehouses=3)]
    channel = data.channel("api", "api", "API")
    token = issue_token(channel.pk, actor=SYSTEM).secret
    served_here = in_process(token, channel, products, 1_000_000)
    print(
        "in process, no HTTP: "
        + ", ".join(f"{label} {f['milliseconds']} ms ({f['queries']} queries)" for label, f in served_here.items())
    )
    connections.close_all()

    server = Server(args.database)
    try:
        server.wait_until_ready(token)
        print(f"gunicorn: {WORKERS} workers on port {server.port}; {CLIENTS} clients")
        number = 1
        # Warm-up: every worker has its connection, its imports and its plans.
        run_clients(post_jobs(server.port, token, products, number, 5))
        number += CLIENTS * 5
        run_clients(get_jobs(server.port, token, 20))

        post_rates, get_rates, statuses = [], [], Counter()
        for round_number in range(1, args.rounds + 1):
            seconds, seen = run_clients(post_jobs(server.port, token, products, number, args.orders_per_client))
            number += CLIENTS * args.orders_per_client
            statuses.update({f"POST {code}": n for code, n in seen.items()})
            post_rates.append(sum(seen.values()) / seconds)
            seconds, seen = run_clients(get_jobs(server.port, token, args.gets_per_client))
            statuses.update({f"GET {code}": n for code, n in seen.items()})
            get_rates.append(sum(seen.values()) / seconds)
            print(
                f"round {round_number}: {post_rates[-1]:.1f} orders/s, {get_rates[-1]:.1f} GETs/s, "
                f"ratio {post_rates[-1] / get_rates[-1]:.3f}"
            )
    finally:
        server.stop()

    expected = {"POST 201", "GET 200"}
    if set(statuses) != expected:
        raise SystemExit(f"unexpected answers: {dict(statuses)}")
    placed = Order.objects.filter(channel=channel)
    by_status = dict(placed.values_list("status").annotate(n=Count("id")).order_by())
    post_median, get_median = data.median(post_rates), data.median(get_rates)
    # Each round's POSTs and GETs run back to back, under the same load from the rest of the
    # machine; the median of the rounds' ratios is steadier than the ratio of the two medians.
    round_ratios = [post / get for post, get in zip(post_rates, get_rates, strict=True)]
    ratio = data.median(round_ratios)
    print(
        f"median: {post_median:.1f} orders/s, {get_median:.1f} GETs/s; median ratio {ratio:.3f} (aim >= {AIM}); "
        f"orders by status {by_status}"
    )

    path = data.write_results(
        "api_intake",
        databases=[args.database],
        figures={
            "orders_per_second": round(post_median, 1),
            "minimal_gets_per_second": round(get_median, 1),
            "ratio": round(ratio, 3),
            "aim": f">= {AIM}",
            "aim_met": ratio >= AIM,
            "rounds": args.rounds,
            "orders_per_round": CLIENTS * args.orders_per_client,
            "gets_per_round": CLIENTS * args.gets_per_client,
            "order_rates_per_round": [round(r, 1) for r in post_rates],
            "get_rates_per_round": [round(r, 1) for r in get_rates],
            "ratios_per_round": [round(r, 3) for r in round_ratios],
            "ratio_of_medians": round(post_median / get_median, 3),
            "lines_per_order": 3,
            "gunicorn_workers": WORKERS,
            "clients": CLIENTS,
            "in_process": served_here,
            "orders_by_status": by_status,
            "answers": dict(statuses),
            "rate_limit_cache": cache_backend,
        },
        notes=(
            "POST /api/v1/orders/ with an Idempotency-Key (token check, rate limit, validation, place_order, "
            "idempotency record, the order read back) against GET /api/v1/orders/?channel_order_id=<none>, "
            "both through gunicorn on one machine with PostgreSQL and the client threads. `in_process`: the same "
            "requests served without HTTP, and place_order alone, to show what share of a POST is the intake."
        ),
    )
    print(f"wrote {path}")
    if not args.keep_database:
        data.drop_database(args.database)


if __name__ == "__main__":
    main()
