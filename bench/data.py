"""Databases and data for the benchmarks. Each benchmark gets a database of its own, rebuilt from
nothing on every run (unless it is asked to reuse one), so a figure never depends on what an
earlier run left behind.

`use_database(name)` must run before anything imports Django models: it points the settings at the
database, recreates it, sets Django up and migrates."""

import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "bench" / "results"
SERVER_URL = os.environ.get("BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432")

if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))


def use_database(name, *, recreate=True):
    """Point Django at PostgreSQL database `name` (dropped and created afresh unless `recreate` is
    False and it exists), set Django up and migrate it."""
    import psycopg

    os.environ["DATABASE_URL"] = f"{SERVER_URL}/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # The test client's host; settings read it at import time.
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"

    with psycopg.connect(f"{SERVER_URL}/postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if recreate or not exists:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')

    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    # Measure the code as production runs it: no query log, no template debug information. Static
    # files keep the plain storage chosen at import (the manifest storage needs collectstatic).
    settings.DEBUG = False
    call_command("migrate", verbosity=0)


def drop_database(name):
    import psycopg
    from django.conf import settings

    if settings.configured:
        from django.db import connections

        connections.close_all()
    with psycopg.connect(f"{SERVER_URL}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def superuser(username="bench"):
    from django.contrib.auth.models import User

    user, _created = User.objects.get_or_create(
        username=username, defaults={"is_staff": True, "is_superuser": True, "email": f"{username}@example.com"}
    )
    return user


# --- a small shop, built through the services -------------------------------------------------


def build_catalogue(*, products=60, warehouses=3, stock_per_level=1_000_000):
    """Products priced 9.90 to 99.90 with `stock_per_level` units in each warehouse, received
    through inventory.services so the ledger is whole. Returns the products."""
    from core.actors import SYSTEM
    from inventory import services as inventory
    from inventory.models import Product, Warehouse

    houses = [
        Warehouse.objects.get_or_create(
            code=f"WH{number}", defaults={"name": f"Warehouse {number}", "priority": number}
        )[0]
        for number in range(1, warehouses + 1)
    ]
    catalogue = []
    for number in range(1, products + 1):
        product, _created = Product.objects.get_or_create(
            sku=f"BENCH-{number:04d}",
            defaults={
                "name": f"Bench product {number}",
                "barcode": f"690{number:010d}",
                "unit_price": Decimal("9.90") + Decimal(number % 10) * 10,
                "cost": Decimal("5.00"),
                "weight_kg": Decimal("0.400"),
            },
        )
        catalogue.append(product)
        for warehouse in houses:
            level = inventory.stock_level_for(product, warehouse)
            inventory.receive(stock_level_id=level.pk, quantity=stock_per_level, actor=SYSTEM, reference="bench stock")
    return catalogue


def channel(code="web", kind="web", name="Web shop"):
    from orders.models import Channel

    return Channel.objects.get_or_create(code=code, defaults={"name": name, "kind": kind})[0]


# --- a large order table, built with SQL ------------------------------------------------------

CHANNELS = [
    ("web", "Web shop", "web", 35),
    ("app", "App", "app", 30),
    ("marketplace", "Marketplace", "marketplace", 20),
    ("phone", "Phone", "phone", 5),
    ("store", "Store", "store", 4),
    ("api", "API", "api", 4),
    ("excel", "Excel upload", "excel", 2),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红娥建华文辉力鹏宇浩然子涵欣怡梓轩一诺"
PLACES = [
    ("北京市", "北京市", ["朝阳区", "海淀区", "东城区", "丰台区"], "100000"),
    ("上海市", "上海市", ["浦东新区", "徐汇区", "静安区", "闵行区"], "200000"),
    ("广东省", "广州市", ["天河区", "越秀区", "海珠区", "番禺区"], "510000"),
    ("广东省", "深圳市", ["南山区", "福田区", "宝安区", "龙岗区"], "518000"),
    ("浙江省", "杭州市", ["西湖区", "上城区", "滨江区", "余杭区"], "310000"),
    ("江苏省", "南京市", ["鼓楼区", "玄武区", "秦淮区", "建邺区"], "210000"),
    ("江苏省", "苏州市", ["姑苏区", "虎丘区", "吴中区", "相城区"], "215000"),
    ("四川省", "成都市", ["武侯区", "锦江区", "青羊区", "成华区"], "610000"),
    ("湖北省", "武汉市", ["武昌区", "江汉区", "洪山区", "汉阳区"], "430000"),
    ("陕西省", "西安市", ["雁塔区", "碑林区", "未央区", "长安区"], "710000"),
    ("山东省", "济南市", ["历下区", "市中区", "槐荫区", "天桥区"], "250000"),
    ("福建省", "厦门市", ["思明区", "湖里区", "集美区", "海沧区"], "361000"),
]
STREETS = ["人民路", "解放路", "中山路", "建设路", "文三路", "长江路", "和平路", "新华路", "科技路", "滨河路"]
# A phone the benchmarks search for; customer 1 has it.
KNOWN_PHONE = "+8613800138000"


def _sql_text_array(values):
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"


def six_digits_sql(id_sql):
    """SQL for a row id in at least six digits, as numbers show it (Python's {id:06d}); lpad alone
    would cut a seventh digit off."""
    return f"lpad({id_sql}::text, greatest(6, length({id_sql}::text)), '0')"


def build_orders_sql(*, orders, customers, shipments=True, years=2, days_ago=0, finished=False, log=print):
    """Add to the order tables fast with INSERT ... SELECT generate_series: `customers` customers
    (the first has KNOWN_PHONE unless a customer has it already), `orders` orders spread over the
    last `years` years with a realistic mix of channel, status, payment method and payment status,
    and (if `shipments`) one shipment with a tracking number for every order that has left the
    warehouse. No order lines: list pages do not read them. `days_ago` moves the whole span back
    (the orders end that many days ago); `finished` makes every order completed or cancelled, as
    orders old enough for the archive are. Ends with VACUUM (ANALYZE), as autovacuum would have
    left a table in use. Returns seconds per step."""
    from django.db import connection

    timings = {}
    started = time.perf_counter()

    def step(label, sql, params=None):
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        timings[label] = round(time.perf_counter() - began, 1)
        log(f"  {label}: {timings[label]} s")

    bulk_load_settings = {"synchronous_commit": "off", "maintenance_work_mem": "256MB", "work_mem": "64MB"}
    with connection.cursor() as cursor:
        for setting, value in bulk_load_settings.items():
            cursor.execute(f"SET {setting} = '{value}'")
    try:
        _fill(
            step,
            orders=orders,
            customers=customers,
            shipments=shipments,
            years=years,
            days_ago=days_ago,
            finished=finished,
        )
    finally:
        # The connection goes on to be measured: give it back the server's settings.
        with connection.cursor() as cursor:
            for setting in bulk_load_settings:
                cursor.execute(f"RESET {setting}")
    timings["total"] = round(time.perf_counter() - started, 1)
    return timings


def _fill(step, *, orders, customers, shipments, years, days_ago=0, finished=False):
    from django.db import connection

    from inventory.models import Warehouse
    from logistics.models import Carrier

    channel_weights = []
    for code, name, kind, weight in CHANNELS:
        channel_weights.append((channel(code, kind, name).pk, weight))
    # Channel chosen by cumulative weight: a CASE over one random number per order.
    cumulative, channel_case = 0, []
    for pk, weight in channel_weights:
        cumulative += weight
        channel_case.append(f"WHEN r_channel * 100 < {cumulative} THEN {pk}")
    channel_sql = "CASE " + " ".join(channel_case) + f" ELSE {channel_weights[0][0]} END"

    provinces = _sql_text_array([p[0] for p in PLACES])
    cities = _sql_text_array([p[1] for p in PLACES])
    postcodes = _sql_text_array([p[3] for p in PLACES])
    districts = _sql_text_array([d for p in PLACES for d in p[2]])
    streets = _sql_text_array(STREETS)
    surnames = _sql_text_array(list(SURNAMES))
    given = _sql_text_array(list(GIVEN))

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM orders_customer")
        customer_base = cursor.fetchone()[0]
        cursor.execute("SELECT coalesce(max(id), 0) FROM orders_order")
        order_base = cursor.fetchone()[0]

    step(
        "customers",
        f"""
        INSERT INTO orders_customer (id, phone, name, email, created_at)
        SELECT id,
               CASE WHEN g = 1 THEN %s ELSE '+861' || (ARRAY['30','31','32','33','35','36','37','38','39',
                    '50','51','52','55','56','57','58','59','66','77','80','81','82','83','86','87','88','89'])
                    [1 + (id * 7919) %% 27] || lpad(((id * 104729 + 12345) %% 100000000)::text, 8, '0') END,
               ({surnames})[1 + (id * 31) %% {len(SURNAMES)}] || ({given})[1 + (id * 17) %% {len(GIVEN)}]
                   || CASE WHEN id %% 3 = 0 THEN ({given})[1 + (id * 13) %% {len(GIVEN)}] ELSE '' END,
               CASE WHEN id %% 4 = 0 THEN 'c' || id || '@example.com' ELSE '' END,
               now() - interval '{years * 365} days' * random()
        FROM generate_series(1, %s) AS g, LATERAL (SELECT ({customer_base} + g)::bigint AS id) AS numbered
        ON CONFLICT (phone) DO NOTHING
    """,
        [KNOWN_PHONE, customers],
    )
    # A phone that was taken already is skipped, so the new customers are numbered afresh.
    step(
        "customer numbering",
        f"""
        CREATE TEMPORARY TABLE bench_customer AS
        SELECT row_number() OVER (ORDER BY id) AS n, id, name, phone
        FROM orders_customer WHERE id > {customer_base}
    """,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_customer")
        customers = cursor.fetchone()[0]
    if not customers:
        raise RuntimeError("no new customer could be added: every generated phone was taken")
    step(
        "customer sequence",
        "SELECT setval(pg_get_serial_sequence('orders_customer', 'id'), (SELECT max(id) FROM orders_customer))",
    )

    # Age decides how far an order got: the last days hold the open work, older orders are
    # mostly completed, some cancelled, a few stuck in delivery.
    ended_at = f"(now() - interval '{int(days_ago)} days')"
    finished_sql = "true" if finished else "false"
    step(
        "orders",
        rf"""
        WITH drawn AS (
            SELECT {order_base} + g AS id,
                   {ended_at} - interval '{years * 365} days' * power(random(), 1.3) AS placed_at,
                   random() AS r_channel, random() AS r_status, random() AS r_pay,
                   1 + floor(random() * %(customers)s)::int AS customer_n,
                   1 + floor(random() * {len(PLACES)})::int AS place,
                   (1 + floor(random() * 600))::numeric * 4.9 AS subtotal
            FROM generate_series(1, %(orders)s) AS g
        ), staged AS (
            SELECT d.*,
                   CASE
                     WHEN {finished_sql} AND d.r_status < 0.93 THEN 'completed'
                     WHEN {finished_sql} THEN 'cancelled'
                     WHEN d.placed_at > {ended_at} - interval '1 day' THEN
                       (ARRAY['pending','on_hold','confirmed','confirmed','picking','packed','shipped','cancelled'])
                       [1 + floor(d.r_status * 8)::int]
                     WHEN d.placed_at > {ended_at} - interval '4 days' THEN
                       (ARRAY['on_hold','confirmed','picking','packed','partially_shipped','shipped','shipped',
                              'shipped','delivered','cancelled'])[1 + floor(d.r_status * 10)::int]
                     WHEN d.placed_at > {ended_at} - interval '14 days' THEN
                       (ARRAY['shipped','delivered','delivered','completed','completed','completed','completed',
                              'completed','completed','cancelled'])[1 + floor(d.r_status * 10)::int]
                     WHEN d.r_status < 0.92 THEN 'completed'
                     WHEN d.r_status < 0.985 THEN 'cancelled'
                     WHEN d.r_status < 0.995 THEN 'delivered'
                     ELSE 'shipped'
                   END AS status,
                   (ARRAY['e_wallet','e_wallet','e_wallet','e_wallet','card','card','cod','cod','bank_transfer',
                          'instalments'])[1 + floor(d.r_pay * 10)::int] AS payment_method,
                   CASE WHEN d.subtotal >= 99 THEN 0 ELSE 10 END AS shipping_fee
            FROM drawn d
        ), priced AS (
            SELECT s.*,
                   s.subtotal + s.shipping_fee AS total,
                   s.status IN ('picking','packed','partially_shipped','shipped','delivered','completed')
                       OR (s.status = 'confirmed') AS was_confirmed,
                   s.status IN ('partially_shipped','shipped','delivered','completed') AS was_shipped,
                   CASE
                     WHEN s.payment_method = 'cod' THEN s.status IN ('delivered','completed')
                     ELSE s.status <> 'pending' AND NOT (s.status = 'on_hold' AND s.r_pay > 0.5)
                   END AS paid
            FROM staged s
        )
        INSERT INTO orders_order (
            id, number, channel_id, channel_order_id, customer_id, status,
            recipient, phone, province, city, district, address, postcode, address_key,
            delivery_window_start, delivery_window_end, special_instructions,
            currency, subtotal, shipping_fee, discount, total, payment_method, payment_status,
            amount_paid, amount_refunded, refund_due, risk_score, hold_reasons,
            placed_at, confirmed_at, picking_at, packed_at, shipped_at, delivered_at, completed_at, cancelled_at,
            updated_at, created_by_id, express_requested, language, manual_hold_reason
        )
        SELECT p.id,
               'OC' || to_char(p.placed_at AT TIME ZONE 'Asia/Shanghai', 'YYMMDD') || '-' || {six_digits_sql("p.id")},
               {channel_sql},
               'CH-' || p.id,
               c.id, p.status,
               c.name, c.phone,
               ({provinces})[p.place], ({cities})[p.place],
               ({districts})[(p.place - 1) * 4 + 1 + p.id %% 4],
               ({streets})[1 + p.id %% {len(STREETS)}] || ' ' || (1 + p.id %% 300) || ' 号 ' || (1 + p.id %% 30)
                   || ' 栋 ' || (101 + p.id %% 2000) || ' 室',
               ({postcodes})[p.place],
               regexp_replace(lower(concat_ws('/',
                   ({provinces})[p.place], ({cities})[p.place],
                   ({districts})[(p.place - 1) * 4 + 1 + p.id %% 4],
                   ({streets})[1 + p.id %% {len(STREETS)}] || (1 + p.id %% 300) || '号' || (1 + p.id %% 30)
                       || '栋' || (101 + p.id %% 2000) || '室')), '\s', '', 'g'),
               NULL, NULL,
               CASE WHEN p.id %% 20 = 0 THEN '易碎品，请小心轻放' ELSE '' END,
               'CNY', p.subtotal, p.shipping_fee, 0, p.total, p.payment_method,
               CASE WHEN p.paid THEN 'paid' ELSE 'unpaid' END,
               CASE WHEN p.paid THEN p.total ELSE 0 END,
               0,
               CASE WHEN p.status = 'cancelled' AND p.paid THEN p.total ELSE 0 END,
               CASE WHEN p.status = 'on_hold' THEN 60 WHEN p.total > 2000 THEN 40 ELSE 0 END,
               CASE WHEN p.status = 'on_hold'
                    THEN '[{{"code": "repeat_phone", "params": {{"count": "4", "hours": "24"}}}}]'::jsonb
                    ELSE '[]'::jsonb END,
               p.placed_at,
               CASE WHEN p.was_confirmed THEN least(p.placed_at + interval '5 minutes', {ended_at}) END,
               CASE WHEN p.status IN ('picking','packed','partially_shipped','shipped','delivered','completed')
                    THEN least(p.placed_at + interval '3 hours', {ended_at}) END,
               CASE WHEN p.status IN ('packed','partially_shipped','shipped','delivered','completed')
                    THEN least(p.placed_at + interval '5 hours', {ended_at}) END,
               CASE WHEN p.was_shipped THEN least(p.placed_at + interval '8 hours', {ended_at}) END,
               CASE WHEN p.status IN ('delivered','completed') THEN least(p.placed_at + interval '2 days', {ended_at}) END,
               CASE WHEN p.status = 'completed' THEN least(p.placed_at + interval '9 days', {ended_at}) END,
               CASE WHEN p.status = 'cancelled' THEN least(p.placed_at + interval '2 hours', {ended_at}) END,
               least(p.placed_at + interval '9 days', {ended_at}),
               NULL, false, '', ''
        FROM priced p JOIN bench_customer c ON c.n = p.customer_n
    """,
        {"orders": orders, "customers": customers},
    )
    step("drop customer numbering", "DROP TABLE bench_customer")
    step(
        "order sequence",
        "SELECT setval(pg_get_serial_sequence('orders_order', 'id'), (SELECT max(id) FROM orders_order))",
    )

    if shipments:
        carriers = [
            Carrier.objects.get_or_create(code=code, defaults={"name": name})[0].pk
            for code, name in [
                ("sf", "SF Express"),
                ("zto", "ZTO Express"),
                ("yto", "YTO Express"),
                ("jd", "JD Logistics"),
            ]
        ]
        houses = [
            Warehouse.objects.get_or_create(code=f"WH{n}", defaults={"name": f"Warehouse {n}", "priority": n})[0].pk
            for n in (1, 2, 3)
        ]
        step(
            "shipments",
            f"""
            INSERT INTO logistics_shipment (order_id, warehouse_id, carrier_id, tracking_number, status,
                                            shipped_at, delivered_at, dispatched_by_id, exception_kind,
                                            service_reason, created_at, purpose)
            SELECT o.id,
                   (ARRAY{houses})[1 + o.id %% {len(houses)}],
                   (ARRAY{carriers})[1 + o.id %% {len(carriers)}],
                   'TN' || lpad(o.id::text, 12, '0'),
                   CASE WHEN o.delivered_at IS NULL THEN 'shipped' ELSE 'delivered' END,
                   o.shipped_at, o.delivered_at, NULL, '', '', o.shipped_at, 'order'
            FROM orders_order o
            WHERE o.shipped_at IS NOT NULL AND o.id > {order_base}
        """,
            [],
        )

    # A table filled over two years has been vacuumed (visibility map set, so index-only scans
    # work) and analyzed by autovacuum; a table filled a minute ago has neither.
    step("vacuum analyze", "VACUUM (ANALYZE)")


# --- measuring and writing results -------------------------------------------------------------


def median(values):
    return statistics.median(values)


def server_version():
    import psycopg

    with psycopg.connect(f"{SERVER_URL}/postgres") as admin:
        return admin.execute("SHOW server_version").fetchone()[0]


def write_results(name, *, databases, figures, notes=""):
    """Write bench/results/<name>.json (via a temporary file, so a run cut short leaves the last
    good figures in place) and return its path."""
    import json

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "database": {"engine": "postgresql", "server_version": server_version(), "names": databases},
        "figures": figures,
        "notes": notes,
    }
    path = RESULTS_DIR / f"{name}.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path
