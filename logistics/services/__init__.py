"""The fulfilment use cases: pick lists, packing, carrier choice, dispatch and tracking. Console,
uploads, the carrier webhook and the API call these and nothing else to change shipments; each
function is one transaction."""

from .cancellation import cancel_open_shipments
from .carrier_choice import choose_carrier_service
from .carriers import issue_webhook_token
from .dispatch import assign_tracking_number, choose_carrier, dispatch
from .handover import confirm_batch, open_handover_batch, remove_from_batch, scan_into_batch
from .packing import ScanAnswer, Sound, finish_packing, pack_item, scan_item
from .pick_waves import create_pick_wave
from .public_tracking import look_up_order_for_tracking
from .remittances import RecordedRemittance, record_remittance
from .repairs import create_repair_shipment
from .rerouting import Rerouted, move_open_work, switch_carrier_service
from .rules import DEFAULT_TRANSIT_DAYS, add_working_days, plan_parcels, why_not_pickable
from .tracking import mark_delivered, record_tracking_event
from .uploads import UploadRefused, dispatch_by_upload, record_events_by_upload

__all__ = [
    "DEFAULT_TRANSIT_DAYS",
    "Rerouted",
    "ScanAnswer",
    "Sound",
    "UploadRefused",
    "RecordedRemittance",
    "record_remittance",
    "add_working_days",
    "assign_tracking_number",
    "cancel_open_shipments",
    "choose_carrier",
    "choose_carrier_service",
    "confirm_batch",
    "create_pick_wave",
    "create_repair_shipment",
    "dispatch",
    "dispatch_by_upload",
    "finish_packing",
    "issue_webhook_token",
    "look_up_order_for_tracking",
    "mark_delivered",
    "move_open_work",
    "open_handover_batch",
    "pack_item",
    "plan_parcels",
    "record_events_by_upload",
    "record_tracking_event",
    "remove_from_batch",
    "scan_into_batch",
    "scan_item",
    "switch_carrier_service",
    "why_not_pickable",
]
