"""`field__any=values`: many values in one parameter. On PostgreSQL `field = ANY(%s)` with one
array, however many values; Django's `__in` binds a parameter per value, which psycopg adapts and
the server parses one by one (a second for the 50,000 orders of a carrier's remittance). Elsewhere
it is `__in`. Registered for every field and relation by core's AppConfig."""

from django.db.models import Field, ForeignObject
from django.db.models.fields.related_lookups import RelatedIn
from django.db.models.lookups import In


class AnyOf(In):
    lookup_name = "any"

    def as_postgresql(self, compiler, connection):
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(value, connection, prepared=True) for value in self.rhs]
        # Without the type's length or precision (varchar, not varchar(64)), as core.bulk.
        array_type = field.db_type(connection).split("(")[0]
        return f"{lhs_sql} = ANY(%s::{array_type}[])", (*lhs_params, values)


class RelatedAnyOf(AnyOf, RelatedIn):
    """`__any` on a foreign key (`order_id__any=[...]`): relations keep their own lookups."""


def register() -> None:
    Field.register_lookup(AnyOf)
    ForeignObject.register_lookup(RelatedAnyOf)
