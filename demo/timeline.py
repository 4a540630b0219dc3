"""Moving what the services stamp with the present into the demo's past.

The services stamp every row they write with the present; the demo tells the story of the last sixty
days, so after each step it moves the rows that step wrote (those stamped since the demo started) to
the step's moment. Moving rows in time is all the demo writes itself; everything else goes through
the services. The moves are plain SQL: the demo takes some 2,800 steps, and building these updates
through the ORM took a sixth of its time."""

from django.db import connection

ORDER_STAMPS = [
    "confirmed_at",
    "picking_at",
    "packed_at",
    "shipped_at",
    "delivered_at",
    "completed_at",
    "cancelled_at",
    "returned_at",
]


def moving(table, stamp, of_order="order_id = %(order)s"):
    """An UPDATE that moves the rows of `table` stamped since the demo started (`of_order`: those of
    one order; empty: all of them) to the step's moment."""
    where = f"{stamp} >= %(started)s" + (f" AND {of_order}" if of_order else "")
    return f"UPDATE {table} SET {stamp} = %(moment)s WHERE {where}"


def moving_order_stamps():
    """An UPDATE that moves the order's stamps set since the demo started to the step's moment."""
    moved = [f"{stamp} = CASE WHEN {stamp} >= %(started)s THEN %(moment)s ELSE {stamp} END" for stamp in ORDER_STAMPS]
    return f"UPDATE orders_order SET updated_at = %(moment)s, {', '.join(moved)} WHERE id = %(order)s"


def move(statements, *, moment, started, order_id=None):
    adapt = connection.ops.adapt_datetimefield_value
    times = {"moment": adapt(moment), "started": adapt(started), "order": order_id}
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, times)
