"""A customer's personal data over its whole life (docs/architecture.md, "Personal data"): handed to
them on request as a workbook, erased on request once nothing of theirs is open, and anonymised by
`manage.py anonymise_personal_data` once their last order finished longer ago than
PERSONAL_DATA_RETENTION_DAYS. Every one of these is written to core's access log with who did it.

Erasing keeps every figure: orders, lines, amounts, payments, refunds, statuses, times and the
province the goods went to stay, so the dashboard and the rollups do not change; the name, phone,
email, street, district, city, postcode and the free text customers or staff wrote about them go.
Apps above orders erase their own copies when `PERSONAL_DATA_ERASED` is announced. Archived orders
count as finished orders: their customers are found by their last order, live or archived, and the
same fields are erased from their columns, kept rows and kept API answers, each app blanking its own
rows (`ERASING_ARCHIVED_ORDER`) with the field list it uses for its live rows."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import CharField, Max, Model, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor
from core.permissions import Orders, require
from core.privacy import Action, record

from .. import locks
from ..events import CUSTOMER_DATA_SHEETS, ERASING_ARCHIVED_ORDER, ERASURE_BLOCKERS, PERSONAL_DATA_ERASED
from ..models import (
    ArchivedOrder,
    Customer,
    IdempotencyRecord,
    Notification,
    Order,
    OrderEvent,
    OrderLine,
    OrderNote,
    Payment,
    Refund,
)

FINISHED = [Order.Status.COMPLETED, Order.Status.CANCELLED]
BATCH_CUSTOMERS = 200
# What an anonymised customer's phone becomes: unique (the column is), and no phone number.
ANONYMOUS_PHONE_PREFIX = "~"
# What erasing blanks in the orders app's rows, live and archived alike. Staff notes quote addresses
# and what customers said; messages carry names and addresses. Province, amounts and times stay.
ERASED_FIELDS: dict[type[Model], dict[str, str]] = {
    Order: {
        "recipient": "",
        "phone": "",
        "city": "",
        "district": "",
        "address": "",
        "postcode": "",
        "address_key": "",
        "special_instructions": "",
    },
    OrderNote: {"text": ""},
    Notification: {"recipient": "", "subject": "", "body": "", "last_error": ""},
}
# The same fields in the channel API's answer for an order (`note` is the special instructions).
ERASED_ANSWER_FIELDS = ("recipient", "phone", "city", "district", "address", "postcode", "note")
# The archived orders' own columns that copy the order's personal fields.
ERASED_ARCHIVED_COLUMNS = {"recipient": "", "phone": "", "city": ""}
ARCHIVED_BATCH = 200


def retention_cutoff(now: datetime | None = None) -> datetime:
    """Customers whose last order finished before this are anonymised."""
    return (now or timezone.now()) - timedelta(days=settings.PERSONAL_DATA_RETENTION_DAYS)


def customers_due(before: datetime) -> QuerySet[Customer]:
    """Customers not anonymised yet whose orders are all finished, the last before `before`. Archived
    orders are finished ones: the last finished order is looked for among live and archived alike."""
    last_live = Subquery(
        Order.objects.filter(customer=OuterRef("pk"))
        .values("customer")
        .annotate(last=Max(Coalesce("completed_at", "cancelled_at")))
        .values("last")
    )
    last_archived = Subquery(
        ArchivedOrder.objects.filter(customer=OuterRef("pk"))
        .values("customer")
        .annotate(last=Max("finished_at"))
        .values("last")
    )
    return (
        Customer.objects.filter(anonymised_at__isnull=True)
        .exclude(orders__status__in=[status for status in Order.Status.values if status not in FINISHED])
        # SQLite's MAX(a, b) is NULL when either is: each side falls back to the other.
        .annotate(last_finished=Greatest(Coalesce(last_live, last_archived), Coalesce(last_archived, last_live)))
        .filter(last_finished__lt=before)
    )


def erasure_blockers(customer: Customer) -> list[str]:
    """Why the customer's data may not be erased now: open orders and refunds here, open returns
    and complaints in the apps above (ERASURE_BLOCKERS). Empty when it may."""
    orders = Order.objects.filter(customer=customer)
    reasons = [
        _("Order %(number)s is %(status)s.") % {"number": order.number, "status": order.get_status_display()}
        for order in orders.exclude(status__in=FINISHED).order_by("pk")
    ]
    reasons += [
        _("A refund of %(amount)s for order %(number)s is %(status)s.")
        % {"amount": refund.amount, "number": refund.order.number, "status": refund.get_status_display()}
        for refund in Refund.objects.filter(order__customer=customer, status__in=Refund.OPEN).select_related("order")
    ]
    order_ids = list(orders.values_list("pk", flat=True))
    for contributed in ERASURE_BLOCKERS.publish(customer=customer, order_ids=order_ids):
        reasons += contributed
    return reasons


def erase_customer(customer_id: int, *, actor: Actor) -> Customer:
    """Erase a customer's personal data on their request. Refused, with every reason, while an
    order, refund, return or complaint of theirs is open; the refusal is recorded as well."""
    require(actor, Orders.ERASE_CUSTOMER_DATA, _("Your role may not erase customers' personal data."))
    try:
        with transaction.atomic():
            order_ids = list(Order.objects.filter(customer_id=customer_id).values_list("pk", flat=True))
            locks.lock_orders(order_ids)
            archived_ids = locks.lock_archived_orders_of([customer_id])
            locked = locks.lock_customers([customer_id])
            if not locked:
                raise Customer.DoesNotExist
            customer = locked[0]
            if customer.anonymised_at is not None:
                raise ValidationError(_("This customer's personal data was already erased."))
            reasons = erasure_blockers(customer)
            if reasons:
                raise ValidationError([_("Nothing was erased: the customer still has open business."), *reasons])
            _erase([customer], order_ids, archived_ids, actor=actor, action=Action.ERASED)
    except ValidationError as refusal:
        # Written after the rollback, so the refusal stays on record.
        record(actor, Action.ERASURE_REFUSED, customer_id=customer_id, subject=" ".join(refusal.messages)[:255])
        raise
    customer.refresh_from_db()
    return customer


def anonymise_expired(*, actor: Actor, before: datetime | None = None, batch_size: int = BATCH_CUSTOMERS) -> int:
    """Anonymise every customer whose last order finished before `before` (the retention cutoff
    by default), `batch_size` customers per transaction, in the order of their ids. Customers
    with open returns, refunds or complaints are left for a later run. Running it again does
    nothing new; a run killed half-way kept its finished batches. Returns how many were anonymised."""
    require(actor, Orders.ERASE_CUSTOMER_DATA, _("Your role may not erase customers' personal data."))
    before = before or retention_cutoff()
    anonymised, after = 0, 0
    while True:
        ids = list(customers_due(before).filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        after = ids[-1]
        anonymised += _anonymise_batch(ids, before, actor)
    # A channel's retried request is answered from these for minutes, not years; their answers
    # hold the orders' addresses.
    IdempotencyRecord.objects.filter(created_at__lt=before).delete()
    return anonymised


@transaction.atomic
def _anonymise_batch(customer_ids, before, actor):
    order_ids = list(Order.objects.filter(customer_id__in=customer_ids).values_list("pk", flat=True))
    locks.lock_orders(order_ids)
    locks.lock_archived_orders_of(customer_ids)
    locks.lock_customers(customer_ids)
    # Read again under the locks: an order may have come in or been reopened since the list was made.
    due = list(customers_due(before).filter(pk__in=customer_ids).order_by("pk"))
    due = [customer for customer in due if not erasure_blockers(customer)]
    if not due:
        return 0
    erased_orders = list(Order.objects.filter(customer__in=due).values_list("pk", flat=True))
    erased_archived = list(ArchivedOrder.objects.filter(customer__in=due).values_list("pk", flat=True))
    _erase(due, erased_orders, erased_archived, actor=actor, action=Action.ANONYMISED)
    return len(due)


def _erase(customers, order_ids, archived_ids, *, actor, action):
    customer_ids = [customer.pk for customer in customers]
    Order.objects.filter(pk__in=order_ids).update(**ERASED_FIELDS[Order])
    OrderNote.objects.filter(order_id__in=order_ids).update(**ERASED_FIELDS[OrderNote])
    Notification.objects.filter(order_id__in=order_ids).update(**ERASED_FIELDS[Notification])
    _erase_archived(archived_ids)
    Customer.objects.filter(pk__in=customer_ids).update(
        name="",
        email="",
        phone=Concat(Value(ANONYMOUS_PHONE_PREFIX), Cast("id", CharField())),
        anonymised_at=timezone.now(),
    )
    PERSONAL_DATA_ERASED.publish(customer_ids=customer_ids, order_ids=order_ids)
    for customer in customers:
        record(actor, action, customer_id=customer.pk)


def blank_archived_rows(rows: dict[str, list[dict]], model: type[Model], blanks: dict[str, str]) -> None:
    """Blank `blanks` ({field: value}) in every kept row of `model` of an archived order's `rows`,
    in place: how each app erases its archived rows with the field list of its live ones."""
    for row in rows.get(model._meta.label_lower, []):
        row.update(blanks)


def _erase_archived(archived_ids):
    """Erase the archived orders' copies of personal data: their columns, the kept rows of every app
    and the kept API answers, `ARCHIVED_BATCH` orders read and written at a time."""
    for start in range(0, len(archived_ids), ARCHIVED_BATCH):
        batch = list(ArchivedOrder.objects.filter(pk__in=archived_ids[start : start + ARCHIVED_BATCH]))
        for archived in batch:
            for model, blanks in ERASED_FIELDS.items():
                blank_archived_rows(archived.rows, model, blanks)
            archived.api_answer.update({key: "" for key in ERASED_ANSWER_FIELDS if key in archived.api_answer})
            ERASING_ARCHIVED_ORDER.publish(rows=archived.rows, answer=archived.api_answer)
            for column, blank in ERASED_ARCHIVED_COLUMNS.items():
                setattr(archived, column, blank)
        ArchivedOrder.objects.bulk_update(batch, [*ERASED_ARCHIVED_COLUMNS, "rows", "api_answer"])


# The workbook of everything held about a customer ------------------------------------------------


def customer_data_sheets(customer_id: int, *, actor: Actor) -> list[tuple[str, list[str], list[list]]]:
    """Everything held about a customer, as (title, headers, rows) sheets for one workbook: their
    customer row, orders with lines, payments, refunds, events, notes and messages, what the apps
    above orders hold (CUSTOMER_DATA_SHEETS), and their archived orders with every row those kept.
    Handing it out is recorded."""
    require(actor, Orders.EXPORT_CUSTOMER_DATA, _("Your role may not hand customers their data."))
    customer = Customer.objects.get(pk=customer_id)
    orders = Order.objects.filter(customer=customer).order_by("placed_at", "pk")
    order_ids = list(orders.values_list("pk", flat=True))

    def label(model, name):
        return str(model._meta.get_field(name).verbose_name)

    def sheet(model, fields, rows, *, title=None):
        return (str(title or model._meta.verbose_name_plural), [label(model, name) for name in fields], rows)

    def when(value):
        return timezone.localtime(value).replace(tzinfo=None, microsecond=0) if value else ""

    order_fields = [
        "number",
        "channel",
        "channel_order_id",
        "status",
        "placed_at",
        "recipient",
        "phone",
        "province",
        "city",
        "district",
        "address",
        "postcode",
        "special_instructions",
        "currency",
        "total",
        "payment_method",
        "payment_status",
        "amount_paid",
        "amount_refunded",
    ]
    sheets = [
        sheet(
            Customer,
            ["name", "phone", "email", "created_at", "anonymised_at"],
            [[customer.name, customer.phone, customer.email, when(customer.created_at), when(customer.anonymised_at)]],
        ),
        sheet(
            Order,
            order_fields,
            [
                [
                    order.number,
                    str(order.channel),
                    order.channel_order_id,
                    order.get_status_display(),
                    when(order.placed_at),
                    order.recipient,
                    order.phone,
                    order.province,
                    order.city,
                    order.district,
                    order.address,
                    order.postcode,
                    order.special_instructions,
                    order.currency,
                    order.total,
                    order.get_payment_method_display(),
                    order.get_payment_status_display(),
                    order.amount_paid,
                    order.amount_refunded,
                ]
                for order in orders.select_related("channel")
            ],
        ),
        sheet(
            OrderLine,
            ["order", "sku", "name", "quantity", "unit_price", "line_total"],
            [
                [line.order.number, line.sku, line.name, line.quantity, line.unit_price, line.line_total]
                for line in OrderLine.objects.filter(order_id__in=order_ids).select_related("order").order_by("pk")
            ],
        ),
        sheet(
            Payment,
            ["order", "method", "amount", "status", "created_at"],
            [
                [p.order.number, p.get_method_display(), p.amount, p.get_status_display(), when(p.created_at)]
                for p in Payment.objects.filter(order_id__in=order_ids).select_related("order").order_by("pk")
            ],
        ),
        sheet(
            Refund,
            ["order", "amount", "reason", "status"],
            [
                [r.order.number, r.amount, r.reason, r.get_status_display()]
                for r in Refund.objects.filter(order_id__in=order_ids).select_related("order").order_by("pk")
            ],
        ),
        sheet(
            OrderEvent,
            ["order", "from_status", "to_status", "reason", "created_at"],
            [
                [e.order.number, e.get_from_status_display(), e.get_to_status_display(), e.reason, when(e.created_at)]
                for e in OrderEvent.objects.filter(order_id__in=order_ids).select_related("order").order_by("pk")
            ],
        ),
        sheet(
            OrderNote,
            ["order", "text", "created_at"],
            [
                [n.order.number, n.text, when(n.created_at)]
                for n in OrderNote.objects.filter(order_id__in=order_ids).select_related("order").order_by("pk")
            ],
        ),
        sheet(
            Notification,
            ["order", "event", "medium", "recipient", "subject", "body", "status", "created_at"],
            [
                [
                    n.order.number,
                    n.get_event_display(),
                    n.get_medium_display(),
                    n.recipient,
                    n.subject,
                    n.body,
                    n.get_status_display(),
                    when(n.created_at),
                ]
                for n in Notification.objects.filter(order_id__in=order_ids).select_related("order").order_by("pk")
            ],
        ),
    ]
    for contributed in CUSTOMER_DATA_SHEETS.publish(customer=customer, order_ids=order_ids):
        sheets += contributed
    sheets += _archived_sheets(customer, sheet, when)
    record(
        actor,
        Action.SUBJECT_ACCESS,
        customer_id=customer.pk,
        subject=_("Everything held about the customer"),
        rows=sum(len(rows) for _title, _headers, rows in sheets),
    )
    return sheets


def _archived_sheets(customer, sheet, when):
    """Their archived orders (docs/architecture.md, "Archive"): one row each with the columns the
    archive keeps, then every kept row of every app, one per line, as "field: value" pairs."""
    archived = list(
        ArchivedOrder.objects.filter(customer=customer).select_related("channel").order_by("placed_at", "pk")
    )
    fields = [
        "number",
        "channel",
        "channel_order_id",
        "status",
        "placed_at",
        "finished_at",
        "recipient",
        "phone",
        "province",
        "city",
        "currency",
        "total",
        "payment_status",
        "archived_at",
    ]
    orders_sheet = sheet(
        ArchivedOrder,
        fields,
        [
            [
                order.number,
                str(order.channel),
                order.channel_order_id,
                order.get_status_display(),
                when(order.placed_at),
                when(order.finished_at),
                order.recipient,
                order.phone,
                order.province,
                order.city,
                order.currency,
                order.total,
                order.get_payment_status_display(),
                when(order.archived_at),
            ]
            for order in archived
        ],
    )
    kept = []
    for order in archived:
        for label in sorted(order.rows):
            model = apps.get_model(label)
            for row in order.rows_of(label):
                kept.append([order.number, str(model._meta.verbose_name), _kept_values(model, row)])
    rows_sheet = (
        str(ArchivedOrder._meta.get_field("rows").verbose_name),
        [str(ArchivedOrder._meta.get_field("number").verbose_name), _("kind"), _("kept values")],
        kept,
    )
    return [orders_sheet, rows_sheet]


def _kept_values(model, row):
    names = {field.attname: str(field.verbose_name) for field in model._meta.concrete_fields}
    return "; ".join(
        f"{names.get(column, column)}: {value}" for column, value in row.items() if value not in ("", None, [], {})
    )
