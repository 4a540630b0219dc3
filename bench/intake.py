"""Intake throughput: orders of 3 lines placed through `orders.services.place_order` on PostgreSQL,
against a floor measured in the same run on the same connection: one bare order row inserted per
transaction. Aim: intake at least 0.25 of the floor.

    .venv/bin/python bench/intake.py            # writes bench/results/intake.json
    .venv/bin/python bench/intake.py --existing-orders 1000000   # the same into a table in use

The two are measured in alternating rounds and the medians reported, so load from other work on
the machine hits both sides alike. A second, untimed pass counts the queries one order costs and
where they come from, and profiles the Python side."""

import argparse
import cProfile
import io
import pstats
import re
import sys
import time
import traceback
from collections import Counter
from decimal import Decimal
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402

DATABASE = "oc_bench_intake"
PROJECT_DIR = str(data.BASE_DIR)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--orders-per-round", type=int, default=400)
    parser.add_argument("--floor-rows-per-round", type=int, default=2000)
    parser.add_argument(
        "--existing-orders",
        type=int,
        default=0,
        help="orders already in the table before measuring (built with SQL, like a shop in use)",
    )
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--keep-database", action="store_true", help="leave the database for inspection")
    return parser.parse_args()


def order_inputs(channel, products, start, count):
    """`count` valid orders of 3 lines, each to its own phone and address so no repeat-order rule
    holds them, prepaid or cash on delivery, all under the new-customer value threshold."""
    from orders.services import LineInput, OrderInput

    place = data.PLACES
    inputs = []
    for number in range(start, start + count):
        chosen = [products[(number * step) % len(products)] for step in (1, 7, 13)]
        quantities = [1 + number % 3, 1, 1 + (number // 3) % 2]
        total = sum(p.unit_price * q for p, q in zip(chosen, quantities, strict=True))
        province, city, districts, postcode = place[number % len(place)]
        cash_on_delivery = number % 4 == 0
        inputs.append(
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
                payment_method="cod" if cash_on_delivery else ("e_wallet", "card")[number % 2],
                paid_amount=Decimal("0") if cash_on_delivery else total,
                lines=[LineInput(sku=p.sku, quantity=q) for p, q in zip(chosen, quantities, strict=True)],
            )
        )
    return inputs


class BareOrderInsert:
    """The floor: one order row, every column the model stores, one INSERT in one transaction."""

    def __init__(self, channel, customer):
        from django.db import connection
        from django.utils import timezone

        from orders.models import Order

        template = Order(
            channel=channel,
            customer=customer,
            recipient="地板",
            phone=customer.phone,
            province="浙江省",
            city="杭州市",
            district="西湖区",
            address="文三路 1 号",
            address_key="浙江省/杭州市/西湖区/文三路1号",
            postcode="310012",
            payment_method="card",
            subtotal=Decimal("100.00"),
            total=Decimal("100.00"),
            amount_paid=Decimal("100.00"),
            payment_status=Order.PaymentStatus.PAID,
            status=Order.Status.CONFIRMED,
            placed_at=timezone.now(),
        )
        fields = [f for f in Order._meta.concrete_fields if not f.primary_key]
        self.columns = [f.column for f in fields]
        self.values = [f.get_db_prep_save(f.pre_save(template, add=True), connection) for f in fields]
        self.channel_order_id_at = self.columns.index("channel_order_id")
        self.now_at = [self.columns.index("placed_at"), self.columns.index("updated_at")]
        quoted = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        self.sql = f'INSERT INTO "orders_order" ({quoted}) VALUES ({", ".join(["%s"] * len(self.columns))})'
        self.count = 0

    def insert(self):
        from django.db import connection, transaction
        from django.utils import timezone

        self.count += 1
        values = list(self.values)
        values[self.channel_order_id_at] = f"FLOOR-{self.count}"
        now = timezone.now()
        for index in self.now_at:
            values[index] = now
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(self.sql, values)


class OrmOrderCreate:
    """Context for the floor: the same bare order row written the way the application writes rows,
    with `Order.objects.create` in one transaction. The gap between the two floors is the ORM's own
    cost per statement, which `place_order` pays for each of its statements."""

    def __init__(self, channel, customer):
        from django.utils import timezone

        from orders.models import Order

        self.values = {
            "channel": channel,
            "customer": customer,
            "recipient": "地板",
            "phone": customer.phone,
            "province": "浙江省",
            "city": "杭州市",
            "district": "西湖区",
            "address": "文三路 1 号",
            "address_key": "浙江省/杭州市/西湖区/文三路1号",
            "postcode": "310012",
            "payment_method": "card",
            "subtotal": Decimal("100.00"),
            "total": Decimal("100.00"),
            "amount_paid": Decimal("100.00"),
            "payment_status": Order.PaymentStatus.PAID,
            "placed_at": timezone.now(),
        }
        self.count = 0

    def insert(self):
        from django.db import transaction

        from orders.models import Order

        self.count += 1
        with transaction.atomic():
            Order.objects.create(channel_order_id=f"ORM-FLOOR-{self.count}", **self.values)


def timed(function, items):
    """Wall seconds, and CPU seconds of this process (the Python side: Django, psycopg)."""
    began, began_cpu = time.perf_counter(), time.process_time()
    for item in items:
        function(item)
    return time.perf_counter() - began, time.process_time() - began_cpu


def call_site(stack):
    """The innermost frame in the project's own code (not bench/): where a query comes from."""
    for frame in reversed(stack):
        if (
            frame.filename.startswith(PROJECT_DIR)
            and "/.venv/" not in frame.filename
            and "/bench/" not in frame.filename
        ):
            return f"{Path(frame.filename).relative_to(PROJECT_DIR)}:{frame.lineno} {frame.name}"
    return "?"


def query_kind(sql):
    sql = " ".join(sql.split())
    for pattern in (
        r"^(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)",
        r"^(INSERT INTO \"\w+\")",
        r"^(UPDATE \"\w+\")",
        r"^(SELECT COUNT\(\*\)).*? FROM (\"\w+\")",
    ):
        match = re.match(pattern, sql)
        if match:
            return " ".join(match.groups())
    match = re.match(r"^SELECT .*? FROM (\"\w+\")", sql)
    if match:
        locking = " FOR UPDATE" if sql.endswith("FOR UPDATE") else ""
        limited = " LIMIT 1" if " LIMIT 1" in sql else ""
        return f"SELECT FROM {match.group(1)}{limited}{locking}"
    return sql[:60]


def anatomy(inputs):
    """Queries per order, where each comes from, and how much of the wall time is spent waiting on
    the database; untimed for the throughput figures."""
    from django.db import connection

    from core.actors import SYSTEM
    from orders.services import place_order

    sites, kinds, site_seconds, waited = Counter(), Counter(), Counter(), [0.0]

    def spy(execute, sql, params, many, context):
        key = (call_site(traceback.extract_stack()[:-1]), query_kind(sql))
        sites[key] += 1
        kinds[key[1]] += 1
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent = time.perf_counter() - began
            site_seconds[key] += spent
            waited[0] += spent

    commit_count, commit_seconds = [0], [0.0]
    original_commit = connection.commit

    def counted_commit():
        commit_count[0] += 1
        began = time.perf_counter()
        try:
            return original_commit()
        finally:
            spent = time.perf_counter() - began
            commit_seconds[0] += spent
            waited[0] += spent

    connection.commit = counted_commit
    began = time.perf_counter()
    try:
        with connection.execute_wrapper(spy):
            for item in inputs:
                place_order(item, actor=SYSTEM)
    finally:
        del connection.commit
    wall = time.perf_counter() - began
    count = len(inputs)
    return {
        "orders": count,
        "milliseconds_per_order": round(wall / count * 1000, 2),
        "queries_per_order": round(sum(kinds.values()) / count, 2),
        "commits_per_order": round(commit_count[0] / count, 2),
        "commit_milliseconds_per_order": round(commit_seconds[0] / count * 1000, 3),
        "database_milliseconds_per_order": round(waited[0] / count * 1000, 2),
        "database_share_of_time": round(waited[0] / wall, 3),
        "by_kind": {k: round(v / count, 2) for k, v in kinds.most_common()},
        "by_call_site": [
            {
                "site": site,
                "query": kind,
                "per_order": round(n / count, 2),
                "milliseconds_per_order": round(site_seconds[(site, kind)] / count * 1000, 3),
            }
            for (site, kind), n in sorted(sites.items(), key=lambda item: item[0][0])
        ],
    }


def profile(inputs, top=25):
    from core.actors import SYSTEM
    from orders.services import place_order

    profiler = cProfile.Profile()
    profiler.enable()
    for item in inputs:
        place_order(item, actor=SYSTEM)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    cumulative = out.getvalue()
    out.seek(0)
    out.truncate()
    stats.sort_stats("tottime").print_stats(top)
    return cumulative, out.getvalue()


def main():
    args = parse_args()
    print(f"database {args.database}: create and migrate")
    data.use_database(args.database)

    from django.db import connection
    from django.db.models import Count

    from core.actors import SYSTEM
    from inventory.models import StockLevel
    from inventory.selectors import ledger_mismatches
    from orders.models import Customer, Order
    from orders.services import place_order

    print("catalogue: 60 products x 3 warehouses, received through inventory.services")
    products = data.build_catalogue(products=60, warehouses=3)
    if args.existing_orders:
        print(f"{args.existing_orders} existing orders, built with SQL")
        data.build_orders_sql(orders=args.existing_orders, customers=max(args.existing_orders // 5, 1))
    channel = data.channel()
    floor_customer, _created = Customer.objects.get_or_create(phone="+8613700000000", defaults={"name": "地板"})
    floor = BareOrderInsert(channel, floor_customer)
    orm_floor = OrmOrderCreate(channel, floor_customer)

    warmup = 50
    rounds = [
        order_inputs(channel, products, warmup + r * args.orders_per_round, args.orders_per_round)
        for r in range(args.rounds)
    ]
    extra_start = warmup + args.rounds * args.orders_per_round
    for item in order_inputs(channel, products, 0, warmup):
        place_order(item, actor=SYSTEM)
    for _ in range(warmup * 4):
        floor.insert()
        orm_floor.insert()
    # A shop in use has planner statistics for its tables; without this the planner still
    # believes the order table is empty.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    intake_rates, floor_rates, orm_floor_rates, intake_cpu_ms, floor_cpu_ms = [], [], [], [], []
    for number, batch in enumerate(rounds, start=1):
        floor_seconds, floor_cpu = timed(lambda _i: floor.insert(), range(args.floor_rows_per_round))
        orm_seconds, _orm_cpu = timed(lambda _i: orm_floor.insert(), range(args.floor_rows_per_round))
        orm_floor_rates.append(args.floor_rows_per_round / orm_seconds)
        intake_seconds, intake_cpu = timed(partial(place_order, actor=SYSTEM), batch)
        floor_rates.append(args.floor_rows_per_round / floor_seconds)
        intake_rates.append(len(batch) / intake_seconds)
        floor_cpu_ms.append(floor_cpu / args.floor_rows_per_round * 1000)
        intake_cpu_ms.append(intake_cpu / len(batch) * 1000)
        print(
            f"round {number}: floor {floor_rates[-1]:.0f} rows/s, ORM floor {orm_floor_rates[-1]:.0f} rows/s, "
            f"intake {intake_rates[-1]:.1f} orders/s"
        )

    placed = Order.objects.filter(channel_order_id__startswith="BENCH-")
    by_status = dict(placed.values_list("status").annotate(n=Count("id")).order_by())
    confirmed_share = by_status.get(Order.Status.CONFIRMED, 0) / placed.count()
    intake_median, floor_median = data.median(intake_rates), data.median(floor_rates)
    ratio = intake_median / floor_median
    orm_floor_median = data.median(orm_floor_rates)
    print(
        f"median: floor {floor_median:.0f} rows/s, intake {intake_median:.1f} orders/s, ratio {ratio:.3f} "
        f"(aim >= 0.25); confirmed {confirmed_share:.1%} {by_status}"
    )
    print(
        f"context: ORM floor {orm_floor_median:.0f} rows/s, intake / ORM floor {intake_median / orm_floor_median:.3f}"
    )
    print(
        f"per order: intake {1000 / intake_median:.2f} ms wall, {data.median(intake_cpu_ms):.2f} ms CPU in this "
        f"process; floor {1000 / floor_median:.3f} ms wall, {data.median(floor_cpu_ms):.3f} ms CPU"
    )

    extra = order_inputs(channel, products, extra_start, 400)
    print("anatomy of an order: queries and their call sites (untimed)")
    queries = anatomy(extra[:200])
    print(
        f"  {queries['queries_per_order']} queries + {queries['commits_per_order']} commit per order; "
        f"{queries['milliseconds_per_order']} ms per order (with the spy), of which database "
        f"{queries['database_milliseconds_per_order']} ms (commit {queries['commit_milliseconds_per_order']} ms)"
    )
    for row in queries["by_call_site"]:
        print(f"  {row['per_order']:>5} x {row['milliseconds_per_order']:.3f} ms  {row['query']:<42} {row['site']}")
    profile_cumulative, profile_own = profile(extra[200:])

    reserved = sum(StockLevel.objects.values_list("reserved", flat=True))
    ledger_whole = not ledger_mismatches().exists()
    name = "intake" if not args.existing_orders else f"intake_with_{args.existing_orders}_orders"
    path = data.write_results(
        name,
        databases=[args.database],
        figures={
            "intake_orders_per_second": round(intake_median, 1),
            "floor_orders_per_second": round(floor_median, 1),
            "ratio": round(ratio, 3),
            "aim": ">= 0.25",
            "aim_met": ratio >= 0.25,
            "rounds": args.rounds,
            "orders_per_round": args.orders_per_round,
            "floor_rows_per_round": args.floor_rows_per_round,
            "orm_floor_orders_per_second": round(orm_floor_median, 1),
            "ratio_to_orm_floor": round(intake_median / orm_floor_median, 3),
            "orm_floor_rates_per_round": [round(r, 1) for r in orm_floor_rates],
            "lines_per_order": 3,
            "existing_orders": args.existing_orders,
            "intake_ms_per_order": round(1000 / intake_median, 2),
            "intake_client_cpu_ms_per_order": round(data.median(intake_cpu_ms), 2),
            "floor_ms_per_order": round(1000 / floor_median, 3),
            "floor_client_cpu_ms_per_order": round(data.median(floor_cpu_ms), 3),
            "intake_rates_per_round": [round(r, 1) for r in intake_rates],
            "floor_rates_per_round": [round(r, 1) for r in floor_rates],
            "orders_placed": placed.count(),
            "status_counts": by_status,
            "confirmed_share": round(confirmed_share, 4),
            "units_reserved": reserved,
            "ledger_sums_to_stock": ledger_whole,
            "per_order": queries,
            "profile_top_cumulative": profile_cumulative.splitlines(),
            "profile_top_own_time": profile_own.splitlines(),
        },
        notes=(
            "Medians of alternating rounds (floor, ORM floor, then intake; same Django connection). The machine was "
            "shared with other work while measuring; single-threaded client, server on the same host."
        ),
    )
    print(f"wrote {path}")
    if not args.keep_database:
        data.drop_database(args.database)


if __name__ == "__main__":
    main()
