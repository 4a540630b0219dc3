"""The order use cases. Console, Excel and API call these and nothing else to change orders."""

from .events import TransitionRefused, record_transition, transition_label
from .intake import LineInput, OrderInput, PlacementResult, may_set_prices, place_order
from .lifecycle import (
    add_note,
    approve,
    cancel,
    complete,
    dispatch_from_warehouse,
    lock_order,
    mark_packed,
    record_delivery,
    record_payment,
    reject,
    start_picking,
    update_delivery_address,
)

__all__ = [
    "LineInput", "OrderInput", "PlacementResult", "TransitionRefused", "add_note", "approve", "cancel",
    "complete", "dispatch_from_warehouse", "lock_order", "mark_packed", "may_set_prices", "place_order", "record_delivery", "record_payment",
    "record_transition", "reject", "start_picking", "transition_label", "update_delivery_address",
]
