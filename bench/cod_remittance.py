"""Cash-on-delivery remittance: a carrier's file of 50,000 lines matched against 50,000 delivered
cash-on-delivery parcels and recorded (a payment per order, a line per parcel), against reading the
same file alone. Aim: matching and recording take at most 3× the reading.

    .venv/bin/python bench/cod_remittance.py      # writes bench/results/cod_remittance.json

The orders are written by `data.build_orders_sql` and then made cash-on-delivery orders delivered
and unpaid, each with one SF Express parcel; the file is an .xlsx of tracking number, amount
collected, fee, date and batch reference, as carriers send it. Each round reads the file
(`reading.Table` and `remittance_sheet.read_lines`, as the import does), then records it through
`logistics.services.record_remittance` in a transaction rolled back afterwards, so every round
matches the same unpaid parcels; the tables are vacuumed before each round, outside the timing, as
autovacuum keeps a shop's; the two are timed apart and rounds alternate, so load from other work on
the machine falls on both alike, and medians are reported."""

import argparse
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402

DATABASE = "oc_cod_bench"
LINES = 50_000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=LINES)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep-database", action="store_true", help="leave the database for inspection")
    return parser.parse_args()


def log(message):
    print(message, file=sys.stderr, flush=True)


def build(lines):
    """`lines` delivered cash-on-delivery orders owing their total, one SF parcel each; returns
    the carrier and the seconds per step."""
    from django.db import connection

    from inventory.models import Warehouse
    from logistics.models import Carrier

    timings = data.build_orders_sql(orders=lines, customers=max(lines // 3, 1), shipments=False, log=log)
    carrier = Carrier.objects.create(code="sf", name="SF Express", cod_fee_percent="1.00", cod_fee_minimum="2.00")
    warehouse = Warehouse.objects.get_or_create(code="WH1", defaults={"name": "Warehouse 1", "priority": 1})[0]
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE orders_order
               SET status = 'delivered', payment_method = 'cod', payment_status = 'unpaid', amount_paid = 0,
                   amount_refunded = 0, refund_due = 0, cancelled_at = NULL, completed_at = NULL,
                   confirmed_at = placed_at, picking_at = placed_at, packed_at = placed_at,
                   shipped_at = placed_at + interval '8 hours', delivered_at = placed_at + interval '2 days'
            """
        )
        cursor.execute(
            """
            INSERT INTO logistics_shipment (order_id, warehouse_id, carrier_id, tracking_number, status,
                                            shipped_at, delivered_at, exception_kind, service_reason, created_at,
                                            purpose)
            SELECT o.id, %s, %s, 'SF' || lpad(o.id::text, 13, '0'), 'delivered', o.shipped_at, o.delivered_at,
                   '', '', o.shipped_at, 'order'
            FROM orders_order o
            """,
            [warehouse.pk, carrier.pk],
        )
    vacuum()
    timings["cod parcels"] = round(time.perf_counter() - began, 1)
    return carrier, timings


def vacuum():
    """Clear what the build's update of every order and each round's rolled-back writes leave
    behind: a shop's tables are kept so by autovacuum, and a remittance commits once, while each
    round here leaves 50,000 dead order versions and their index entries for the next to step over."""
    from django.db import connection

    # Outside any transaction: Django's connection commits each statement by itself.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def remittance_file():
    """The carrier's file: every parcel's tracking number with what its order owes."""
    from openpyxl import Workbook

    from orders.models import Order

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["运单号", "代收金额", "手续费", "日期", "批次号"])
    for number, total in Order.objects.order_by("pk").values_list("shipments__tracking_number", "total"):
        sheet.append([number, float(total), 2, "2026-12-01", "SF-2026-12-01"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def main():
    args = parse_args()
    log(f"building {DATABASE}")
    data.use_database(DATABASE)

    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from core.actors import SYSTEM
    from core.spreadsheets import reading
    from core.spreadsheets.problems import Problems
    from logistics import services as logistics
    from logistics.remittance_sheet import MAX_ROWS, REMITTANCE_COLUMNS, read_lines

    carrier, build_seconds = build(args.lines)
    content = remittance_file()
    log(f"built in {build_seconds}; file {len(content) // 1024} KB")

    def read():
        problems = Problems()
        table = reading.Table(content, "sf.xlsx", REMITTANCE_COLUMNS, problems, max_rows=MAX_ROWS)
        lines = read_lines(table, problems)
        if problems:
            raise SystemExit(f"the file has problems: {problems.sorted()[:3]}")
        return lines

    def record(lines):
        with transaction.atomic():
            recorded = logistics.record_remittance(carrier.pk, lines, file_name="sf.xlsx", actor=SYSTEM)
            transaction.set_rollback(True)
        if recorded.remittances[0].mismatch_count:
            raise SystemExit(f"{recorded.remittances[0].mismatch_count} lines did not match")
        return recorded

    lines = read()
    with CaptureQueriesContext(connection) as captured:
        record(lines)
    statements = len(captured)
    samples = {"read": [], "match_and_record": []}
    for number in range(1, args.rounds + 1):
        began = time.perf_counter()
        lines = read()
        samples["read"].append(time.perf_counter() - began)
        vacuum()
        began = time.perf_counter()
        record(lines)
        samples["match_and_record"].append(time.perf_counter() - began)
        log(
            f"round {number}/{args.rounds}: read {samples['read'][-1]:.2f} s, match {samples['match_and_record'][-1]:.2f} s"
        )

    read_s = data.median(samples["read"])
    match_s = data.median(samples["match_and_record"])
    ratio = match_s / read_s
    aim_met = ratio <= 3
    print(
        f"{args.lines} lines: reading {read_s:.2f} s, matching and recording {match_s:.2f} s "
        f"({ratio:.2f}x, aim 3x {'met' if aim_met else 'NOT met'}); {statements} statements "
        f"({statements / args.lines:.4f} per line)"
    )
    path = data.write_results(
        "cod_remittance",
        databases=[DATABASE],
        figures={
            "aim": "matching and recording a 50,000-line remittance <= 3x reading the file",
            "aim_met": aim_met,
            "lines": args.lines,
            "file_kb": len(content) // 1024,
            "read_median_s": round(read_s, 2),
            "match_and_record_median_s": round(match_s, 2),
            "ratio": round(ratio, 2),
            "statements": statements,
            "statements_per_line": round(statements / args.lines, 4),
            "samples_s": {name: [round(value, 2) for value in values] for name, values in samples.items()},
            "build_seconds": build_seconds,
        },
        notes=(
            f"Medians of {args.rounds} alternating rounds; each round reads the .xlsx (openpyxl, read-only) "
            "as the import does, then records it in a transaction that is rolled back, so every round "
            "matches the same unpaid parcels (the rollup write after commit is therefore not measured); "
            "the tables are vacuumed before each round, outside the timing."
        ),
    )
    print(f"wrote {path}")
    if not args.keep_database:
        data.drop_database(DATABASE)


if __name__ == "__main__":
    main()
