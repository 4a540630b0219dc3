"""Reading a marketplace's report through its import profile, against reading the same orders in our
own template: 50,000 order lines (20,000 orders of 1-4 lines, each to a real district somewhere
in China, its whole address in one cell for the marketplaces) written as our template (.xlsx), as
JD's one-file export (.xlsx) and as Taobao's order report plus items report (two GB18030 .csv
files). Each is read and grouped into orders the way the import's check does it before placing
them (`orders.importers.orders._read`), in alternating rounds; medians. Then, untimed for the
headline: splitting every whole address against China's divisions (`core.regions`).

    .venv/bin/python bench/import_profiles.py        # writes bench/results/import_profiles.json

Placing the orders is the same work whichever file they came from; bench/import_orders.py
measures it."""

import argparse
import csv
import io
import random
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402

DATABASE = "oc_import_profiles_bench"
ORDERS = 20_000
LINES = 50_000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--orders", type=int, default=ORDERS)
    parser.add_argument("--lines", type=int, default=LINES)
    return parser.parse_args()


def real_places(rng, count):
    """`count` (province, city, district) triples drawn from the divisions themselves."""
    from core import regions

    triples = []
    for province in regions.provinces():
        for city in regions.children(province.code):
            for district in regions.children(city.code) or [None]:
                triples.append((province.name, city.name, district.name if district else ""))
    return [rng.choice(triples) for _n in range(count)]


def build_orders(args):
    rng = random.Random(18)
    places = real_places(rng, args.orders)
    sizes = [1] * args.orders
    for _extra in range(args.lines - args.orders):
        sizes[rng.randrange(args.orders)] += 1
    orders = []
    for number, ((province, city, district), size) in enumerate(zip(places, sizes, strict=True), start=1):
        lines = [(f"SKU-{rng.randrange(60):04d}", rng.randint(1, 3), "25.00") for _line in range(size)]
        street = f"幸福路 {rng.randint(1, 999)} 号"
        orders.append(
            {
                "id": f"2600{number:012d}",
                "recipient": "王小明",
                "phone": f"139{rng.randrange(10**8):08d}",
                "region": (province, city, district),
                "street": street,
                "whole": f"{province}{city}{district}{street}",
                "lines": lines,
                "goods": sum(quantity * 25 for _sku, quantity, _price in lines),
            }
        )
    return orders


def xlsx(header, rows):
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def gb18030_csv(header, rows):
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(header)
    writer.writerows(rows)
    return output.getvalue().encode("gb18030")


def template_files(orders):
    header = ["channel", "channel_order_id", "recipient", "phone", "province", "city", "district", "address"]
    header += ["sku", "quantity", "unit_price", "payment_method", "paid_amount"]
    rows = [
        ["tmall", order["id"], order["recipient"], order["phone"], *order["region"], order["street"]]
        + [sku, quantity, price, "e_wallet", order["goods"]]
        for order in orders
        for sku, quantity, price in order["lines"]
    ]
    return [("template.xlsx", xlsx(header, rows))]


def jd_files(orders):
    from orders.importers.marketplaces import JD

    columns = JD["files"]["orders"]["columns"]
    header = list(columns)
    rows = []
    for order in orders:
        for sku, quantity, price in order["lines"]:
            values = {
                "channel_order_id": order["id"],
                "recipient": order["recipient"],
                "phone": order["phone"],
                "full_address": order["whole"],
                "sku": sku,
                "quantity": quantity,
                "unit_price": price,
                "payment_method": "在线支付",
                "status": "等待出库",
                "order_amount": order["goods"],
                "shipping_fee": "0.00",
            }
            rows.append([values.get(columns[name], "") for name in header])
    return [("jd-orders.xlsx", xlsx(header, rows))]


def taobao_files(orders):
    from orders.importers.marketplaces import TAOBAO

    order_columns, item_columns = (TAOBAO["files"][key]["columns"] for key in ("orders", "items"))
    order_header, item_header = list(order_columns), list(item_columns)
    order_rows, item_rows = [], []
    for order in orders:
        values = {
            "channel_order_id": f'="{order["id"]}"',
            "recipient": order["recipient"],
            "phone": order["phone"],
            "full_address": order["whole"],
            "status": "买家已付款，等待卖家发货",
            "order_amount": order["goods"],
            "shipping_fee": "0.00",
            "delivery": "快递",
        }
        order_rows.append([values.get(order_columns[name], "") for name in order_header])
        for sku, quantity, price in order["lines"]:
            line = {"channel_order_id": order["id"], "sku": sku, "quantity": quantity, "unit_price": price}
            item_rows.append([line.get(item_columns[name], "") for name in item_header])
    return [
        ("ExportOrderList.csv", gb18030_csv(order_header, order_rows)),
        ("ExportOrderDetailList.csv", gb18030_csv(item_header, item_rows)),
    ]


def read_once(kind, files):
    """Read and group the files as the import's check does; returns (seconds, orders, lines, problems)."""
    from core.spreadsheets import reading
    from core.spreadsheets.problems import Problems
    from orders.importers import mapping
    from orders.importers.columns import ORDER_COLUMNS
    from orders.importers.marketplaces import built_in_profile
    from orders.importers.orders import MAX_ROWS, _read

    started = time.perf_counter()
    problems = Problems()
    if kind == "template":
        (name, content), *_rest = files
        table = reading.Table(content, name, ORDER_COLUMNS, problems, max_rows=MAX_ROWS)
    else:
        table = mapping.MappedTable(files, built_in_profile(kind), "tmall", problems, max_rows=MAX_ROWS)
    read = _read(table)
    seconds = time.perf_counter() - started
    return seconds, len(read.orders), sum(len(order.lines) for order in read.orders), problems.count


def peak_mb(kind, files):
    tracemalloc.start()
    read_once(kind, files)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / (1024 * 1024)


def split_every_address(orders):
    from core import regions

    started = time.perf_counter()
    found = sum(regions.split_address(order["whole"]).region.code != "" for order in orders)
    seconds = time.perf_counter() - started
    exact = sum(
        (lambda split: (split.region.province, split.region.city, split.region.district) == order["region"])(
            regions.split_address(order["whole"])
        )
        for order in orders
    )
    return seconds, found, exact


def main():
    args = parse_args()
    data.use_database(DATABASE)
    orders = build_orders(args)
    files = {"template": template_files(orders), "jd": jd_files(orders), "taobao": taobao_files(orders)}
    sizes = {kind: sum(len(content) for _name, content in pair) for kind, pair in files.items()}
    seconds = {kind: [] for kind in files}
    outcome = {}
    for _kind in files:
        read_once(_kind, files[_kind])
    for _round in range(args.rounds):
        for kind, pair in files.items():
            took, found_orders, found_lines, problems = read_once(kind, pair)
            seconds[kind].append(took)
            outcome[kind] = {"orders": found_orders, "lines": found_lines, "problems": problems}
    medians = {kind: data.median(times) for kind, times in seconds.items()}
    split_seconds, split_found, split_exact = split_every_address(orders)
    figures = {
        "orders": args.orders,
        "lines": args.lines,
        "rounds": args.rounds,
        "file_bytes": sizes,
        "seconds": seconds,
        "median_seconds": medians,
        "lines_per_second": {kind: args.lines / median for kind, median in medians.items()},
        "ratio_to_template": {kind: medians[kind] / medians["template"] for kind in files},
        "peak_traced_mb": {kind: peak_mb(kind, pair) for kind, pair in files.items()},
        "read": outcome,
        "split_address": {
            "addresses": len(orders),
            "seconds": split_seconds,
            "microseconds_each": split_seconds / len(orders) * 1e6,
            "found_a_region": split_found,
            "all_three_levels_exact": split_exact,
        },
    }
    path = data.write_results("import_profiles", databases=[DATABASE], figures=figures)
    data.drop_database(DATABASE)
    for kind in files:
        print(
            f"{kind:9} median {medians[kind]:6.2f} s  ratio {figures['ratio_to_template'][kind]:4.2f}  "
            f"peak {figures['peak_traced_mb'][kind]:6.1f} MB  {outcome[kind]}"
        )
    print(f"split_address: {figures['split_address']}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
