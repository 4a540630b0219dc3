"""Claims against carriers for the parcels they lost (docs/architecture.md, "Lost parcels"): filed
for a parcel reported lost, with the goods' value as the amount unless staff claim another, the
carrier's documents attached, then accepted with the amount the carrier settles, or rejected, and
the carrier's payment recorded by finance."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.actors import Actor, stored_user
from core.permissions import Logistics, require
from core.transitions import TransitionRefused, ensure_allowed

from .. import locks
from ..claim_documents import document_type
from ..models import CarrierClaim, ClaimDocument, ExceptionKind, Shipment, ShipmentLine

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999.99")
REFERENCE_LENGTH = CarrierClaim._meta.get_field("carrier_reference").max_length
FILE_NAME_LENGTH = ClaimDocument._meta.get_field("original_name").max_length


def is_lost(shipment: Shipment) -> bool:
    """A parcel the carrier reported lost, or a coordinator recorded so after chasing it."""
    return shipment.status == Shipment.Status.EXCEPTION and shipment.exception_kind == ExceptionKind.LOST


def goods_value(shipment: Shipment) -> Decimal:
    """What the goods in a parcel were sold for: each line's share of its order line's total (k
    units of a line of n are `line_total × k / n`, as a refund counts them), to the cent. Gifts are
    worth nothing to the customer's bill, and so nothing here."""
    total = Decimal("0")
    for line in ShipmentLine.objects.filter(shipment=shipment).select_related("order_line"):
        order_line = line.order_line
        total += order_line.line_total * line.quantity / order_line.quantity
    return total.quantize(CENT)


def _amount(value, field: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: _("Enter an amount such as 128.50.")}) from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationError({field: _("Enter an amount greater than zero.")})
    if amount > MAX_AMOUNT or amount != amount.quantize(CENT):
        raise ValidationError({field: _("Enter an amount in whole cents, at most %(max)s.") % {"max": MAX_AMOUNT}})
    return amount


def _reference(value: str) -> str:
    reference = " ".join((value or "").split())
    if len(reference) > REFERENCE_LENGTH:
        raise ValidationError({"carrier_reference": _("Use at most %(max)d characters.") % {"max": REFERENCE_LENGTH}})
    return reference


def _claim_not_possible(claim, bound_method):
    return _("Claim %(number)s is %(status)s now.") % {"number": claim.pk, "status": claim.get_status_display()}


def _claim_not_permitted(claim, bound_method):
    return _("Your role may not do this with claims.")


def _step(claim: CarrierClaim, bound_method, actor: Actor) -> None:
    ensure_allowed(claim, bound_method, actor, refuse_state=_claim_not_possible, refuse_role=_claim_not_permitted)
    bound_method()


@transaction.atomic
def file_claim(
    shipment_id: int,
    *,
    actor: Actor,
    amount: Decimal | str | None = None,
    carrier_reference: str = "",
    note: str = "",
) -> CarrierClaim:
    """File a claim against the carrier of a lost parcel, for `amount` or, when none is given, the
    goods' value of the parcel. A parcel has one claim at a time: a second is refused while one is
    filed, accepted or paid (a rejected claim may be filed again, with new documents)."""
    require(actor, Logistics.FILE_CLAIM, _("Your role may not file claims against carriers."))
    reference = _reference(carrier_reference)
    given = None if amount is None or str(amount).strip() == "" else _amount(amount, "amount")
    shipment = locks.lock_shipment(shipment_id)
    if not is_lost(shipment):
        raise TransitionRefused(
            _("Parcel %(shipment)s is %(status)s, not reported lost: a claim is filed for a lost parcel.")
            % {"shipment": shipment, "status": shipment.get_status_display()}
        )
    existing = shipment.claims.exclude(status=CarrierClaim.Status.REJECTED).first()
    if existing is not None:
        raise ValidationError(_already_claimed(shipment, existing))
    claimed = given if given is not None else goods_value(shipment)
    if claimed <= 0:
        raise ValidationError({"amount": _("The parcel's goods were free: enter the amount to claim.")})
    claim = CarrierClaim(
        shipment=shipment,
        carrier=shipment.carrier,
        currency=shipment.order.currency,
        claimed_amount=claimed,
        carrier_reference=reference,
        note=(note or "").strip(),
        filed_by=stored_user(actor),
    )
    try:
        # Two people filing at once: the shipment's lock queues them, the constraint is the last word.
        with transaction.atomic():
            claim.save()
    except IntegrityError as error:
        raise ValidationError(_already_claimed(shipment, None)) from error
    return claim


def _already_claimed(shipment, existing):
    if existing is None:
        return _("Parcel %(shipment)s already has a claim.") % {"shipment": shipment}
    return _("Parcel %(shipment)s already has claim %(number)s (%(status)s).") % {
        "shipment": shipment,
        "number": existing.pk,
        "status": existing.get_status_display(),
    }


@transaction.atomic
def accept_claim(
    claim_id: int, *, settled_amount: Decimal | str, actor: Actor, carrier_reference: str | None = None, note: str = ""
) -> CarrierClaim:
    """The carrier accepted the claim for `settled_amount` (at most the amount claimed): finance
    matches its payment against that figure."""
    require(actor, Logistics.FILE_CLAIM, _("Your role may not record a carrier's answer to a claim."))
    amount = _amount(settled_amount, "settled_amount")
    claim = locks.lock_claim(claim_id)
    _step(claim, claim.accept, actor)
    if amount > claim.claimed_amount:
        raise ValidationError(
            {
                "settled_amount": _("The carrier cannot settle more than the %(amount)s %(currency)s claimed.")
                % {"amount": claim.claimed_amount, "currency": claim.currency}
            }
        )
    claim.settled_amount = amount
    if carrier_reference is not None:
        claim.carrier_reference = _reference(carrier_reference) or claim.carrier_reference
    claim.decision_note = (note or "").strip()
    claim.decided_by = stored_user(actor)
    claim.save()
    return claim


@transaction.atomic
def reject_claim(claim_id: int, *, reason: str, actor: Actor) -> CarrierClaim:
    """The carrier refused the claim; its reason is kept, and the parcel may be claimed again."""
    require(actor, Logistics.FILE_CLAIM, _("Your role may not record a carrier's answer to a claim."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the carrier refused the claim.")})
    claim = locks.lock_claim(claim_id)
    _step(claim, claim.reject, actor)
    claim.decision_note = reason
    claim.decided_by = stored_user(actor)
    claim.save()
    return claim


@transaction.atomic
def record_claim_payment(claim_id: int, *, actor: Actor) -> CarrierClaim:
    """The carrier paid the amount it settled (finance records it once the money is in)."""
    require(actor, Logistics.RECORD_CLAIM_PAYMENT, _("Your role may not record payments of claims."))
    claim = locks.lock_claim(claim_id)
    _step(claim, claim.record_payment, actor)
    claim.paid_recorded_by = stored_user(actor)
    claim.save()
    return claim


@transaction.atomic
def attach_claim_document(claim_id: int, upload: UploadedFile, *, actor: Actor) -> ClaimDocument:
    """Keep a document sent with a claim: a PDF, JPEG or PNG (read from its first bytes) of at most
    settings.CLAIM_DOCUMENT_MAX_BYTES, under a random name. A paid claim is closed and takes none."""
    require(actor, Logistics.FILE_CLAIM, _("Your role may not attach documents to claims."))
    if upload is None:
        raise ValidationError({"file": _("Choose the file to attach.")})
    limit = settings.CLAIM_DOCUMENT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            {"file": _("The file is larger than %(size)s MB.") % {"size": round(limit / 1024 / 1024, 1)}}
        )
    if not upload.size:
        raise ValidationError({"file": _("The file is empty.")})
    upload.seek(0)
    kind = document_type(upload.read(16))
    upload.seek(0)
    if kind is None:
        raise ValidationError({"file": _("Attach a PDF, JPEG or PNG file.")})
    claim = locks.lock_claim(claim_id)
    if claim.status == CarrierClaim.Status.PAID:
        raise TransitionRefused(_claim_not_possible(claim, None))
    content_type, extension = kind
    name = " ".join((upload.name or "").split())[-FILE_NAME_LENGTH:] or _("document")
    document = ClaimDocument(
        claim=claim, original_name=name, content_type=content_type, size=upload.size, uploaded_by=stored_user(actor)
    )
    # The kept name's extension follows the type read from the file, never the name it came with.
    document.file.save(f"document{extension}", upload, save=False)
    try:
        document.save()
    except Exception:
        # The file is written before its row: a row that cannot be written leaves no file behind.
        document.file.delete(save=False)
        raise
    return document
