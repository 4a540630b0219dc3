"""Writing many rows in few statements with few parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Model


def insert(objs: list[Model], *, batch_size: int) -> None:
    """Insert new model instances and set their primary keys, as bulk_create does. Each column's
    value is the one the instance holds: for models whose fields set nothing when saved (no
    auto_now)."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=batch_size)
        return
    columns = {field.attname: [getattr(obj, field.attname) for obj in objs] for field in _fields(model)}
    for obj, pk in zip(objs, insert_columns(model, columns, batch_size=batch_size), strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


def insert_columns(model: type[Model], columns: dict[str, Any], *, batch_size: int) -> list[int]:
    """Insert rows given column by column, without making a model instance for each, and return
    their primary keys in order. `columns` maps a field's attname to a list or tuple with the value
    of every row, or to one value that every row takes; a field left out takes its default. On
    PostgreSQL one INSERT … SELECT FROM unnest(...) with an array per varying column and a
    parameter per constant one, instead of a parameter per value and no per-value adaptation by
    Django, which cost seconds for a 50,000-line remittance; bulk_create elsewhere."""
    varying = {name: values for name, values in columns.items() if isinstance(values, (list, tuple))}
    if not varying:
        raise ValueError("Give at least one column a value per row.")
    count = len(next(iter(varying.values())))
    if any(len(values) != count for values in varying.values()):
        raise ValueError("Every column needs a value for every row.")
    if not count:
        return []
    fields = _fields(model)
    unset = [field.attname for field in fields if field.attname not in columns and _set_when_saved(field)]
    if unset:
        raise ValueError(f"Give {', '.join(unset)}: set when saved, they have no default to take.")
    given = {
        field.attname: columns[field.attname] if field.attname in columns else field.get_default() for field in fields
    }
    if connection.vendor != "postgresql":
        rows = [
            model(**{name: value[index] if name in varying else value for name, value in given.items()})
            for index in range(count)
        ]
        model.objects.bulk_create(rows, batch_size=batch_size)
        return [row.pk for row in rows]
    quote = connection.ops.quote_name
    selected, constants, arrays, array_names = [], [], [], []
    for field in fields:
        # Without the type's length or precision (varchar, not varchar(64)), as Django's own unnest insert.
        cast = field.db_type(connection).split("(")[0]
        if field.attname in varying:
            array_names.append(f"c{len(arrays)}")
            selected.append(f"v.{array_names[-1]}")
            arrays.append((f"%s::{cast}[]", list(varying[field.attname])))
        else:
            selected.append(f"%s::{cast}")
            constants.append(given[field.attname])
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
        f"SELECT {', '.join(selected)} FROM unnest({', '.join(sql for sql, _values in arrays)}) "
        f"AS v({', '.join(array_names)}) RETURNING {quote(model._meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*constants, *(values for _sql, values in arrays)])
        # Rows come back in the order unnest gave them, as bulk_create relies on too.
        return [pk for (pk,) in cursor.fetchall()]


def _fields(model: type[Model]) -> Sequence:
    return [field for field in model._meta.concrete_fields if not field.primary_key]


def _set_when_saved(field) -> bool:
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False) or field.has_db_default()
