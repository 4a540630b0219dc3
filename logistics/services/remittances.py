"""Carriers' cash-on-delivery remittances (docs/architecture.md, "Cash-on-delivery remittance"):
a carrier pays over the cash it collected in batches, with a file of one line per parcel. Recording
a file matches every line to its parcel, captures the collected cash as the orders' payments
through `orders.services.record_cod_remitted`, and keeps each line with its mismatch, if any. All
or nothing; a batch reference is recorded once per carrier."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from core import bulk
from core.actors import Actor, stored_user
from core.permissions import Logistics, require
from orders import services as orders

from .. import locks
from ..models import Carrier, CodRemittance, CodRemittanceLine
from ..selectors import PlannedRemittanceLine, plan_remittance, remittance_order_ids, remitted_parcels
from .uploads import UploadRefused

LINE_BATCH = 2000


@dataclass
class RecordedRemittance:
    """The batches a file recorded, and each of its lines as matched (kept as CodRemittanceLine rows)."""

    remittances: list[CodRemittance]
    lines: list[PlannedRemittanceLine]


def _open_batches(carrier, lines, file_name, actor):
    """A remittance row per batch reference of the file, in the order they first appear. A
    reference recorded before (or by a transaction committing at this moment, which the unique
    constraint makes this one wait for) refuses the file on that reference's first row."""
    first_rows = {}
    for line in lines:
        first_rows.setdefault(line["reference"], line["row"])
    remittances, problems = {}, []
    for reference, row in first_rows.items():
        try:
            with transaction.atomic():
                remittances[reference] = CodRemittance.objects.create(
                    carrier=carrier,
                    reference=reference,
                    file_name=file_name[:255],
                    uploaded_by=stored_user(actor),
                )
        except IntegrityError:
            earlier = CodRemittance.objects.select_related("uploaded_by").get(carrier=carrier, reference=reference)
            problems.append(
                (
                    row,
                    "reference",
                    _(
                        "Batch %(reference)s of %(carrier)s was recorded on %(when)s by %(who)s from %(file)s; "
                        "a batch is counted once."
                    )
                    % {
                        "reference": reference,
                        "carrier": carrier,
                        "when": date_format(localtime(earlier.uploaded_at), "SHORT_DATETIME_FORMAT"),
                        "who": earlier.uploaded_by or _("the system"),
                        "file": earlier.file_name,
                    },
                )
            )
    if problems:
        raise UploadRefused(problems)
    return remittances


@transaction.atomic
def record_remittance(
    carrier_id: int, lines: list[dict[str, Any]], *, file_name: str, actor: Actor
) -> RecordedRemittance:
    """Record a carrier's remittance file: `lines` as read (row, tracking_number, amount, fee,
    remitted_on, reference). Locks: the new remittance rows first (their unique reference decides
    between two uploads of one file), then the parcels' orders ascending, then the payments the
    settlement writes. Every line is kept, matched or with its mismatch (selectors.plan_remittance);
    the matched ones are paid in one settlement call. Raises UploadRefused, nothing kept, when a
    batch was recorded before."""
    require(
        actor, Logistics.RECORD_COD_REMITTANCE, _("Your role may not record carriers' cash-on-delivery remittances.")
    )
    carrier = Carrier.objects.get(pk=carrier_id)
    remittances = _open_batches(carrier, lines, file_name, actor)
    parcels = remitted_parcels(carrier, (line["tracking_number"] for line in lines))
    locked = locks.lock_remitted_orders(remittance_order_ids(parcels.values()))
    planned = plan_remittance(carrier, lines, parcels, locked)
    orders.record_cod_remitted(
        [orders.Remitted(order.pk, amount, plan.values["reference"]) for plan in planned for order, amount in plan.pay],
        actor=actor,
        locked=locked,
    )
    bulk.insert_columns(
        CodRemittanceLine,
        {
            "remittance_id": [remittances[plan.values["reference"]].pk for plan in planned],
            "row": [plan.values["row"] for plan in planned],
            "tracking_number": [plan.values["tracking_number"] for plan in planned],
            "shipment_id": [plan.shipment.pk if plan.shipment else None for plan in planned],
            "order_numbers": [plan.order_numbers[:255] for plan in planned],
            "amount": [plan.values["amount"] for plan in planned],
            "fee": [plan.values["fee"] for plan in planned],
            "remitted_on": [plan.values["remitted_on"] for plan in planned],
            "due": [plan.due for plan in planned],
            "fee_allowed": [plan.fee_allowed for plan in planned],
            "recorded": [plan.recorded for plan in planned],
            "problem": [plan.problem for plan in planned],
            "detail": [plan.detail[:255] for plan in planned],
        },
        batch_size=LINE_BATCH,
    )
    by_reference = defaultdict(list)
    for plan in planned:
        by_reference[plan.values["reference"]].append(plan)
    for reference, remittance in remittances.items():
        its = by_reference[reference]
        remittance.line_count = len(its)
        remittance.mismatch_count = sum(1 for plan in its if plan.problem)
        remittance.amount_total = sum((plan.values["amount"] for plan in its), Decimal("0"))
        remittance.fee_total = sum((plan.values["fee"] for plan in its), Decimal("0"))
        remittance.recorded_total = sum((plan.values["amount"] for plan in its if plan.recorded), Decimal("0"))
        remittance.save(update_fields=["line_count", "mismatch_count", "amount_total", "fee_total", "recorded_total"])
    return RecordedRemittance(remittances=list(remittances.values()), lines=planned)
