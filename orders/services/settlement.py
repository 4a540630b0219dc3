"""Money on an order: payments captured, refunds asked for, approved and paid, and the payment
status that follows from them.

Each function is one transaction that locks the order row first and then its payment rows by
primary key, so two people settling one order are served one after the other. That is what keeps
the approved and paid refunds of a payment within its amount when two of Finance approve at once.
Cancelling (lifecycle) and carriers' cash-on-delivery remittances settle money here too, so this module sits below lifecycle and
locks the order row itself."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core import bulk
from core.actors import Actor, stored_user
from core.permissions import Orders, require
from core.transitions import ensure_allowed, transition_label

from .. import locks
from ..events import PAYMENT_CAPTURED, PAYMENTS_CAPTURED
from ..locks import SettlingOrder
from ..models import ZERO, Order, Payment, PaymentMethod, Refund

Status = Order.Status
PaymentStatus = Order.PaymentStatus

# Refunds that hold on to part of a payment: nothing else may be approved against that part.
COMMITTED = [Refund.Status.APPROVED, Refund.Status.PAID]
CENT = Decimal("0.01")
# Orders locked per statement of a remittance, and rows per INSERT or UPDATE on SQLite: large
# enough to cost a few statements per thousand orders, small enough for SQLite's limit on a
# statement's parameters (PostgreSQL writes each in one statement of arrays, core.bulk).
BULK_BATCH = 1000


def payment_status_for(total: Decimal, captured: Decimal, refunded: Decimal = ZERO) -> Order.PaymentStatus:
    """The payment status rule: what was captured against the total until a refund is paid, then
    how much of the captured money went back."""
    if refunded > 0:
        return PaymentStatus.REFUNDED if refunded >= captured else PaymentStatus.PARTIALLY_REFUNDED
    if captured >= total:
        # Also an order with nothing to pay, such as a free replacement.
        return PaymentStatus.PAID
    return PaymentStatus.PARTIALLY_PAID if captured > 0 else PaymentStatus.UNPAID


def update_payment_figures(order: Order) -> None:
    """Recompute a locked order's captured, refunded and owed amounts from its payments and
    refunds, and its payment status from those: after any change to either, call this."""
    captured = Payment.objects.filter(order=order, status=Payment.Status.CAPTURED).aggregate(total=Sum("amount"))
    refunds = Refund.objects.filter(order=order).aggregate(
        paid=Sum("amount", filter=Q(status=Refund.Status.PAID)),
        owed=Sum("amount", filter=Q(status__in=Refund.OPEN)),
    )
    # SQLite sums decimals without their scale (50 for 50.00); messages show these amounts.
    order.amount_paid = (captured["total"] or ZERO).quantize(CENT)
    order.amount_refunded = (refunds["paid"] or ZERO).quantize(CENT)
    order.refund_due = (refunds["owed"] or ZERO).quantize(CENT)
    order.payment_status = payment_status_for(order.total, order.amount_paid, order.amount_refunded)
    order.save(update_fields=["amount_paid", "amount_refunded", "refund_due", "payment_status", "updated_at"])


def _refunded_by_payment(payments, statuses):
    """What refunds in `statuses` take from each of `payments`, by payment id."""
    rows = (
        Refund.objects.filter(payment__in=payments, status__in=statuses)
        .order_by()
        .values("payment_id")
        .annotate(total=Sum("amount"))
    )
    return {row["payment_id"]: row["total"] for row in rows}


def _required_text(value, field_name, max_length, message):
    value = (value or "").strip()
    if not value:
        raise ValidationError({field_name: message})
    if len(value) > max_length:
        raise ValidationError({field_name: _("Keep it to %(count)s characters at most.") % {"count": max_length}})
    return value


def _positive_amount(amount):
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ValidationError({"amount": _("Enter an amount greater than zero.")})
    if amount != amount.quantize(CENT):
        raise ValidationError({"amount": _("Enter the amount to the cent at most.")})
    # In cents whatever way it was written (1E+3 is 1000.00), so messages show money as money.
    return amount.quantize(CENT)


# --- payments ------------------------------------------------------------------------------------


@transaction.atomic
def record_payment(
    order_id: int,
    *,
    method: str,
    amount: Decimal,
    actor: Actor,
    reference: str = "",
    instalment_number: int | None = None,
    instalment_count: int | None = None,
) -> Payment:
    """Money received for an order. Cash on delivery is collected by the carrier, so it is only
    recorded once goods have left (normally from the carrier's remittance, record_cod_remitted;
    by hand for what a remittance left out); an instalment names its number and how many there
    are."""
    require(actor, Orders.ADD_PAYMENT, _("Your role may not record payments."))
    order = locks.lock_order(order_id)
    if method not in PaymentMethod.values:
        raise ValidationError({"method": _("Choose a payment method.")})
    amount = _positive_amount(amount)
    _check_instalment(order, method, instalment_number, instalment_count)
    if order.status == Status.CANCELLED:
        raise ValidationError(
            _("Order %(number)s is cancelled; no payment can be recorded.") % {"number": order.number}
        )
    if method == PaymentMethod.COD and order.status not in Order.LEFT_THE_WAREHOUSE:
        raise ValidationError(
            {
                "method": _(
                    "Order %(number)s has not left the warehouse: cash on delivery is recorded once the "
                    "carrier has the goods."
                )
                % {"number": order.number}
            }
        )
    if order.amount_paid + amount > order.total:
        raise ValidationError(
            {
                "amount": _("This would take %(paid)s in all for an order of %(total)s.")
                % {"paid": order.amount_paid + amount, "total": order.total}
            }
        )
    return _capture(
        order,
        method=method,
        amount=amount,
        actor=actor,
        reference=reference,
        instalment_number=instalment_number,
        instalment_count=instalment_count,
    )


def _check_instalment(order, method, number, count):
    if number is None and count is None:
        return
    if number is None or count is None:
        missing = "instalment_number" if number is None else "instalment_count"
        raise ValidationError({missing: _("Give both the instalment and the number of instalments, or neither.")})
    if method != PaymentMethod.INSTALMENTS:
        raise ValidationError({"method": _("Only a payment by instalments has an instalment number.")})
    if not isinstance(count, int) or count < 1:
        raise ValidationError({"instalment_count": _("Enter how many instalments there are, 1 or more.")})
    if not isinstance(number, int) or not 1 <= number <= count:
        raise ValidationError({"instalment_number": _("Enter an instalment from 1 to %(count)s.") % {"count": count}})
    recorded = list(
        order.payments.filter(status=Payment.Status.CAPTURED, instalment_count__isnull=False).values_list(
            "instalment_number", "instalment_count"
        )
    )
    if any(recorded_count != count for _number, recorded_count in recorded):
        raise ValidationError(
            {
                "instalment_count": _("Order %(number)s is paid in %(count)s instalments.")
                % {"number": order.number, "count": recorded[0][1]}
            }
        )
    if any(recorded_number == number for recorded_number, _count in recorded):
        raise ValidationError(
            {
                "instalment_number": _(
                    "Instalment %(instalment)s of %(count)s of order %(number)s is recorded already."
                )
                % {"instalment": number, "count": count, "number": order.number}
            }
        )


def _capture(order, *, method, amount, actor, reference="", instalment_number=None, instalment_count=None):
    payment = Payment.objects.create(
        order=order,
        method=method,
        amount=amount,
        reference=(reference or "").strip()[:100],
        recorded_by=stored_user(actor),
        instalment_number=instalment_number,
        instalment_count=instalment_count,
    )
    update_payment_figures(order)
    PAYMENT_CAPTURED.publish(payment=payment)
    return payment


@dataclass(frozen=True)
class Remitted:
    """Cash a carrier collected for one order and paid over under its batch `reference`."""

    order_id: int
    amount: Decimal
    reference: str


@dataclass(frozen=True)
class CapturedPayment:
    """A payment a remittance captured: its row's primary key, the order it pays (as settled, after
    the whole batch) and the amount."""

    pk: int
    order: SettlingOrder
    amount: Decimal


@transaction.atomic
def record_cod_remitted(
    remitted: list[Remitted], *, actor: Actor, locked: dict[int, SettlingOrder] | None = None
) -> list[CapturedPayment]:
    """A carrier paid over the cash it collected on delivery: one captured cash-on-delivery payment
    per item, all or nothing (an order whose goods left in two parcels may be paid by each). The
    orders are locked ascending in one statement (`locked`: the caller locked them in this
    transaction already, by locks.lock_orders_to_settle). An order that is not cash on delivery,
    has not left the warehouse, or would be paid past its total refuses the whole batch, naming it.
    The payments and the orders' figures are written a statement each, without a model instance
    per row, and the batch is announced once (`PAYMENTS_CAPTURED`). Returns the payments in the
    order given."""
    require(actor, Orders.ADD_PAYMENT, _("Your role may not record payments."))
    if locked is None:
        locked = {
            order.pk: order for order in locks.lock_orders_to_settle(sorted({item.order_id for item in remitted}))
        }
    captured = []
    for item in remitted:
        order = locked.get(item.order_id)
        if order is None:
            raise ValidationError(_("Order %(id)s no longer exists.") % {"id": item.order_id})
        amount = _positive_amount(item.amount)
        if order.payment_method != PaymentMethod.COD:
            raise ValidationError(_("Order %(number)s is not paid cash on delivery.") % {"number": order.number})
        if order.status not in Order.LEFT_THE_WAREHOUSE:
            raise ValidationError(
                _("Order %(number)s is %(status)s: the carrier has collected nothing for it.")
                % {"number": order.number, "status": order.get_status_display()}
            )
        if order.amount_paid + amount > order.total:
            raise ValidationError(
                _("Order %(number)s: %(amount)s would take %(paid)s in all for an order of %(total)s.")
                % {"number": order.number, "amount": amount, "paid": order.amount_paid + amount, "total": order.total}
            )
        order.amount_paid = (order.amount_paid + amount).quantize(CENT)
        order.payment_status = payment_status_for(order.total, order.amount_paid, order.amount_refunded)
        captured.append((order, amount, item.reference.strip()[:100]))
    now = timezone.now()
    ids = bulk.insert_columns(
        Payment,
        {
            "order_id": [order.pk for order, _amount, _reference in captured],
            "amount": [amount for _order, amount, _reference in captured],
            "reference": [reference for _order, _amount, reference in captured],
            "method": PaymentMethod.COD,
            "recorded_by_id": getattr(stored_user(actor), "pk", None),
            "created_at": now,
        },
        batch_size=BULK_BATCH,
    )
    payments = [
        CapturedPayment(pk, order, amount) for pk, (order, amount, _reference) in zip(ids, captured, strict=True)
    ]
    _write_payment_figures(list({payment.order.pk: payment.order for payment in payments}.values()), now)
    PAYMENTS_CAPTURED.publish(payments=payments)
    return payments


def _write_payment_figures(orders: list[SettlingOrder], now) -> None:
    """Write the paid amount and payment status of many locked orders. On PostgreSQL one UPDATE …
    FROM unnest(...) with an array per column: Django's bulk_update writes a CASE with a branch per
    order, which the database tries for every row, and took minutes for a 50,000-line remittance;
    a VALUES list binds three parameters per order. Elsewhere an update per order."""
    if connection.vendor != "postgresql":
        for order in orders:
            Order.objects.filter(pk=order.pk).update(
                amount_paid=order.amount_paid, payment_status=order.payment_status, updated_at=now
            )
        return
    table = connection.ops.quote_name(Order._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS o SET amount_paid = v.paid, payment_status = v.status, updated_at = %s "
            "FROM unnest(%s::bigint[], %s::numeric[], %s::varchar[]) AS v(id, paid, status) WHERE o.id = v.id",
            [
                now,
                [order.pk for order in orders],
                [order.amount_paid for order in orders],
                [order.payment_status for order in orders],
            ],
        )


# --- refunds -------------------------------------------------------------------------------------


@transaction.atomic
def request_refund(
    order_id: int, *, amount: Decimal, reason: str, actor: Actor, payment_id: int | str | None = None
) -> list[Refund]:
    """Ask for money back: against one payment, or spread over the captured payments newest
    first. Each payment gives at most what approved and paid refunds have not taken yet; Finance
    then approves each refund (see approve_refund). Returns the refunds, one per payment used."""
    require(actor, Orders.REQUEST_REFUND, _("Your role may not request refunds."))
    return refund_against_payments(order_id, amount=amount, reason=reason, actor=actor, payment_id=payment_id)


def refund_against_payments(
    order_id: int, *, amount: Decimal, reason: str, actor: Actor, payment_id: int | str | None = None
) -> list[Refund]:
    """`request_refund` without its permission check, for services whose own permission already
    allows the refund (an edit that lowers a paid order's total, orders.services.editing)."""
    amount = _positive_amount(amount)
    reason = _required_text(
        reason, "reason", Refund._meta.get_field("reason").max_length, _("Say why the money goes back.")
    )
    order = locks.lock_order(order_id)
    payments = locks.lock_captured_payments(order)
    if payment_id is not None:
        payments = [payment for payment in payments if str(payment.pk) == str(payment_id)]
        if not payments:
            raise ValidationError(
                {"payment": _("Choose a captured payment of order %(number)s.") % {"number": order.number}}
            )
    committed = _refunded_by_payment(payments, COMMITTED)
    newest_first = sorted(payments, key=lambda payment: (payment.created_at, payment.pk), reverse=True)
    room = [(payment, payment.amount - committed.get(payment.pk, ZERO)) for payment in newest_first]
    refundable = sum((left for _payment, left in room), ZERO)
    if amount > refundable:
        raise ValidationError(
            {
                "amount": _(
                    "At most %(refundable)s %(currency)s of order %(number)s can be refunded; %(amount)s is more."
                )
                % {"refundable": refundable, "currency": order.currency, "number": order.number, "amount": amount}
            }
        )
    refunds, still = [], amount
    for payment, left in room:
        share = min(left, still)
        if share > 0:
            refunds.append(
                Refund.objects.create(
                    order=order,
                    payment=payment,
                    amount=share,
                    reason=reason,
                    requested_by=stored_user(actor),
                )
            )
            still -= share
    update_payment_figures(order)
    return refunds


def request_refunds_owed(order: Order, *, actor: Actor, reason: str) -> list[Refund]:
    """Of a locked order being cancelled: a requested refund per captured payment, for what no
    refund (open or paid) covers yet. The cancellation was allowed, so no refund permission is
    asked for this request; Finance still approves and pays it."""
    payments = locks.lock_captured_payments(order)
    covered = _refunded_by_payment(payments, [*Refund.OPEN, Refund.Status.PAID])
    reason = (_("Order cancelled: %(reason)s") % {"reason": reason})[: Refund._meta.get_field("reason").max_length]
    refunds = [
        Refund.objects.create(
            order=order,
            payment=payment,
            amount=payment.amount - covered.get(payment.pk, ZERO),
            reason=reason,
            requested_by=stored_user(actor),
        )
        for payment in payments
        if payment.amount > covered.get(payment.pk, ZERO)
    ]
    if refunds:
        update_payment_figures(order)
    return refunds


def _refund_named(refund, bound_method):
    # A refund has no number of its own, so it is named by its order and amount.
    return {
        "amount": f"{refund.amount} {refund.order.currency}",
        "number": refund.order.number,
        "status": refund.get_status_display(),
        "step": transition_label(bound_method),
    }


def _refund_step_not_possible(refund, bound_method):
    return _(
        "The refund of %(amount)s on order %(number)s is %(status)s now, so “%(step)s” is not possible."
    ) % _refund_named(refund, bound_method)


def _refund_step_not_permitted(refund, bound_method):
    return _(
        "Your role may not take the step “%(step)s” on the refund of %(amount)s on order %(number)s."
    ) % _refund_named(refund, bound_method)


@transaction.atomic
def approve_refund(refund_id: int, *, actor: Actor) -> Refund:
    """Finance agrees to pay a requested refund, as long as the payment's approved and paid
    refunds stay within what it captured."""
    return _take_refund_step(refund_id, "approve", actor, check=_ensure_within_payment, approved_by=stored_user(actor))


def _ensure_within_payment(refund):
    payment = refund.payment
    committed = _refunded_by_payment([payment], COMMITTED).get(payment.pk, ZERO)
    if committed + refund.amount > payment.amount:
        raise ValidationError(
            {
                "amount": _(
                    "The refund of %(amount)s on order %(number)s is more than is left of its payment of "
                    "%(paid)s: %(left)s after the refunds approved or paid already."
                )
                % {
                    "amount": refund.amount,
                    "number": refund.order.number,
                    "paid": payment.amount,
                    "left": payment.amount - committed,
                }
            }
        )


@transaction.atomic
def mark_refund_paid(refund_id: int, *, actor: Actor, reference: str) -> Refund:
    """The approved refund went out; `reference` is the payout's (bank or provider) reference."""
    reference = _required_text(
        reference,
        "reference",
        Refund._meta.get_field("reference").max_length,
        _("Enter the payout reference, so the refund can be found in the bank statement."),
    )
    return _take_refund_step(refund_id, "mark_paid", actor, reference=reference, settled_by=stored_user(actor))


@transaction.atomic
def fail_refund(refund_id: int, *, actor: Actor, reason: str) -> Refund:
    """Finance declines a requested refund, or an approved one could not be paid out."""
    reason = _required_text(
        reason,
        "reason",
        Refund._meta.get_field("failure_reason").max_length,
        _("Say why the refund is declined or failed."),
    )
    return _take_refund_step(refund_id, "fail", actor, failure_reason=reason, settled_by=stored_user(actor))


def _take_refund_step(refund_id, step_name, actor, *, check=None, **fields):
    """Lock the refund (after its order and payment), take the step if its state, the actor's role
    and `check` allow it, record `fields` on it, and bring its order's figures up to date."""
    refund = locks.lock_refund(refund_id)
    step = getattr(refund, step_name)
    ensure_allowed(refund, step, actor, refuse_state=_refund_step_not_possible, refuse_role=_refund_step_not_permitted)
    if check is not None:
        check(refund)
    step()
    for name, value in fields.items():
        setattr(refund, name, value)
    refund.save()
    update_payment_figures(refund.order)
    return refund
