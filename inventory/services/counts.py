"""Stock count sessions (docs/architecture.md, "Stock counts"): opened for a warehouse, a zone, a
list of bins or an ABC class (by hand or by the schedule), counted blind by scan, by hand or by
sheet, finished, and booked through the ledger at once or, when a variance is above the count
settings' limits, after a manager's approval. Every step locks the session first; its lines change
only under that lock; booking then locks the stock levels in key order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import SYSTEM, Actor, stored_user
from core.permissions import Inventory, require
from core.transitions import ensure_allowed

from .. import locks
from ..models import AbcClass, BundleComponent, CountLine, CountSession, CountSettings, Product, StockLevel, Warehouse
from .stock import MAX_QUANTITY, _book_counts

Scope = CountSession.Scope
NOTE_LENGTH = CountSession._meta.get_field("note").max_length
BIN_LENGTH = StockLevel._meta.get_field("bin_location").max_length
HUNDRED = Decimal(100)


def _not_possible(session, bound_method):
    return _("Count %(number)s is %(status)s now.") % {"number": session.number, "status": session.get_status_display()}


def _not_permitted(session, bound_method):
    return _("Your role may not do this with stock counts.")


def _step(session: CountSession, bound_method, actor: Actor) -> None:
    ensure_allowed(session, bound_method, actor, refuse_state=_not_possible, refuse_role=_not_permitted)
    bound_method()


def _bins(bins) -> list[str]:
    cleaned = []
    for name in bins or ():
        name = " ".join(str(name).split())
        if len(name) > BIN_LENGTH:
            raise ValidationError({"bins": _("A bin is named in at most %(max)d characters.") % {"max": BIN_LENGTH}})
        if name and name.casefold() not in {known.casefold() for known in cleaned}:
            cleaned.append(name)
    return cleaned


def _levels_in_scope(warehouse, scope, zone, bins, abc_class):
    levels = StockLevel.objects.filter(warehouse=warehouse).exclude(
        product__in=BundleComponent.objects.values("bundle")
    )
    if scope == Scope.ZONE:
        return levels.filter(bin_location__istartswith=zone)
    if scope == Scope.BINS:
        matches = Q()
        for name in bins:
            matches |= Q(bin_location__iexact=name)
        return levels.filter(matches)
    if scope == Scope.ABC:
        return levels.filter(product__abc_class=abc_class)
    return levels


@transaction.atomic
def open_count_session(
    *,
    warehouse_id: int,
    scope: str,
    actor: Actor,
    zone: str = "",
    bins: Sequence[str] = (),
    abc_class: str = "",
    note: str = "",
    scheduled: bool = False,
) -> CountSession:
    """Open a session counting every stock level of the warehouse in `scope`: the whole warehouse,
    a zone (the bins whose location starts with `zone`), the `bins` listed, or the products of an
    ABC class. A stock level already in another session that is not booked yet is left out (two
    sessions would book one shelf's variance twice); a session with nothing left to count is
    refused."""
    require(actor, Inventory.ADD_COUNTSESSION, _("Your role may not open stock counts."))
    warehouse = Warehouse.objects.filter(pk=warehouse_id, active=True).first()
    if warehouse is None:
        raise ValidationError({"warehouse": _("Choose an active warehouse.")})
    if scope not in Scope.values:
        raise ValidationError({"scope": _("Choose what is counted.")})
    zone = " ".join((zone or "").split())
    bins = _bins(bins)
    if scope == Scope.ZONE and not zone:
        raise ValidationError({"zone": _("Enter the start of the zone's bin locations, for example A-01.")})
    if scope == Scope.BINS and not bins:
        raise ValidationError({"bins": _("Enter the bins to count, one per line.")})
    if scope == Scope.ABC and abc_class not in AbcClass.values:
        raise ValidationError({"abc_class": _("Choose class A, B or C.")})
    note = " ".join((note or "").split())
    if len(note) > NOTE_LENGTH:
        raise ValidationError({"note": _("Use at most %(max)d characters.") % {"max": NOTE_LENGTH}})
    session = CountSession.objects.create(
        warehouse=warehouse,
        scope=scope,
        zone=zone if scope == Scope.ZONE else "",
        bins=bins if scope == Scope.BINS else [],
        abc_class=abc_class if scope == Scope.ABC else "",
        note=note,
        scheduled=scheduled,
        created_by=stored_user(actor),
    )
    levels = (
        _levels_in_scope(warehouse, scope, zone, bins, abc_class)
        .exclude(count_lines__live=True)
        .values_list("pk", "bin_location")
    )
    lines = [CountLine(session=session, stock_level_id=pk, bin_location=bin_location) for pk, bin_location in levels]
    if not lines:
        raise ValidationError(
            {"scope": _("Nothing to count there: no stock level matches, or each is in a count not booked yet.")}
        )
    try:
        with transaction.atomic():
            CountLine.objects.bulk_create(lines)
    except IntegrityError as error:
        # Another session took one of these stock levels at the same moment.
        raise ValidationError(
            {"scope": _("Another count took some of these stock levels just now; try again.")}
        ) from error
    return session


def _counting(session_id, actor):
    require(actor, Inventory.COUNT_STOCK, _("Your role may not record stock counts."))
    session = locks.lock_count_session(session_id)
    if session.status != CountSession.Status.COUNTING:
        raise ValidationError(_not_possible(session, None))
    return session


def _set_counted(line, counted, actor):
    """Write a line's count; its expected figure is frozen the first time, from on hand as the
    database holds it at that moment (docs/architecture.md, "Stock counts")."""
    if line.expected is None:
        line.expected = StockLevel.objects.values_list("on_hand", flat=True).get(pk=line.stock_level_id)
    line.counted = counted
    line.counted_at = timezone.now()
    line.counted_by = stored_user(actor)
    line.save(update_fields=["expected", "counted", "counted_at", "counted_by"])


def _find_line(session, code, bin_location, *, field_code="code", field_bin="bin_location"):
    code = " ".join((code or "").split())
    if not code:
        raise ValidationError({field_code: _("Scan a barcode or enter a SKU.")})
    product = (
        Product.objects.filter(Q(barcode=code) | Q(sku=code)).first()
        or Product.objects.filter(sku__iexact=code).first()
    )
    if product is None:
        raise ValidationError({field_code: _("Unknown barcode or SKU “%(code)s”.") % {"code": code}})
    lines = session.lines.filter(stock_level__product=product)
    bin_location = " ".join((bin_location or "").split())
    if bin_location and not session.lines.filter(bin_location__iexact=bin_location).exists():
        raise ValidationError(
            {field_bin: _("Bin %(bin)s is not in count %(number)s.") % {"bin": bin_location, "number": session.number}}
        )
    line = lines.first()
    if line is None:
        raise ValidationError(
            {
                field_code: _("%(sku)s is not in count %(number)s; put it aside and tell the manager.")
                % {"sku": product.sku, "number": session.number}
            }
        )
    if bin_location and line.bin_location.casefold() != bin_location.casefold():
        raise ValidationError(
            {
                field_bin: _("%(sku)s is counted in bin %(expected)s in this count, not in %(bin)s.")
                % {"sku": product.sku, "expected": line.bin_location or "—", "bin": bin_location}
            }
        )
    return line


def _units(value, field, *, allow_zero):
    if not isinstance(value, int) or isinstance(value, bool) or value < (0 if allow_zero else 1):
        raise ValidationError(
            {
                field: _("Enter a whole number, zero or more.")
                if allow_zero
                else _("Enter a whole number greater than zero.")
            }
        )
    if value > MAX_QUANTITY:
        raise ValidationError({field: _("Enter at most %(max)s units at a time.") % {"max": f"{MAX_QUANTITY:,}"}})
    return value


@transaction.atomic
def count_by_scan(session_id: int, *, code: str, actor: Actor, quantity: int = 1, bin_location: str = "") -> CountLine:
    """A counter scanned a barcode (or typed a SKU), optionally at a bin: `quantity` units (one per
    scan, or the number typed) are added to the line's count. The answer carries no expected
    figure for the counter to see."""
    session = _counting(session_id, actor)
    _units(quantity, "quantity", allow_zero=False)
    line = _find_line(session, code, bin_location)
    _set_counted(line, _units((line.counted or 0) + quantity, "quantity", allow_zero=False), actor)
    return line


@transaction.atomic
def set_counted(session_id: int, *, line_id: int, counted: int, actor: Actor) -> CountLine:
    """Enter (or correct) the units counted on one line, zero included."""
    session = _counting(session_id, actor)
    line = session.lines.filter(pk=line_id).first()
    if line is None:
        raise ValidationError({"line": _("That line is not in count %(number)s.") % {"number": session.number}})
    _set_counted(line, _units(counted, "counted", allow_zero=True), actor)
    return line


@transaction.atomic
def record_session_counts(
    session_id: int, rows: Sequence[tuple[str, str, int]], *, actor: Actor
) -> list[CountLine | ValidationError]:
    """A count sheet for the session: (SKU or barcode, bin, units counted) per row, each line's
    count set to the units given. Answers one outcome per row, the line or the ValidationError
    (on "sku", "bin" or "counted") that refused it; the others are written all the same, and a
    caller that wants all or nothing rolls back."""
    session = _counting(session_id, actor)
    outcomes, seen = [], set()
    for code, bin_location, counted in rows:
        try:
            line = _find_line(session, code, bin_location, field_code="sku", field_bin="bin")
            if line.pk in seen:
                raise ValidationError({"sku": _("%(code)s is counted twice in this sheet.") % {"code": code}})
            _set_counted(line, _units(counted, "counted", allow_zero=True), actor)
        except ValidationError as error:
            outcomes.append(error)
            continue
        seen.add(line.pk)
        outcomes.append(line)
    return outcomes


def variance_needs_approval(variance: int, expected: int, cost: Decimal, settings: CountSettings) -> bool:
    """Whether a variance is above the settings' limits: worth more than the value (units × cost),
    or more than the percentage of the expected units (any variance of a line expected empty)."""
    if not variance:
        return False
    if abs(variance) * cost > settings.approval_above_value:
        return True
    return expected <= 0 or Decimal(abs(variance)) * HUNDRED / expected > settings.approval_above_percent


@transaction.atomic
def finish_count(session_id: int, *, actor: Actor) -> CountSession:
    """Counting is done: every line must be counted. When no variance is above the limits, the
    session is booked now; otherwise it waits for a manager's approval with those lines marked."""
    session = _counting(session_id, actor)
    lines = list(session.lines.select_related("stock_level__product"))
    uncounted = [line for line in lines if line.counted is None]
    if uncounted:
        names = ", ".join(
            f"{line.stock_level.product.sku}" + (f" ({line.bin_location})" if line.bin_location else "")
            for line in uncounted[:10]
        )
        raise ValidationError(
            {
                "lines": _("%(count)d lines are not counted yet: %(names)s. Count them, zero where the shelf is empty.")
                % {"count": len(uncounted), "names": names + (" …" if len(uncounted) > 10 else "")}
            }
        )
    settings = CountSettings.current()
    for line in lines:
        line.needs_approval = variance_needs_approval(
            line.variance, line.expected, line.stock_level.product.cost, settings
        )
    CountLine.objects.bulk_update(lines, ["needs_approval"])
    if any(line.needs_approval for line in lines):
        _step(session, session.submit, actor)
        session.submitted_by = stored_user(actor)
        session.save()
        return session
    _step(session, session.book, actor)
    session.submitted_by = stored_user(actor)
    _book_session(session, lines, actor)
    return session


@transaction.atomic
def approve_count(session_id: int, *, actor: Actor) -> CountSession:
    """A manager accepts the variances of a session awaiting approval: they are booked."""
    require(actor, Inventory.APPROVE_COUNT, _("Your role may not approve count variances."))
    session = locks.lock_count_session(session_id)
    _step(session, session.approve, actor)
    session.approved_by = stored_user(actor)
    _book_session(session, list(session.lines.select_related("stock_level__product")), actor)
    return session


@transaction.atomic
def send_back_for_recount(session_id: int, *, actor: Actor) -> CountSession:
    """A manager doubts the large variances: their lines are counted again from scratch, their
    expected figure frozen anew at the next count; the other lines keep theirs."""
    require(actor, Inventory.APPROVE_COUNT, _("Your role may not approve count variances."))
    session = locks.lock_count_session(session_id)
    _step(session, session.recount, actor)
    session.save()
    session.lines.filter(needs_approval=True).update(
        counted=None, expected=None, counted_at=None, counted_by=None, needs_approval=False
    )
    return session


@transaction.atomic
def cancel_count_session(session_id: int, *, actor: Actor) -> CountSession:
    """Drop a session still counting: nothing is booked, and its stock levels are free for another."""
    require(actor, Inventory.ADD_COUNTSESSION, _("Your role may not cancel stock counts."))
    session = locks.lock_count_session(session_id)
    _step(session, session.cancel, actor)
    session.save()
    session.lines.update(live=False)
    return session


def _book_session(session, lines, actor):
    """Book each line's variance on its stock level, locked in key order after the session; the
    ledger lines carry the session's number."""
    levels = locks.lock_in_key_order(
        StockLevel.objects.filter(pk__in=[line.stock_level_id for line in lines]).select_related("product")
    )
    ordered = sorted(lines, key=lambda line: line.stock_level_id)
    _book_counts(
        [(levels[line.stock_level_id], line.counted, line.expected) for line in ordered],
        reference=session.number,
        actor=actor,
        field="lines",
    )
    for line in ordered:
        line.booked_change = line.counted - line.expected
        line.live = False
    CountLine.objects.bulk_update(ordered, ["booked_change", "live"])
    session.save()


@transaction.atomic
def open_due_count_sessions(*, now: datetime | None = None) -> list[CountSession]:
    """The schedule (`manage.py open_due_counts`, by cron): for each active warehouse and ABC
    class, a session is opened when none of that class was opened there (and not cancelled) within
    the class's interval of the count settings. A class with nothing to count is skipped."""
    now = now or timezone.now()
    settings = CountSettings.current()
    opened = []
    for warehouse in Warehouse.objects.filter(active=True):
        for abc_class in AbcClass.values:
            since = now - timedelta(days=settings.every_days(abc_class))
            recent = CountSession.objects.filter(
                warehouse=warehouse, scope=Scope.ABC, abc_class=abc_class, created_at__gt=since
            ).exclude(status=CountSession.Status.CANCELLED)
            if recent.exists():
                continue
            try:
                with transaction.atomic():
                    opened.append(
                        open_count_session(
                            warehouse_id=warehouse.pk,
                            scope=Scope.ABC,
                            abc_class=abc_class,
                            actor=SYSTEM,
                            scheduled=True,
                        )
                    )
            except ValidationError:
                continue
    return opened
