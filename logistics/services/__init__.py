"""The fulfilment use cases: pick lists, packing, carrier choice, dispatch and tracking. Console,
uploads, the carrier webhook and the API call these and nothing else to change shipments; each
function is one transaction."""

from .cancellation import cancel_open_shipments
from .carrier_choice import choose_carrier_service
from .carriers import issue_webhook_token
from .claims import accept_claim, attach_claim_document, file_claim, goods_value, record_claim_payment, reject_claim
from .dispatch import assign_tracking_number, choose_carrier, dispatch
from .handover import confirm_batch, discard_batch, open_handover_batch, remove_from_batch, scan_into_batch
from .interception import decide_after_failed_interception, record_interception_outcome, request_interception
from .labels import Printed, burn_pool_number, print_labels
from .packing import ScanAnswer, Sound, finish_packing, pack_item, scan_item
from .pick_waves import create_pick_wave
from .public_tracking import look_up_order_for_tracking
from .remittances import RecordedRemittance, record_remittance
from .repairs import create_repair_shipment
from .replacements import send_replacement
from .rerouting import Rerouted, move_open_work, switch_carrier_service
from .returned_parcels import ReceivedBack, receive_parcel_back
from .rules import DEFAULT_TRANSIT_DAYS, add_working_days, plan_parcels, why_not_pickable
from .tracking import mark_delivered, record_tracking_event
from .tracking_pools import set_pool_warning
from .uploads import UploadRefused, dispatch_by_upload, record_events_by_upload

__all__ = [
    "DEFAULT_TRANSIT_DAYS",
    "Printed",
    "ReceivedBack",
    "RecordedRemittance",
    "Rerouted",
    "ScanAnswer",
    "Sound",
    "UploadRefused",
    "accept_claim",
    "add_working_days",
    "assign_tracking_number",
    "attach_claim_document",
    "burn_pool_number",
    "cancel_open_shipments",
    "choose_carrier",
    "choose_carrier_service",
    "confirm_batch",
    "create_pick_wave",
    "create_repair_shipment",
    "decide_after_failed_interception",
    "discard_batch",
    "dispatch",
    "dispatch_by_upload",
    "file_claim",
    "finish_packing",
    "goods_value",
    "issue_webhook_token",
    "look_up_order_for_tracking",
    "mark_delivered",
    "move_open_work",
    "open_handover_batch",
    "pack_item",
    "plan_parcels",
    "print_labels",
    "receive_parcel_back",
    "record_claim_payment",
    "record_events_by_upload",
    "record_interception_outcome",
    "record_remittance",
    "record_tracking_event",
    "reject_claim",
    "remove_from_batch",
    "request_interception",
    "scan_into_batch",
    "scan_item",
    "send_replacement",
    "set_pool_warning",
    "switch_carrier_service",
    "why_not_pickable",
]
