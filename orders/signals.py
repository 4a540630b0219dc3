"""Signals the order app sends for the apps above it (analytics), which it may not import."""

from django.dispatch import Signal

# bulk_create sends no post_save. Whoever writes order events or payments in bulk sends this right
# after, in the same transaction, with `sender` the model and `instances` the rows just written, so
# every event and payment is seen as if it had been saved on its own.
written_in_bulk = Signal()
