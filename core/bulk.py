"""Writing many rows in few statements with few parameters."""

from __future__ import annotations

from django.db import connection
from django.db.models import Model


def insert(objs: list[Model], *, batch_size: int) -> None:
    """Insert new model instances and set their primary keys, as bulk_create does. On PostgreSQL
    one INSERT … SELECT FROM unnest(...) with an array per column: a parameter per column instead
    of per value, and no per-value adaptation by Django, which cost seconds for a 50,000-line
    remittance. Each column's value is the one the instance holds: for models whose fields set
    nothing when saved (no auto_now)."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=batch_size)
        return
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    # Without the type's length or precision (varchar, not varchar(64)), as Django's own unnest insert.
    arrays = ", ".join(f"%s::{field.db_type(connection).split('(')[0]}[]" for field in fields)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
        f"SELECT * FROM unnest({arrays}) RETURNING {quote(meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [[getattr(obj, field.attname) for obj in objs] for field in fields])
        # Rows come back in the order unnest gave them, as bulk_create relies on too.
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
            obj._state.adding = False
            obj._state.db = connection.alias
