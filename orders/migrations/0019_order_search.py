"""Indexes for the search that people type (docs/architecture.md, "Finding orders"): a trigram index
on the order number (any part of it), a pattern index on the recipient's name in capitals (its
start), an index on the phone's last four digits, newest first, and one on order lines by product
(a SKU's orders); and for the review queue, its held orders by channel (a partial index).

On PostgreSQL each index is built CONCURRENTLY, so a live table of a million orders keeps taking
orders while it is built (hence a migration outside a transaction). The trigram and pattern indexes
exist on PostgreSQL only; SQLite, the demo's database, gets the last-four-digits index and scans for
the rest."""

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.contrib.postgres.operations import AddIndexConcurrently, TrigramExtension
from django.db import migrations, models


class AddSearchIndex(AddIndexConcurrently):
    """AddIndex, built concurrently on PostgreSQL; with `postgresql_only`, nothing on other
    databases (the index's SQL is PostgreSQL's own). The migration state always has the index, so
    the models and migrations agree on every database."""

    def __init__(self, model_name, index, postgresql_only=False):
        super().__init__(model_name, index)
        self.postgresql_only = postgresql_only

    def deconstruct(self):
        name, args, kwargs = super().deconstruct()
        if self.postgresql_only:
            kwargs["postgresql_only"] = True
        return name, args, kwargs

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            # An index already there (this migration renumbered, or run again after it was
            # stopped half-way) is kept as it is.
            if not self.exists(schema_editor):
                super().database_forwards(app_label, schema_editor, from_state, to_state)
        elif not self.postgresql_only:
            migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def exists(self, schema_editor):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = %s", [self.index.name]
            )
            return cursor.fetchone() is not None

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        elif not self.postgresql_only:
            migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class TrigramExtensionKept(TrigramExtension):
    """pg_trgm, created on PostgreSQL (CreateExtension does nothing elsewhere) and kept when the
    migration is reversed: other indexes of the database may use it."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0018_order_merge"),
    ]

    operations = [
        TrigramExtensionKept(),
        AddSearchIndex(
            model_name="order",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["number"], name="order_number_trigram", opclasses=["gin_trgm_ops"]
            ),
            postgresql_only=True,
        ),
        AddSearchIndex(
            model_name="order",
            index=models.Index(
                django.contrib.postgres.indexes.OpClass(
                    django.db.models.functions.text.Upper("recipient"), name="text_pattern_ops"
                ),
                name="order_recipient_prefix",
            ),
            postgresql_only=True,
        ),
        AddSearchIndex(
            model_name="order",
            index=models.Index(
                django.db.models.functions.text.Right("phone", 4),
                models.OrderBy(models.F("placed_at"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                name="order_by_phone_last_four",
            ),
        ),
        AddSearchIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("status", "on_hold")),
                fields=["channel", "placed_at", "id"],
                name="held_order_by_channel",
            ),
        ),
        AddSearchIndex(
            model_name="orderline",
            index=models.Index(fields=["product", "order"], name="order_line_by_product"),
        ),
    ]
