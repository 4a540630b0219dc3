"""Order line export: 100,000 order lines written to xlsx by `core.spreadsheets` (the console's
"Export" with one row per order line: the list's queryset read in chunks, values shown for the
operator, written with openpyxl's write-only mode), against a floor measured in the same process:
openpyxl's write-only mode writing the very same values from a list already in memory. Aim: at
most 2x the floor, and peak memory at 100,000 lines at most 1.3x that at 10,000.

    .venv/bin/python bench/export_orders.py          # writes bench/results/export_orders.json

The data (40,000 orders of 1 to 4 lines, 100,000 lines) is built with SQL in its own database
(bench/data.py). Times come from one worker process that runs the export and the floor in
alternating rounds; memory comes from a fresh worker process per size and measurement, so one
size never inherits the other's heap. `--reuse` keeps a database from an earlier run that holds
the right number of lines; `--drop` removes it afterwards."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402

DATABASE = "oc_export_bench"
ORDERS = 40_000
# Order n has 1 + n % 4 lines, so every 4,000 orders from the first hold 10,000 lines.
LINES = {"10k": 10_000, "100k": 100_000}
ORDERS_FOR = {"10k": 4_000, "100k": 40_000}
TIME_AIM = 2.0
MEMORY_AIM = 1.3


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory-runs", type=int, default=2, help="fresh processes per size and measurement")
    parser.add_argument("--reuse", action="store_true", help="keep a database that already holds the data")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--worker", choices=["time", "memory"], help=argparse.SUPPRESS)
    parser.add_argument("--size", choices=LINES, default="100k", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--path", choices=["stream", "job"], default="stream", help=argparse.SUPPRESS)
    return parser.parse_args()


def log(message):
    print(message, file=sys.stderr, flush=True)


# --- data ----------------------------------------------------------------------------------------


def line_count():
    import psycopg

    try:
        with psycopg.connect(f"{data.SERVER_URL}/{DATABASE}") as existing:
            return existing.execute("SELECT count(*) FROM orders_orderline").fetchone()[0]
    except psycopg.Error:
        return None


def build(reuse):
    """The bench database with ORDERS orders and LINES["100k"] lines; returns build timings."""
    if reuse and line_count() == LINES["100k"]:
        log(f"reusing {DATABASE}")
        data.use_database(DATABASE, recreate=False)
        return {"reused": True}
    began = time.perf_counter()
    data.use_database(DATABASE)
    products = data.build_catalogue(products=60, warehouses=1, stock_per_level=1_000)
    default_new_order_columns()
    timings = data.build_orders_sql(orders=ORDERS, customers=ORDERS // 2, shipments=False, log=log)
    timings["lines"] = add_lines([product.pk for product in products])
    timings["with_migrate"] = round(time.perf_counter() - began, 1)
    return timings


def default_new_order_columns():
    """bench/data.py's INSERT names the order columns that existed before this round's
    `express_requested` and `language`; in this database they take the model's defaults."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE orders_order ALTER COLUMN express_requested SET DEFAULT false, "
            "ALTER COLUMN language SET DEFAULT ''"
        )


def add_lines(product_ids):
    """1 + id % 4 lines per order, each of a catalogue product at its list price."""
    from django.db import connection

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO orders_orderline (order_id, product_id, sku, name, quantity, unit_price, line_total,
                                          is_gift, bundle_sku, bundle_name)
            SELECT o.id, p.id, p.sku, p.name, 1 + (o.id + n) % 3, p.unit_price, p.unit_price * (1 + (o.id + n) % 3), false, '', ''
            FROM orders_order o
            CROSS JOIN LATERAL generate_series(1, 1 + o.id % 4) AS n
            JOIN inventory_product p ON p.id = (ARRAY{product_ids})[1 + (o.id * 7 + n) % {len(product_ids)}]
        """)
        cursor.execute("VACUUM (ANALYZE) orders_orderline")
    return round(time.perf_counter() - began, 1)


# --- workers -------------------------------------------------------------------------------------


def setup_worker():
    data.use_database(DATABASE, recreate=False)


def orders_of(size):
    """The order list, newest first as the console sorts it, narrowed to the first orders."""
    from orders import selectors

    return selectors.order_list().order_by("-placed_at", "-id").filter(pk__lte=ORDERS_FOR[size])


def export_table(size):
    """The export the console makes of that list, one row per order line."""
    from core.spreadsheets.exports import ExportTable
    from orders.exports import ORDER_LINES

    return ExportTable(ORDER_LINES, orders_of(size), data.superuser())


def write_floor(headers, rows, out):
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    workbook.save(out)


def time_worker(size, rounds):
    setup_worker()
    from core.spreadsheets import writing

    table = export_table(size)
    # The floor writes exactly what the export wrote: its rows as they go into the sheet (this
    # data holds no text to guard, so the guard changes nothing).
    rows = list(table.rows(lambda text: text))
    if len(rows) != LINES[size]:
        raise SystemExit(f"expected {LINES[size]} rows, the export has {len(rows)}")
    samples = {"export": [], "floor": [], "csv_export": []}
    sizes = {}
    for number in range(rounds + 1):
        for name in ("export", "floor", "csv_export"):
            with tempfile.TemporaryFile() as out:
                began = time.perf_counter()
                if name == "export":
                    writing.write_xlsx(table, out)
                elif name == "floor":
                    write_floor(table.headers, rows, out)
                else:
                    for chunk in writing.csv_chunks(table):
                        out.write(chunk)
                seconds = time.perf_counter() - began
                sizes[name] = out.tell()
            if number:  # the first round warms caches and is not counted
                samples[name].append(seconds)
        log(f"round {number}/{rounds}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in samples.items() if v))
    import openpyxl

    print(
        json.dumps(
            {
                "rows": len(rows),
                "columns": len(table.headers),
                "seconds": samples,
                "bytes": sizes,
                "openpyxl": openpyxl.__version__,
                "openpyxl_uses_lxml": openpyxl.LXML,
            }
        )
    )


def resident_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def memory_worker(size, trace, path):
    """Peak memory of one export in a fresh process. A small export first loads every module and
    cache; then the kernel's peak-RSS mark is reset, so the peak measured is the export's own."""
    import tracemalloc

    # A background job runs in this process, as soon as it is queued.
    os.environ["TASKS_BACKEND"] = "immediate"
    setup_worker()
    from django.db.models.functions import Length

    from core.models import Job
    from core.spreadsheets import exports, writing
    from orders.exports import ORDER_LINES

    with tempfile.TemporaryFile() as out:
        writing.write_xlsx(export_table("10k"), out)
    table = export_table(size)
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    before = resident_kib("VmRSS")
    if trace:
        tracemalloc.start()
    began = time.perf_counter()
    if path == "stream":
        with tempfile.TemporaryFile() as out:
            writing.write_xlsx(table, out)
            file_bytes = out.tell()
    else:
        job = exports.start_export(ORDER_LINES, orders_of(size), file_format="xlsx", actor=data.superuser())
        job = Job.objects.defer("result_file").annotate(file_bytes=Length("result_file")).get(pk=job.pk)
        if job.status != Job.Status.DONE:
            raise SystemExit(f"the export job ended {job.status}: {job.errors}")
        file_bytes = job.file_bytes
    seconds = time.perf_counter() - began
    traced_peak = tracemalloc.get_traced_memory()[1] if trace else None
    print(
        json.dumps(
            {
                "size": size,
                "path": path,
                "rss_before_kib": before,
                "peak_rss_kib": resident_kib("VmHWM"),
                "traced_peak_kib": traced_peak // 1024 if trace else None,
                "seconds": round(seconds, 2),
                "file_bytes": file_bytes,
            }
        )
    )


# --- parent --------------------------------------------------------------------------------------


def run_worker(*arguments):
    command = [sys.executable, __file__, *arguments]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True, env={**os.environ})
    return json.loads(done.stdout.strip().splitlines()[-1])


def median(values):
    return round(data.median(values), 3)


def main():
    args = parse_args()
    if args.worker == "time":
        time_worker(args.size, args.rounds)
        return
    if args.worker == "memory":
        memory_worker(args.size, args.trace, args.path)
        return

    build_seconds = build(args.reuse)
    log(f"{DATABASE}: {line_count()} order lines")

    timing = run_worker("--worker", "time", "--size", "100k", "--rounds", str(args.rounds))
    export_s, floor_s = median(timing["seconds"]["export"]), median(timing["seconds"]["floor"])
    time_ratio = round(export_s / floor_s, 2)
    log(f"100k lines: export {export_s} s, floor {floor_s} s, ratio {time_ratio}")

    memory = {}
    for measurement, extra in (("rss", []), ("tracemalloc", ["--trace"]), ("job_rss", ["--path", "job"])):
        for _ in range(args.memory_runs):
            for size in LINES:
                report = run_worker("--worker", "memory", "--size", size, *extra)
                memory.setdefault(measurement, {}).setdefault(size, []).append(report)
                log(f"{measurement} {size}: {report}")

    def worst(measurement, size, key):
        return max(report[key] for report in memory[measurement][size])

    peaks = {size: worst("rss", size, "peak_rss_kib") for size in LINES}
    memory_ratio = round(peaks["100k"] / peaks["10k"], 3)
    job_peaks = {size: worst("job_rss", size, "peak_rss_kib") for size in LINES}
    traced = {size: worst("tracemalloc", size, "traced_peak_kib") for size in LINES}
    figures = {
        "aim": f"export <= {TIME_AIM} x floor; peak RSS at 100k lines <= {MEMORY_AIM} x at 10k",
        "aim_met": time_ratio <= TIME_AIM and memory_ratio <= MEMORY_AIM,
        "time": {
            "rows": timing["rows"],
            "columns": timing["columns"],
            "openpyxl": timing["openpyxl"],
            "openpyxl_uses_lxml": timing["openpyxl_uses_lxml"],
            "export_median_s": export_s,
            "floor_median_s": floor_s,
            "ratio": time_ratio,
            "csv_export_median_s": median(timing["seconds"]["csv_export"]),
            "rows_per_second": round(timing["rows"] / export_s),
            "samples_s": timing["seconds"],
            "file_bytes": timing["bytes"],
        },
        "memory": {
            "peak_rss_kib": peaks,
            "ratio": memory_ratio,
            "growth_above_start_kib": {
                size: worst("rss", size, "peak_rss_kib") - min(r["rss_before_kib"] for r in memory["rss"][size])
                for size in LINES
            },
            "tracemalloc_peak_kib": traced,
            "background_job_peak_rss_kib": job_peaks,
            "background_job_ratio": round(job_peaks["100k"] / job_peaks["10k"], 3),
            "runs": memory,
        },
        "build_seconds": build_seconds,
    }
    path = data.write_results(
        "export_orders",
        databases=[DATABASE],
        figures=figures,
        notes=(
            "One row per order line, 20 columns, as a superuser (full phone numbers). Times: medians of "
            f"{args.rounds} rounds after one warm-up round, export and floor alternating in one process, "
            "each writing to a temporary file. Memory: a fresh process per size and run; after a warm-up "
            "export the kernel's peak-RSS mark is reset (/proc/self/clear_refs), so VmHWM is the peak "
            "while exporting; tracemalloc figures come from separate runs. 'background_job' is the "
            "whole job (file written, read back and stored in the job row)."
        ),
    )
    log(f"memory peak RSS 10k {peaks['10k']} KiB, 100k {peaks['100k']} KiB, ratio {memory_ratio}")
    print(f"wrote {path}")
    if args.drop:
        data.drop_database(DATABASE)


if __name__ == "__main__":
    main()
