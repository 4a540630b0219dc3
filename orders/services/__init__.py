"""The order use cases. Console, Excel and API call these and nothing else to change orders."""

from .api_tokens import authenticate_token, issue_token, revoke_token
from .archiving import archivable_orders, archive_batch, archive_finished_orders, archiving_cutoff
from .idempotency import IdempotencyKeyReused, respond_once
from .intake import LineInput, OrderInput, PlacementResult, may_set_prices, place_order, place_orders
from .intake_holds import IntakeRelease, hold_channel_intake, release_channel_intake
from .lifecycle import (
    add_note,
    approve,
    cancel,
    complete,
    dispatch_from_warehouse,
    lock_order,
    record_delivery,
    reject,
    update_delivery_address,
)
from .merging import merge_orders, merged_with, unmerge_orders, why_not_mergeable
from .notifications import notify, notify_disruption
from .reservations import ReservationsMoved, move_reservations
from .settlement import (
    approve_refund,
    fail_refund,
    mark_refund_paid,
    record_cod_collected,
    record_payment,
    request_refund,
)
from .transitions import record_order_transition

__all__ = [
    "IdempotencyKeyReused",
    "archivable_orders",
    "archive_batch",
    "archive_finished_orders",
    "archiving_cutoff",
    "approve_refund",
    "authenticate_token",
    "fail_refund",
    "mark_refund_paid",
    "ReservationsMoved",
    "move_reservations",
    "record_cod_collected",
    "request_refund",
    "issue_token",
    "respond_once",
    "revoke_token",
    "IntakeRelease",
    "LineInput",
    "OrderInput",
    "PlacementResult",
    "add_note",
    "approve",
    "cancel",
    "complete",
    "dispatch_from_warehouse",
    "lock_order",
    "may_set_prices",
    "merge_orders",
    "merged_with",
    "unmerge_orders",
    "why_not_mergeable",
    "hold_channel_intake",
    "notify",
    "notify_disruption",
    "release_channel_intake",
    "place_order",
    "place_orders",
    "record_delivery",
    "record_order_transition",
    "record_payment",
    "reject",
    "update_delivery_address",
]
