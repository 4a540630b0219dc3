"""Dashboard: the manager's front page (/admin/) for the last 30 days with 1,000,000 orders against the
same page with 10,000 orders, unfiltered and filtered to one channel and one warehouse. Aim: at most
1.5x; the dashboard reads daily rollups, so its cost must not grow with the order table.

    .venv/bin/python bench/dashboard.py          # writes bench/results/dashboard.json

Each size lives in its own database: orders and customers from bench/data.py, then their lines,
events, payments and parcels, and the after-sales records (returns, complaint tickets, ratings,
refunds) the dashboard counts, written here with SQL as the services would have left them, then
`rebuild_rollups` computes the rollups from those records (its time is reported too). Each size is
served by its own worker process; the parent asks the two in alternating rounds, so load from other
work on the machine falls on both alike, and reports medians. `--reuse` keeps databases from an
earlier run when they hold the right number of orders; `--drop` removes them afterwards."""

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402

SIZES = {
    "small": {"database": "oc_dash_bench_10k", "orders": 10_000, "customers": 2_000},
    "big": {"database": "oc_dash_bench_1m", "orders": 1_000_000, "customers": 200_000},
}
STAFF = 12
AIM = 1.5
AFTER_SALES_TABLES = [
    "aftersales_returnrequest",
    "aftersales_returnline",
    "aftersales_ticket",
    "aftersales_feedback",
    "orders_refund",
    "logistics_shipmentline",
]


def views(channel_id, warehouse_id):
    return {
        "30_days": "/admin/?" + urlencode({"range": "30d"}),
        "30_days_channel_warehouse": "/admin/?"
        + urlencode({"range": "30d", "channel": channel_id, "warehouse": warehouse_id}),
    }


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests-per-round", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="keep databases that already hold the data")
    parser.add_argument("--drop", action="store_true", help="drop both databases at the end")
    parser.add_argument("--worker", choices=SIZES, help=argparse.SUPPRESS)
    return parser.parse_args()


def log(message):
    print(message, file=sys.stderr, flush=True)


# --- the rest of each order's story, in SQL -------------------------------------------------------


def _step(label, sql, params, timings):
    from django.db import connection

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    timings[label] = round(time.perf_counter() - began, 1)
    log(f"  {label}: {timings[label]} s")


def fill_order_stories(timings):
    """Lines (1 to 3 catalogue products), the event log each order's status and stage times imply (a
    tenth of the orders held and approved first), a payment for what each has paid, and a parcel
    from one of three warehouses for each order that left, packed and dispatched by bench staff,
    promised for two to four days after dispatch (some a day only, so some arrive late), carrying
    all of the order's lines."""
    from inventory.models import Product

    staff_sql = _bench_staff_sql()
    products = list(Product.objects.filter(sku__startswith="BENCH-").order_by("pk").values_list("pk", flat=True))
    houses = _bench_houses()

    _step(
        "order lines",
        f"""
        INSERT INTO orders_orderline (order_id, product_id, sku, name, quantity, unit_price, line_total,
                                          is_gift, bundle_sku, bundle_name)
        SELECT o.id, p.id, p.sku, p.name, q.quantity, p.unit_price, q.quantity * p.unit_price, false, '', ''
        FROM orders_order o
        CROSS JOIN LATERAL generate_series(1, 1 + o.id % 3) AS n
        CROSS JOIN LATERAL (SELECT (ARRAY{products})[1 + (o.id * 7 + n * 13) % {len(products)}] AS product_id,
                                   1 + (o.id + n) % 3 AS quantity) AS q
        JOIN inventory_product p ON p.id = q.product_id
    """,
        None,
        timings,
    )

    held_first = "(o.id % 10 = 0 AND o.confirmed_at IS NOT NULL)"
    _step(
        "order events",
        f"""
        INSERT INTO orders_orderevent (order_id, from_status, to_status, transition, actor_id, reason, created_at)
        SELECT o.id, 'pending', 'on_hold', 'hold', NULL, '', o.placed_at
        FROM orders_order o WHERE o.status = 'on_hold' OR {held_first}
        UNION ALL
        SELECT o.id, 'on_hold', 'confirmed', 'approve', {staff_sql}[1 + o.id % 2], '', o.confirmed_at
        FROM orders_order o WHERE {held_first}
        UNION ALL
        SELECT o.id, 'pending', 'confirmed', 'confirm', NULL, '', coalesce(o.confirmed_at, o.placed_at)
        FROM orders_order o
        WHERE (o.confirmed_at IS NOT NULL AND NOT {held_first}) OR o.status = 'cancelled'
        UNION ALL
        SELECT o.id, 'confirmed', 'cancelled', 'cancel', {staff_sql}[3], 'customer asked', o.cancelled_at
        FROM orders_order o WHERE o.status = 'cancelled'
        UNION ALL
        SELECT o.id, 'confirmed', 'picking', 'start_picking', {staff_sql}[4 + o.id % 3], '', o.picking_at
        FROM orders_order o WHERE o.picking_at IS NOT NULL
        UNION ALL
        SELECT o.id, 'picking', 'packed', 'mark_packed', {staff_sql}[4 + o.id % 3], '', o.packed_at
        FROM orders_order o WHERE o.packed_at IS NOT NULL
        UNION ALL
        SELECT o.id, 'packed', CASE WHEN o.status = 'partially_shipped' THEN 'partially_shipped' ELSE 'shipped' END,
               'ship', {staff_sql}[7 + o.id % 3], '', o.shipped_at
        FROM orders_order o WHERE o.shipped_at IS NOT NULL
        UNION ALL
        SELECT o.id, 'shipped', 'delivered', 'deliver', NULL, '', o.delivered_at
        FROM orders_order o WHERE o.delivered_at IS NOT NULL
        UNION ALL
        SELECT o.id, 'delivered', 'completed', 'complete', {staff_sql}[10], '', o.completed_at
        FROM orders_order o WHERE o.completed_at IS NOT NULL
    """,
        None,
        timings,
    )

    _step(
        "payments",
        """
        INSERT INTO orders_payment (order_id, method, amount, reference, status, created_at, recorded_by_id)
        SELECT o.id, o.payment_method, o.amount_paid, '', 'captured',
               coalesce(CASE WHEN o.payment_method = 'cod' THEN o.delivered_at END, o.placed_at), NULL
        FROM orders_order o WHERE o.amount_paid > 0
    """,
        None,
        timings,
    )

    carrier = _bench_carrier()
    _step(
        "shipments",
        f"""
        INSERT INTO logistics_shipment (order_id, warehouse_id, carrier_id, tracking_number, status, exception_kind,
                                        service_reason, created_at, packed_at, packed_by_id, shipped_at,
                                        dispatched_by_id, expected_delivery_on, delivered_at, purpose)
        SELECT o.id, (ARRAY{houses})[1 + o.id % {len(houses)}], {carrier}, 'TN' || lpad(o.id::text, 12, '0'),
               CASE WHEN o.delivered_at IS NULL THEN 'shipped' ELSE 'delivered' END, '', 'cheapest',
               coalesce(o.picking_at, o.shipped_at), coalesce(o.packed_at, o.shipped_at),
               {staff_sql}[4 + o.id % 3], o.shipped_at, {staff_sql}[7 + o.id % 3],
               (o.shipped_at AT TIME ZONE 'Asia/Shanghai')::date + (CASE WHEN o.id % 7 = 0 THEN 1 ELSE 2 + o.id % 3 END)::int,
               o.delivered_at, 'order'
        FROM orders_order o WHERE o.shipped_at IS NOT NULL
    """,
        None,
        timings,
    )
    # Marketplace orders carry a ship-by time (docs/architecture.md, "Ship-by deadlines"), one in ten
    # missed, so the dashboard's on-time dispatch table has rows to read.
    _step(
        "ship-by times",
        """
        UPDATE orders_order o
        SET dispatch_due_at = o.placed_at + CASE WHEN o.id % 10 = 0 THEN interval '4 hours' ELSE interval '48 hours' END
        FROM orders_channel c WHERE c.id = o.channel_id AND c.kind = 'marketplace'
    """,
        None,
        timings,
    )
    _step(
        "shipment lines",
        """
        INSERT INTO logistics_shipmentline (shipment_id, order_line_id, quantity, packed_quantity)
        SELECT s.id, l.id, l.quantity, l.quantity
        FROM logistics_shipment s JOIN orders_orderline l ON l.order_id = s.order_id
    """,
        None,
        timings,
    )


def fill_packing(timings):
    """The packing station's records of each parcel: its first scan two to nine minutes before it
    was closed, and one refused scan (a wrong item put aside) for one parcel in thirty, the packer's."""
    _step(
        "first scans",
        """
        UPDATE logistics_shipment SET packing_started_at = packed_at - interval '1 minute' * (2 + id % 8)
        WHERE packed_at IS NOT NULL
    """,
        None,
        timings,
    )
    _step(
        "refused scans",
        """
        INSERT INTO logistics_packingscanrefusal (scanned_by_id, scanned_at, code, quantity, shipment_id,
                                                  order_number, warehouse_id, reason)
        SELECT s.packed_by_id, s.packing_started_at + interval '1 minute', 'WRONG-' || s.id, 1, s.id,
               o.number, s.warehouse_id, 'not_in_order'
        FROM logistics_shipment s JOIN orders_order o ON o.id = s.order_id
        WHERE s.packing_started_at IS NOT NULL AND s.id % 30 = 0
    """,
        None,
        timings,
    )


def fill_after_sales(timings):
    """After-sales records at the shares a shop sees, each dated after what it is about and in a
    state that fits its age (the last days hold the open work, older cases are mostly closed):
    returns of about 3 % of delivered orders, asked 1 to 10 days after delivery (some after the
    7-day window, let in by a manager), one line each, a fifth of them for a wrong item; complaint
    tickets about 1.5 % of orders, some still unanswered past their deadline; ratings of a fifth of
    delivered orders, mostly 4 or 5; and refunds of about 2 % of paid orders against their captured
    payment (the whole payment when the order was cancelled), with each order's refunded and owed
    amounts and payment status brought in line, as the services would have left them. Ends with
    VACUUM (ANALYZE)."""
    staff_sql = _bench_staff_sql()
    service, finance = f"{staff_sql}[11]", f"{staff_sql}[12]"
    houses = _bench_houses()
    local_day = "to_char({} AT TIME ZONE 'Asia/Shanghai', 'YYMMDD')"
    # Each step of a case follows the one before by a while, but none lies in the future.
    after = "least({} + interval '{}', now())"
    # Without statistics on the lines and payments just written, the planner walks their primary
    # keys to find an order's first one: hours at a million orders instead of seconds.
    _step("analyze", "ANALYZE", None, timings)

    _step(
        "returns and their lines",
        f"""
        WITH drawn AS (
            SELECT o.id AS order_id, o.delivered_at,
                   o.delivered_at + interval '1 day' + interval '9 days' * random() AS created_at,
                   random() AS r_status, random() AS r_outcome, random() AS r_reason, random() AS r_quantity,
                   line.id AS line_id, line.quantity AS line_quantity, line.unit_price
            FROM (SELECT * FROM orders_order WHERE status IN ('delivered', 'completed') AND random() < 0.03) AS o
            CROSS JOIN LATERAL (SELECT l.id, l.quantity, l.unit_price FROM orders_orderline l
                                WHERE l.order_id = o.id ORDER BY l.id LIMIT 1) AS line
        ), staged AS (
            SELECT d.*, nextval(pg_get_serial_sequence('aftersales_returnrequest', 'id')) AS id,
                   CASE
                     WHEN d.created_at > now() - interval '3 days' THEN CASE
                       WHEN d.r_status < 0.40 THEN 'requested' WHEN d.r_status < 0.65 THEN 'approved'
                       WHEN d.r_status < 0.75 THEN 'rejected' WHEN d.r_status < 0.90 THEN 'received'
                       ELSE 'inspected' END
                     WHEN d.created_at > now() - interval '14 days' THEN CASE
                       WHEN d.r_status < 0.05 THEN 'requested' WHEN d.r_status < 0.15 THEN 'approved'
                       WHEN d.r_status < 0.30 THEN 'received' WHEN d.r_status < 0.45 THEN 'inspected'
                       WHEN d.r_status < 0.65 THEN 'resolved' WHEN d.r_status < 0.85 THEN 'closed'
                       ELSE 'rejected' END
                     ELSE CASE
                       WHEN d.r_status < 0.005 THEN 'approved' WHEN d.r_status < 0.01 THEN 'received'
                       WHEN d.r_status < 0.02 THEN 'inspected' WHEN d.r_status < 0.06 THEN 'resolved'
                       WHEN d.r_status < 0.88 THEN 'closed' ELSE 'rejected' END
                   END AS status,
                   CASE WHEN d.r_outcome < 0.70 THEN 'refund' WHEN d.r_outcome < 0.90 THEN 'exchange'
                        ELSE 'repair' END AS outcome,
                   CASE WHEN d.r_reason < 0.20 THEN 'wrong_item' WHEN d.r_reason < 0.45 THEN 'quality'
                        WHEN d.r_reason < 0.60 THEN 'damaged_in_transit' WHEN d.r_reason < 0.75 THEN 'not_as_described'
                        ELSE 'changed_mind' END AS reason,
                   1 + floor(d.r_quantity * d.line_quantity)::int AS quantity,
                   (d.created_at AT TIME ZONE 'Asia/Shanghai')::date
                       <= (d.delivered_at AT TIME ZONE 'Asia/Shanghai')::date + 7 AS within_window
            FROM drawn d
            WHERE d.created_at < now()
        ), timed AS (
            SELECT s.*,
                   s.status IN ('approved', 'received', 'inspected', 'resolved', 'closed') AS was_approved,
                   s.status IN ('received', 'inspected', 'resolved', 'closed') AS was_received,
                   s.status IN ('inspected', 'resolved', 'closed') AS was_inspected,
                   s.status IN ('resolved', 'closed') AS was_resolved,
                   {after.format("s.created_at", "12 hours")} AS approved_at,
                   {after.format("s.created_at", "2 days 12 hours")} AS received_at,
                   {after.format("s.created_at", "3 days")} AS inspected_at,
                   {after.format("s.created_at", "4 days")} AS resolved_at,
                   {after.format("s.created_at", "6 days")} AS closed_at
            FROM staged s
        ), cases AS (
            INSERT INTO aftersales_returnrequest (
                id, number, order_id, status, wanted_outcome, resolution, customer_note, rejection_reason,
                channel_reference, channel_id, delivered_at, window_days, within_window, window_override_reason,
                warehouse_id, refund_amount, refund_includes_shipping, requested_by_id, created_at,
                approved_at, received_at, inspected_at, resolved_at, closed_at, updated_at
            )
            SELECT t.id, 'RMA' || {local_day.format("t.created_at")} || '-' || {data.six_digits_sql("t.id")},
                   t.order_id, t.status, t.outcome, CASE WHEN t.was_resolved THEN t.outcome ELSE '' END,
                   (ARRAY['颜色和图片不一样，想退货', '尺码偏小', '收到就坏了', '发错了型号', ''])[1 + t.id % 5],
                   CASE WHEN t.status = 'rejected' THEN '商品已拆封使用，不符合退货条件' ELSE '' END,
                   '', (SELECT o.channel_id FROM orders_order o WHERE o.id = t.order_id), t.delivered_at, 7,
                   t.within_window,
                   CASE WHEN t.within_window THEN '' ELSE '质量问题，经理同意受理' END,
                   CASE WHEN t.was_received THEN (ARRAY{houses})[1 + t.order_id % {len(houses)}] END,
                   CASE WHEN t.outcome = 'refund' AND t.was_inspected THEN t.quantity * t.unit_price END,
                   false, CASE WHEN t.id % 4 = 0 THEN NULL ELSE {service} END, t.created_at,
                   CASE WHEN t.was_approved THEN t.approved_at END,
                   CASE WHEN t.was_received THEN t.received_at END,
                   CASE WHEN t.was_inspected THEN t.inspected_at END,
                   CASE WHEN t.was_resolved THEN t.resolved_at END,
                   CASE WHEN t.status = 'closed' THEN t.closed_at
                        WHEN t.status = 'rejected' THEN t.approved_at END,
                   CASE t.status WHEN 'requested' THEN t.created_at WHEN 'approved' THEN t.approved_at
                        WHEN 'rejected' THEN t.approved_at WHEN 'received' THEN t.received_at
                        WHEN 'inspected' THEN t.inspected_at WHEN 'resolved' THEN t.resolved_at
                        ELSE t.closed_at END
            FROM timed t
            RETURNING id
        )
        INSERT INTO aftersales_returnline (return_request_id, order_line_id, quantity, reason, note,
                                           received_quantity, resellable_quantity, damaged_quantity, inspection_note)
        SELECT t.id, t.line_id, t.quantity, t.reason, '',
               CASE WHEN t.was_received THEN t.quantity ELSE 0 END,
               CASE WHEN t.was_inspected AND t.reason NOT IN ('quality', 'damaged_in_transit') THEN t.quantity
                    ELSE 0 END,
               CASE WHEN t.was_inspected AND t.reason IN ('quality', 'damaged_in_transit') THEN t.quantity ELSE 0 END,
               CASE WHEN t.was_inspected AND t.reason IN ('quality', 'damaged_in_transit') THEN '不能再售' ELSE '' END
        FROM timed t JOIN cases c ON c.id = t.id
    """,
        None,
        timings,
    )

    _step(
        "tickets",
        f"""
        WITH drawn AS (
            SELECT o.id AS order_id, o.customer_id, o.channel_id, s.id AS shipment_id,
                   coalesce(o.delivered_at, o.shipped_at, o.placed_at) + interval '1 hour'
                       + interval '5 days' * random() AS created_at,
                   random() AS r_category, random() AS r_severity, random() AS r_status
            FROM (SELECT * FROM orders_order WHERE random() < 0.015) AS o
            LEFT JOIN logistics_shipment s ON s.order_id = o.id AND s.purpose = 'order'
        ), staged AS (
            SELECT d.*, nextval(pg_get_serial_sequence('aftersales_ticket', 'id')) AS id,
                   CASE WHEN d.r_category < 0.20 THEN 'quality' WHEN d.r_category < 0.45 THEN 'late_delivery'
                        WHEN d.r_category < 0.60 THEN 'wrong_item' WHEN d.r_category < 0.75 THEN 'damage'
                        WHEN d.r_category < 0.90 THEN 'service' ELSE 'other' END AS category,
                   CASE WHEN d.r_severity < 0.10 THEN 'urgent' WHEN d.r_severity < 0.40 THEN 'high'
                        ELSE 'normal' END AS severity,
                   CASE
                     WHEN d.created_at > now() - interval '14 days' THEN CASE
                       WHEN d.r_status < 0.25 THEN 'open' WHEN d.r_status < 0.50 THEN 'in_progress'
                       WHEN d.r_status < 0.65 THEN 'waiting_customer' WHEN d.r_status < 0.80 THEN 'resolved'
                       ELSE 'closed' END
                     ELSE CASE
                       WHEN d.r_status < 0.02 THEN 'open' WHEN d.r_status < 0.04 THEN 'in_progress'
                       WHEN d.r_status < 0.05 THEN 'waiting_customer' WHEN d.r_status < 0.15 THEN 'resolved'
                       ELSE 'closed' END
                   END AS status
            FROM drawn d
            WHERE d.created_at < now()
        ), timed AS (
            SELECT s.*,
                   s.created_at + interval '1 hour' * CASE s.severity WHEN 'urgent' THEN 4 WHEN 'high' THEN 24
                                                                     ELSE 72 END AS respond_by,
                   {after.format("s.created_at", "2 hours")} AS answered_at,
                   {after.format("s.created_at", "2 days")} AS resolved_at,
                   {after.format("s.created_at", "5 days")} AS closed_at,
                   s.status IN ('resolved', 'closed') AS was_resolved
            FROM staged s
        )
        INSERT INTO aftersales_ticket (
            id, number, subject, description, category, severity, status, source, order_id, shipment_id,
            return_request_id, customer_id, channel_id, assigned_to_id, respond_by, first_response_at, root_cause,
            corrective_action, opened_by_id, created_at, resolved_at, closed_at, updated_at
        )
        SELECT t.id, 'T' || {local_day.format("t.created_at")} || '-' || {data.six_digits_sql("t.id")},
               CASE t.category WHEN 'quality' THEN '商品有质量问题' WHEN 'late_delivery' THEN '物流太慢，催了几次'
                    WHEN 'wrong_item' THEN '发错货' WHEN 'damage' THEN '收到的商品破损'
                    WHEN 'service' THEN '客服电话一直占线' ELSE '其他问题' END,
               '', t.category, t.severity, t.status, 'console', t.order_id,
               CASE WHEN t.category IN ('late_delivery', 'wrong_item', 'damage') THEN t.shipment_id END,
               NULL, t.customer_id, t.channel_id,
               CASE WHEN t.status <> 'open' OR t.id % 2 = 0 THEN {service} END,
               t.respond_by,
               CASE WHEN t.status <> 'open' THEN t.answered_at END,
               CASE WHEN t.was_resolved THEN '仓库同一库位混放了两批货' ELSE '' END,
               CASE WHEN t.was_resolved THEN '库位按批次分开，入库时检查' ELSE '' END,
               {service}, t.created_at,
               CASE WHEN t.was_resolved THEN t.resolved_at END,
               CASE WHEN t.status = 'closed' THEN t.closed_at END,
               CASE t.status WHEN 'open' THEN t.created_at WHEN 'resolved' THEN t.resolved_at
                    WHEN 'closed' THEN t.closed_at ELSE t.answered_at END
        FROM timed t
    """,
        None,
        timings,
    )

    _step(
        "feedback",
        """
        WITH drawn AS (
            SELECT o.id AS order_id, o.channel_id, o.delivered_at + interval '5 days' * power(random(), 2) AS created_at,
                   random() AS r_rating
            FROM orders_order o
            WHERE o.status IN ('delivered', 'completed') AND random() < 0.20
        ), rated AS (
            SELECT d.*, CASE WHEN d.r_rating < 0.60 THEN 5 WHEN d.r_rating < 0.85 THEN 4 WHEN d.r_rating < 0.93 THEN 3
                             WHEN d.r_rating < 0.97 THEN 2 ELSE 1 END AS rating
            FROM drawn d WHERE d.created_at < now()
        )
        INSERT INTO aftersales_feedback (order_id, channel_id, rating, comment, ticket_id, created_at)
        SELECT r.order_id, r.channel_id, r.rating,
               CASE WHEN r.rating >= 4 THEN (ARRAY['包装很用心，物流也快', '质量很好，和描述一致', '', ''])[1 + r.order_id % 4]
                    ELSE (ARRAY['一般，包装有点简陋', '送货时间比预计晚了两天', ''])[1 + r.order_id % 3] END,
               NULL, r.created_at
        FROM rated r
    """,
        None,
        timings,
    )

    _step(
        "refunds",
        f"""
        WITH drawn AS (
            SELECT o.id AS order_id, p.id AS payment_id, p.amount AS paid, o.status AS order_status,
                   CASE WHEN o.status = 'cancelled' THEN o.cancelled_at
                        ELSE coalesce(o.delivered_at, o.shipped_at, o.placed_at) + interval '1 day'
                             + interval '6 days' * random() END AS requested_at,
                   random() AS r_status, random() AS r_amount
            FROM (SELECT * FROM orders_order WHERE amount_paid > 0 AND random() < 0.02) AS o
            JOIN LATERAL (SELECT p.id, p.amount FROM orders_payment p
                          WHERE p.order_id = o.id AND p.status = 'captured' ORDER BY p.id LIMIT 1) AS p ON true
        ), staged AS (
            SELECT d.*,
                   CASE WHEN d.order_status = 'cancelled' THEN d.paid
                        ELSE greatest(0.01, round(d.paid * (0.2 + 0.8 * d.r_amount)::numeric, 2)) END AS amount,
                   CASE
                     WHEN d.requested_at > now() - interval '7 days' THEN CASE
                       WHEN d.r_status < 0.35 THEN 'requested' WHEN d.r_status < 0.60 THEN 'approved'
                       WHEN d.r_status < 0.90 THEN 'paid' ELSE 'failed' END
                     ELSE CASE
                       WHEN d.r_status < 0.01 THEN 'requested' WHEN d.r_status < 0.03 THEN 'approved'
                       WHEN d.r_status < 0.92 THEN 'paid' ELSE 'failed' END
                   END AS status,
                   {after.format("d.requested_at", "1 day")} AS approved_at,
                   {after.format("d.requested_at", "2 days")} AS settled_at
            FROM drawn d
            WHERE d.requested_at < now()
        )
        INSERT INTO orders_refund (order_id, payment_id, amount, reason, status, reference, failure_reason,
                                   requested_by_id, requested_at, approved_by_id, approved_at, settled_by_id,
                                   settled_at)
        SELECT s.order_id, s.payment_id, s.amount,
               CASE WHEN s.order_status = 'cancelled' THEN 'Order cancelled: customer asked'
                    ELSE (ARRAY['商品质量问题，部分退款', '少发一件，退差价', '物流延误补偿'])[1 + s.order_id % 3] END,
               s.status,
               CASE WHEN s.status = 'paid' THEN '退款流水 ' || s.order_id ELSE '' END,
               CASE WHEN s.status = 'failed' THEN '客户支付宝账户已注销，退款被退回' ELSE '' END,
               {service}, s.requested_at,
               CASE WHEN s.status IN ('approved', 'paid') THEN {finance} END,
               CASE WHEN s.status IN ('approved', 'paid') THEN s.approved_at END,
               CASE WHEN s.status IN ('paid', 'failed') THEN {finance} END,
               CASE WHEN s.status IN ('paid', 'failed') THEN s.settled_at END
        FROM staged s
    """,
        None,
        timings,
    )
    # orders.services.settlement.update_payment_figures, for every order with a refund at once.
    _step(
        "orders' refund figures",
        """
        UPDATE orders_order o
        SET amount_refunded = r.refunded, refund_due = r.owed,
            payment_status = CASE WHEN r.refunded = 0 THEN o.payment_status
                                  WHEN r.refunded >= o.amount_paid THEN 'refunded'
                                  ELSE 'partially_refunded' END
        FROM (SELECT order_id, coalesce(sum(amount) FILTER (WHERE status = 'paid'), 0) AS refunded,
                     coalesce(sum(amount) FILTER (WHERE status IN ('requested', 'approved')), 0) AS owed
              FROM orders_refund GROUP BY order_id) AS r
        WHERE o.id = r.order_id
    """,
        None,
        timings,
    )
    _step("vacuum analyze", "VACUUM (ANALYZE)", None, timings)


def _bench_staff_sql():
    """The bench staff's user ids as an SQL array: 1-3 approve and cancel, 4-6 pack, 7-9 dispatch,
    10 completes, 11 serves customers, 12 is Finance."""
    from django.contrib.auth.models import User

    people = [
        User.objects.get_or_create(username=f"bench_staff_{n}", defaults={"is_staff": True, "first_name": f"员工{n}"})[
            0
        ].pk
        for n in range(1, STAFF + 1)
    ]
    return f"(ARRAY{people})"


def _bench_houses():
    from inventory.models import Warehouse

    return list(Warehouse.objects.filter(code__in=["WH1", "WH2", "WH3"]).order_by("code").values_list("pk", flat=True))


def _bench_carrier():
    from logistics.models import Carrier

    return Carrier.objects.get_or_create(code="sf", defaults={"name": "SF Express"})[0].pk


# --- worker: one database, one logged-in test client ----------------------------------------------


def prepare(size, reuse):
    """Build (or reuse) this size's database with its rollups; returns the build timings."""
    import psycopg

    spec = SIZES[size]
    name = spec["database"]
    if reuse:
        try:
            with psycopg.connect(f"{data.SERVER_URL}/{name}") as existing:
                count = existing.execute("SELECT count(*) FROM orders_order").fetchone()[0]
                rolled = existing.execute("SELECT count(*) FROM analytics_dailyorders").fetchone()[0]
                returns = existing.execute("SELECT count(*) FROM aftersales_returnrequest").fetchone()[0]
        except psycopg.Error:
            count = rolled = returns = None
        if count == spec["orders"] and rolled and returns:
            log(f"{size}: reusing {name} with {count} orders")
            data.use_database(name, recreate=False)
            return _with_packing(name)
    log(f"{size}: building {name}: {spec['orders']} orders, {spec['customers']} customers")
    began = time.perf_counter()
    data.use_database(name)
    data.build_catalogue(stock_per_level=1_000)
    timings = data.build_orders_sql(orders=spec["orders"], customers=spec["customers"], shipments=False, log=log)
    fill_order_stories(timings)
    fill_packing(timings)
    fill_after_sales(timings)

    from django.core.management import call_command

    rebuild_began = time.perf_counter()
    call_command("rebuild_rollups", stdout=sys.stderr)
    timings["rebuild_rollups"] = round(time.perf_counter() - rebuild_began, 1)
    timings["with_migrate"] = round(time.perf_counter() - began, 1)
    return timings


def _with_packing(name):
    """A database reused from before the packing station kept its first scans and refused scans
    gets them, and its rollups are recomputed to hold the packers' figures."""
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM logistics_packingscanrefusal)")
        if cursor.fetchone()[0]:
            return {"reused": True}
    log(f"{name}: adding the packing station's records")
    timings = {"reused": True}
    fill_packing(timings)
    _step("vacuum analyze", "VACUUM (ANALYZE) logistics_shipment, logistics_packingscanrefusal", None, timings)
    began = time.perf_counter()
    call_command("rebuild_rollups", stdout=sys.stderr)
    timings["rebuild_rollups"] = round(time.perf_counter() - began, 1)
    return timings


def worker(size, reuse):
    # WhiteNoise warns that collectstatic has not run; the page's static files are not fetched here.
    warnings.filterwarnings("ignore", message="No directory at")
    timings = prepare(size, reuse)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.order_list import query_report
    from inventory.models import Warehouse
    from orders.models import Channel

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
        cursor.execute("SELECT count(*) FROM orders_order WHERE placed_at >= now() - interval '30 days'")
        recent = cursor.fetchone()[0]
        rollup_rows = {}
        for table in (
            "dailyorders",
            "dailyprovinceorders",
            "dailyproductsales",
            "dailystagetime",
            "dailyshipments",
            "dailyhandling",
            "dailypacking",
        ):
            cursor.execute(f"SELECT count(*) FROM analytics_{table}")
            rollup_rows[table] = cursor.fetchone()[0]
        after_sales_rows = {}
        for table in AFTER_SALES_TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")
            after_sales_rows[table] = cursor.fetchone()[0]
    paths = views(Channel.objects.get(code="web").pk, Warehouse.objects.get(code="WH2").pk)
    reply(
        {
            "ready": True,
            "orders": orders,
            "orders_last_30_days": recent,
            "rollup_rows": rollup_rows,
            "after_sales_rows": after_sales_rows,
            "build": timings,
            "paths": paths,
        }
    )

    for line in sys.stdin:
        command = json.loads(line)
        if command["do"] == "quit":
            break
        path = command["path"]
        if command["do"] == "check":
            response, size_bytes = get(path)
            reply(
                {
                    "status": response.status_code,
                    "bytes": size_bytes,
                    "has_figures": b'id="dash-figures"' in response.content,
                }
            )
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


# --- parent: two workers, alternating rounds ------------------------------------------------------


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

    # The big database takes the longest to build: start it first, the small one meanwhile.
    workers = {size: Worker(size, args.reuse) for size in ("big", "small")}
    try:
        for size, w in workers.items():
            print(
                f"{size}: {w.ready['orders']} orders ({w.ready['orders_last_30_days']} in the last 30 days), "
                f"rollup rows {w.ready['rollup_rows']}, after-sales rows {w.ready['after_sales_rows']}, "
                f"build {w.ready['build']}"
            )
        names = list(workers["small"].ready["paths"])
        for name in names:
            for size, w in workers.items():
                answer = w.ask(do="check", path=w.ready["paths"][name])
                if answer["status"] != 200 or not answer["has_figures"]:
                    raise SystemExit(f"{name} answers {answer['status']} without the dashboard on {size}")
        for name in names:
            for w in workers.values():
                w.ask(do="time", path=w.ready["paths"][name], repeat=3)

        samples = {name: {size: [] for size in SIZES} for name in names}
        for number in range(1, args.rounds + 1):
            for name in names:
                for size, w in workers.items():
                    answer = w.ask(do="time", path=w.ready["paths"][name], repeat=args.requests_per_round)
                    if answer["statuses"] != [200]:
                        raise SystemExit(f"{name} answered {answer['statuses']} on {size}")
                    samples[name][size] += answer["ms"]
            print(f"round {number}/{args.rounds} done")

        figures, queries = {}, {}
        for name in names:
            row = {}
            for size in SIZES:
                w = workers[size]
                ms = sorted(samples[name][size])
                report = w.ask(do="queries", path=w.ready["paths"][name])
                queries.setdefault(name, {})[size] = report
                row[size] = {
                    "orders": w.ready["orders"],
                    "orders_last_30_days": w.ready["orders_last_30_days"],
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
                f"{name:>26}: 10k {row['small']['median_ms']:7.1f} ms ({row['small']['queries']} queries, "
                f"SQL {row['small']['sql_ms']} ms)  1M {row['big']['median_ms']:7.1f} ms "
                f"({row['big']['queries']} queries, SQL {row['big']['sql_ms']} ms)  ratio {row['ratio']:.2f} "
                f"{'ok' if row['aim_met'] else 'OVER THE AIM'}"
            )
    finally:
        for w in workers.values():
            w.close()

    path = data.write_results(
        "dashboard",
        databases=[spec["database"] for spec in SIZES.values()],
        figures={
            "aim": f"1M / 10k median <= {AIM}",
            "aim_met": all(row["aim_met"] for row in figures.values()),
            "views": figures,
            "rollup_rows": {size: w.ready["rollup_rows"] for size, w in workers.items()},
            "after_sales_rows": {size: w.ready["after_sales_rows"] for size, w in workers.items()},
            "build_seconds": {size: w.ready["build"] for size, w in workers.items()},
            "queries": queries,
        },
        notes=(
            "Medians of 20 requests per view and size through django.test.Client logged in as a superuser, "
            "after 3 warm-up requests; the two sizes are asked in alternating rounds. Orders spread over two "
            "years (bench/data.py), so the 30 days hold about 9 % of them; after-sales records at a shop's shares "
            "(after_sales_rows: returns of ~3 % and ratings of ~20 % of delivered orders, tickets about ~1.5 % of "
            "orders, refunds of ~2 % of paid ones). build_seconds.rebuild_rollups is "
            "`manage.py rebuild_rollups` recomputing every rollup from the records. The machine was shared with "
            "other work while measuring."
        ),
    )
    print(f"wrote {path}")
    if args.drop:
        for spec in SIZES.values():
            data.drop_database(spec["database"])


if __name__ == "__main__":
    main()
