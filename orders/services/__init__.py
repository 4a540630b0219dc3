"""The order use cases. Console, Excel and API call these and nothing else to change orders."""

from .api_tokens import authenticate_token, issue_token, revoke_token
from .archiving import archivable_orders, archive_batch, archive_finished_orders, archiving_cutoff
from .bulk import BulkResult, add_notes, change_warehouse
from .changes import record_change
from .deadlines import dispatch_due
from .editing import LineChange, OrderEdit, edit_order
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
from .saved_views import delete_view, save_view
from .settlement import (
    CapturedPayment,
    Remitted,
    approve_refund,
    fail_refund,
    mark_refund_paid,
    record_cod_remitted,
    request_refund,
    request_refunds_owed,
)
from .splitting import SplitOff, release_ship_later, ship_later, split_off
from .tags import Tagged, create_tag, delete_tag, tag_orders, untag_orders, update_tag
from .transitions import record_order_transition
from .waiting import (
    HoldOutcome,
    UnpaidCancelled,
    cancel_unpaid_orders,
    hold_orders,
    record_payment,
    release_due_holds,
    release_orders,
    unpaid_past_limit,
)

__all__ = [
    "BulkResult",
    "dispatch_due",
    "add_notes",
    "change_warehouse",
    "delete_view",
    "save_view",
    "Tagged",
    "create_tag",
    "tag_orders",
    "untag_orders",
    "update_tag",
    "delete_tag",
    "HoldOutcome",
    "UnpaidCancelled",
    "cancel_unpaid_orders",
    "hold_orders",
    "release_due_holds",
    "release_orders",
    "unpaid_past_limit",
    "LineChange",
    "OrderEdit",
    "SplitOff",
    "edit_order",
    "release_ship_later",
    "ship_later",
    "split_off",
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
    "CapturedPayment",
    "Remitted",
    "record_cod_remitted",
    "request_refund",
    "request_refunds_owed",
    "record_change",
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
