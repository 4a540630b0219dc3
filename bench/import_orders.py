"""Order import: 50,000 order lines (20,000 orders) in one .xlsx file through the console's import,
end to end (read, validate, check, reserve, write, commit), against a floor measured in the same
run: reading the same file with openpyxl in read-only mode plus bulk-inserting as many order and
order line rows. Aim: the import at most 3x the floor, and its peak memory under 500 MB (and
within 3x the floor's).

    .venv/bin/python bench/import_orders.py          # writes bench/results/import_orders.json

Every measurement runs in a process of its own (so its peak memory is its own) against a fresh
copy of one prepared database (PostgreSQL's CREATE DATABASE ... TEMPLATE), the floor and the
import in alternating rounds so load from other work on the machine falls on both; medians are
reported. Afterwards, untimed for the headline: where the import's time goes (reading, building
the orders, placing them, committing), and the same orders placed one `place_order` call each."""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402

TEMPLATE = "oc_import_bench_template"
DATABASE = "oc_import_bench"
ORDERS = 20_000
LINES = 50_000
PRODUCTS = 60
ONE_AT_A_TIME_SAMPLE = 1_000
AIM_TIME, AIM_MEMORY_RATIO, AIM_MEMORY_MB = 3.0, 3.0, 500
CHANNEL_CODES = ["web", "app", "marketplace"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--orders", type=int, default=ORDERS)
    parser.add_argument("--lines", type=int, default=LINES)
    parser.add_argument("--file", default=str(Path(tempfile.gettempdir()) / "oc_import_bench.xlsx"))
    parser.add_argument("--keep-database", action="store_true", help="leave the databases for inspection")
    parser.add_argument(
        "--worker", choices=["prepare", "floor", "import", "phases", "one_at_a_time"], help=argparse.SUPPRESS
    )
    return parser.parse_args()


# --- in a worker process ---------------------------------------------------------------------


def rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def connect(name):
    """Django on an existing, migrated database, as production runs it (DEBUG off)."""
    os.environ["DATABASE_URL"] = f"{data.SERVER_URL}/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False


def line_counts(orders, lines):
    """How many lines each order has (1 to 4), `lines` in all."""
    counts = [1 + (n * 7) % 4 for n in range(orders)]
    excess = sum(counts) - lines
    for n in range(orders):
        if excess == 0:
            break
        step = max(-(counts[n] - 1), min(4 - counts[n], -excess))
        counts[n] += step
        excess += step
    return counts


def prepare(path, orders, lines):
    """The template database (catalogue, channels, a superuser) and the file: every order to its
    own customer and address, 3/4 prepaid, 1/4 cash on delivery written in Chinese, all below the
    value thresholds, so each should be confirmed."""
    from django.utils import timezone
    from openpyxl import Workbook

    from orders.importers.columns import ORDER_COLUMNS

    products = data.build_catalogue(products=PRODUCTS, warehouses=3)
    for code in CHANNEL_CODES:
        data.channel(code, code, code.title())
    data.superuser()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("orders")
    sheet.append([column.english for column in ORDER_COLUMNS])
    placed = timezone.localtime().replace(tzinfo=None, microsecond=0)
    written = 0
    for number, count in enumerate(line_counts(orders, lines)):
        province, city, districts, postcode = data.PLACES[number % len(data.PLACES)]
        chosen = [products[(number * 7 + step * 13) % len(products)] for step in range(count)]
        quantities = [1 + (number + step) % 3 for step in range(count)]
        shipping = Decimal("0.00") if number % 3 else Decimal("10.00")
        total = sum((p.unit_price * q for p, q in zip(chosen, quantities, strict=True)), shipping)
        cash = number % 4 == 0
        method = "货到付款" if cash else ("card", "e_wallet")[number % 2]
        for product, quantity in zip(chosen, quantities, strict=True):
            sheet.append(
                [
                    CHANNEL_CODES[number % len(CHANNEL_CODES)],
                    f"BENCH-{number:06d}",
                    placed,
                    f"客户{number}",
                    f"139 {number // 10000:04d} {number % 10000:04d}",
                    province,
                    city,
                    districts[number % len(districts)],
                    f"{data.STREETS[number % len(data.STREETS)]} {number} 号",
                    postcode,
                    product.sku,
                    quantity,
                    None,
                    shipping,
                    Decimal("0.00"),
                    method,
                    Decimal("0.00") if cash else total,
                    "",
                ]
            )
            written += 1
    workbook.save(path)
    return {"orders": orders, "lines": written, "bytes": Path(path).stat().st_size}


def floor(path):
    """Read the file with openpyxl in read-only mode, then bulk-insert one order row per order and
    one line row per line, built straight from the cells, in one transaction."""
    from django.db import transaction
    from django.utils import timezone
    from openpyxl import load_workbook

    from inventory.models import Product
    from orders.models import Channel, Customer, Order, OrderLine

    began = time.perf_counter()
    workbook = load_workbook(path, read_only=True, data_only=True)
    rows = list(workbook.worksheets[0].iter_rows(min_row=2, values_only=True))
    workbook.close()
    read_seconds = time.perf_counter() - began

    channels = {channel.code: channel for channel in Channel.objects.all()}
    products = {product.sku: product for product in Product.objects.all()}
    customer = Customer.objects.create(phone="+8613700000000", name="地板")
    orders, lines_of = {}, {}
    for cells in rows:
        (
            channel,
            channel_order_id,
            placed_at,
            recipient,
            phone,
            province,
            city,
            district,
            address,
            postcode,
            sku,
            quantity,
            _price,
            shipping,
            discount,
            method,
            paid,
            note,
        ) = cells
        if channel_order_id not in orders:
            orders[channel_order_id] = Order(
                channel=channels[channel],
                channel_order_id=channel_order_id,
                customer=customer,
                recipient=recipient,
                phone=phone,
                province=province,
                city=city,
                district=district,
                address=address,
                postcode=postcode,
                shipping_fee=shipping,
                discount=discount,
                payment_method="cod" if method == "货到付款" else method,
                amount_paid=paid,
                special_instructions=note or "",
                placed_at=timezone.make_aware(placed_at),
            )
            lines_of[channel_order_id] = []
        product = products[sku]
        line = OrderLine(
            product=product,
            sku=sku,
            name=product.name,
            quantity=quantity,
            unit_price=product.unit_price,
            line_total=product.unit_price * quantity,
        )
        lines_of[channel_order_id].append(line)
        # The table's check constraint wants consistent totals.
        order = orders[channel_order_id]
        order.subtotal += line.line_total
        order.total = order.subtotal + order.shipping_fee - order.discount
    with transaction.atomic():
        Order.objects.bulk_create(orders.values(), batch_size=1000)
        for channel_order_id, order in orders.items():
            for line in lines_of[channel_order_id]:
                line.order = order
        OrderLine.objects.bulk_create([line for lines in lines_of.values() for line in lines], batch_size=1000)
    return {
        "seconds": time.perf_counter() - began,
        "read_seconds": read_seconds,
        "orders": len(orders),
        "lines": sum(map(len, lines_of.values())),
    }


def import_file(path):
    """The console's import of the file: the check (a dry run, rolled back) and then the confirmed
    import, each the path a background worker takes (progress written as it goes)."""
    from django.contrib.auth.models import User
    from django.db.models import Count

    from inventory.selectors import ledger_mismatches
    from orders import importers
    from orders.models import Notification, Order

    actor = User.objects.get(username="bench")
    content = Path(path).read_bytes()
    began = time.perf_counter()
    job = importers.start_order_import(file_name=Path(path).name, content=content, actor=actor)
    job = importers.check_order_import(job.pk, in_background=True)
    checked = time.perf_counter()
    if job.errors:
        raise SystemExit(f"the check found errors: {job.errors[:5]}")
    job = importers.import_order_file(importers.confirm_order_import(job.pk, actor=actor).pk, in_background=True)
    done = time.perf_counter()
    if job.status != "done":
        raise SystemExit(f"the import did not finish: {job.status} {job.errors[:5]}")
    by_status = dict(Order.objects.values_list("status").annotate(n=Count("id")).order_by())
    return {
        "check_seconds": checked - began,
        "import_seconds": done - checked,
        "orders_created": job.summary["to_create"],
        "status_counts": by_status,
        "ledger_sums_to_stock": not ledger_mismatches().exists(),
        "notifications": Notification.objects.count(),
    }


def phases(path):
    """Where the import's time goes: the same steps the import takes, timed one by one, with the
    time spent waiting for the database while placing."""
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from orders import services
    from orders.importers import orders as order_import

    actor = User.objects.get(username="bench")
    content = Path(path).read_bytes()
    timings, waited, statements = {}, [0.0], [0]

    def spy(execute, sql, params, many, context):
        statements[0] += 1
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            waited[0] += time.perf_counter() - began

    began = time.perf_counter()
    read = order_import.read_orders(content, Path(path).name)
    timings["read_file"] = time.perf_counter() - began
    began = time.perf_counter()
    inputs = order_import.order_inputs(read, read.problems)
    timings["build_order_inputs"] = time.perf_counter() - began
    began = time.perf_counter()
    with transaction.atomic():
        with connection.execute_wrapper(spy):
            placed_at = time.perf_counter()
            services.place_orders(inputs, actor=actor)
            timings["place_orders"] = time.perf_counter() - placed_at
        committing = time.perf_counter()
    timings["commit_and_after_commit"] = time.perf_counter() - committing
    timings["total"] = time.perf_counter() - began + timings["read_file"] + timings["build_order_inputs"]
    return {"seconds": timings, "place_orders_database_seconds": waited[0], "place_orders_statements": statements[0]}


def one_at_a_time(path, sample):
    """The first `sample` orders of the file placed with one `place_order` call each (in one
    transaction, as the import would need), against the same orders through `place_orders`."""
    from django.contrib.auth.models import User
    from django.db import transaction

    from orders import services
    from orders.importers import orders as order_import

    actor = User.objects.get(username="bench")
    read = order_import.read_orders(Path(path).read_bytes(), Path(path).name)
    inputs = order_import.order_inputs(read, read.problems)[:sample]
    with transaction.atomic():
        began = time.perf_counter()
        for item in inputs:
            services.place_order(item, actor=actor)
        single = time.perf_counter() - began
        transaction.set_rollback(True)
    with transaction.atomic():
        began = time.perf_counter()
        services.place_orders(inputs, actor=actor)
        batch = time.perf_counter() - began
        transaction.set_rollback(True)
    return {
        "orders": len(inputs),
        "place_order_ms_per_order": single / len(inputs) * 1000,
        "place_orders_ms_per_order": batch / len(inputs) * 1000,
    }


def worker(args):
    database = TEMPLATE if args.worker == "prepare" else DATABASE
    if args.worker == "prepare":
        data.use_database(database)
    else:
        connect(database)
    baseline = rss_mb()
    if args.worker == "prepare":
        result = prepare(args.file, args.orders, args.lines)
    elif args.worker == "floor":
        result = floor(args.file)
    elif args.worker == "import":
        result = import_file(args.file)
    elif args.worker == "phases":
        result = phases(args.file)
    else:
        result = one_at_a_time(args.file, ONE_AT_A_TIME_SAMPLE)
    from django.db import connections

    connections.close_all()
    print(json.dumps({**result, "baseline_rss_mb": baseline, "peak_rss_mb": peak_rss_mb()}, default=str), flush=True)


# --- the parent: fresh databases, alternating rounds -------------------------------------------------


def fresh_copy():
    import psycopg

    with psycopg.connect(f"{data.SERVER_URL}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DATABASE}" TEMPLATE "{TEMPLATE}"')


def run(args, kind):
    command = [
        sys.executable,
        __file__,
        "--worker",
        kind,
        "--file",
        args.file,
        "--orders",
        str(args.orders),
        "--lines",
        str(args.lines),
    ]
    if kind != "prepare":
        fresh_copy()
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise SystemExit(f"the {kind} worker failed:\n{finished.stderr[-3000:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def main():
    args = parse_args()
    if args.worker:
        worker(args)
        return
    print(f"preparing {TEMPLATE} and {args.file}: {args.orders} orders, {args.lines} lines")
    prepared = run(args, "prepare")
    print(f"  file: {prepared['bytes'] / 1e6:.1f} MB, {prepared['lines']} lines")

    floors, imports = [], []
    for number in range(1, args.rounds + 1):
        floors.append(run(args, "floor"))
        imports.append(run(args, "import"))
        f, i = floors[-1], imports[-1]
        print(
            f"round {number}: floor {f['seconds']:.1f} s (read {f['read_seconds']:.1f} s, {f['peak_rss_mb']:.0f} MB), "
            f"import {i['import_seconds']:.1f} s (check {i['check_seconds']:.1f} s, {i['peak_rss_mb']:.0f} MB)"
        )
    print("where the time goes (untimed for the headline)")
    breakdown = run(args, "phases")
    for step, seconds in breakdown["seconds"].items():
        print(f"  {step}: {seconds:.1f} s")
    print(
        f"  of place_orders: {breakdown['place_orders_database_seconds']:.1f} s waiting for the database, "
        f"{breakdown['place_orders_statements']} statements"
    )
    single = run(args, "one_at_a_time")
    print(
        f"one place_order per order: {single['place_order_ms_per_order']:.2f} ms per order, place_orders "
        f"{single['place_orders_ms_per_order']:.2f} ms per order ({single['orders']} orders)"
    )

    floor_seconds = data.median([f["seconds"] for f in floors])
    import_seconds = data.median([i["import_seconds"] for i in imports])
    check_seconds = data.median([i["check_seconds"] for i in imports])
    floor_peak = data.median([f["peak_rss_mb"] for f in floors])
    import_peak = max(i["peak_rss_mb"] for i in imports)
    ratio, memory_ratio = import_seconds / floor_seconds, import_peak / floor_peak
    aims = {
        "time": ratio <= AIM_TIME,
        "memory_ratio": memory_ratio <= AIM_MEMORY_RATIO,
        "memory_mb": import_peak < AIM_MEMORY_MB,
    }
    print(
        f"median: floor {floor_seconds:.1f} s, import {import_seconds:.1f} s, ratio {ratio:.2f} (aim <= {AIM_TIME}); "
        f"check {check_seconds:.1f} s; peak memory import {import_peak:.0f} MB, floor {floor_peak:.0f} MB, "
        f"ratio {memory_ratio:.2f}"
    )
    estimate = single["place_order_ms_per_order"] * args.orders / 1000
    path = data.write_results(
        "import_orders",
        databases=[TEMPLATE, DATABASE],
        figures={
            "aim": f"import <= {AIM_TIME} x floor; peak memory < {AIM_MEMORY_MB} MB and <= {AIM_MEMORY_RATIO} x floor's",
            "aim_met": aims,
            "orders": prepared["orders"],
            "lines": prepared["lines"],
            "file_megabytes": round(prepared["bytes"] / 1e6, 2),
            "floor_seconds": round(floor_seconds, 2),
            "import_seconds": round(import_seconds, 2),
            "ratio": round(ratio, 2),
            "check_seconds": round(check_seconds, 2),
            "upload_to_imported_seconds": round(check_seconds + import_seconds, 2),
            "import_orders_per_second": round(prepared["orders"] / import_seconds),
            "floor_peak_rss_mb": round(floor_peak),
            "import_peak_rss_mb": round(import_peak),
            "memory_ratio": round(memory_ratio, 2),
            "process_rss_before_work_mb": round(data.median([i["baseline_rss_mb"] for i in imports])),
            "rounds": {"floor": floors, "import": imports},
            "phases": breakdown,
            "one_place_order_per_order": {**single, "estimated_seconds_for_the_file": round(estimate)},
        },
        notes=(
            "Each figure from a process of its own on a fresh copy of one prepared database; floor and import in "
            "alternating rounds, medians (peak memory: the largest import). The import includes the check (dry run) "
            "only in check_seconds; import_seconds is the confirmed import: read, validate, check, reserve, write, "
            "commit, queue the customers' notifications. The machine was shared with other work while measuring."
        ),
    )
    print(f"wrote {path}")
    if not args.keep_database:
        data.drop_database(DATABASE)
        data.drop_database(TEMPLATE)
        Path(args.file).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
