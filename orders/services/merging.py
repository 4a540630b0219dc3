"""Merging orders of one buyer to one address into one parcel, and unmerging them before picking
(docs/architecture.md, "Merging orders").

A merge is an `OrderMerge` row the orders point to: they keep their own numbers, lines, payments
and channel order ids; logistics makes one parcel of the whole group at pick time (one pick, one
pack, one label, one tracking number reported to each order). Only confirmed orders merge: a
pending or held order still waits for its checks or a reviewer, who may reject it or change its
address, and an order awaiting payment may be cancelled by its time limit; both join the queue once
they are confirmed. A group can be unmerged until one of its orders is on a pick list.

Every function locks all orders of the group, by primary key ascending, before anything else
(docs/architecture.md, "Lock order"), so a merge racing a cancellation or a pick list waits for it
and then sees what it did."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.actors import Actor, stored_user
from core.permissions import Orders, require

from .. import locks
from ..models import Allocation, IntakeSettings, Order, OrderMerge, OrderNote


def why_not_mergeable(orders: list[Order], *, across_channels: bool) -> list[str]:
    """What keeps these orders from leaving in one parcel, in words an operator can act on; empty
    when they may merge. `orders` are locked (or freshly read for the queue)."""
    problems = []
    if len({order.pk for order in orders}) < 2:
        problems.append(_("Choose at least two orders to merge."))
        return problems
    for order in orders:
        if order.status not in Order.MERGEABLE:
            problems.append(
                _("Order %(number)s is %(status)s: only confirmed orders are merged, before picking.")
                % {"number": order.number, "status": order.get_status_display()}
            )
    first = orders[0]
    if any(order.phone != first.phone for order in orders):
        problems.append(_("The orders go to different phone numbers."))
    if any(order.address_key != first.address_key for order in orders):
        problems.append(_("The orders go to different addresses."))
    if not across_channels and any(order.channel_id != first.channel_id for order in orders):
        problems.append(
            _("The orders come from different channels, and the intake settings do not merge across channels.")
        )
    merges = {order.merge_id for order in orders if order.merge_id}
    if len(merges) == 1 and all(order.merge_id for order in orders):
        problems.append(_("These orders are already merged."))
    return problems


def _warehouses_of(order_ids):
    """{order_id: {warehouse_id}} where the orders' goods are reserved."""
    found = defaultdict(set)
    rows = Allocation.objects.filter(line__order_id__in=order_ids, state=Allocation.State.RESERVED).values_list(
        "line__order_id", "stock_level__warehouse_id", "stock_level__warehouse__code"
    )
    codes = {}
    for order_id, warehouse_id, code in rows:
        found[order_id].add(warehouse_id)
        codes[warehouse_id] = code
    return found, codes


def _one_warehouse_problem(orders):
    """One parcel leaves one warehouse: every order's goods must wait in the same one."""
    found, codes = _warehouses_of([order.pk for order in orders])
    everywhere = set().union(*found.values()) if found else set()
    if len(everywhere) <= 1 and all(found.get(order.pk) for order in orders):
        return ""
    listed = "; ".join(
        f"{order.number}: {', '.join(sorted(codes[w] for w in found.get(order.pk, ()))) or '—'}" for order in orders
    )
    return _("One parcel leaves one warehouse, and these orders' goods wait in different ones (%(where)s).") % {
        "where": listed
    }


def _group_ids(order_ids):
    """The chosen orders and every order already merged with one of them."""
    order_ids = set(order_ids)
    merged = Order.objects.filter(pk__in=order_ids, merge__isnull=False).values("merge_id")
    order_ids |= set(Order.objects.filter(merge__in=merged).values_list("pk", flat=True))
    return sorted(order_ids)


def _note(order, actor, text):
    """Kept on the order's timeline as a note by the person who acted; the merge row itself keeps
    who merged (empty for the system, whose steps need no note)."""
    author = stored_user(actor)
    if author is not None:
        OrderNote.objects.create(order=order, author=author, text=text)


@transaction.atomic
def merge_orders(order_ids: Iterable[int], *, actor: Actor) -> OrderMerge:
    """Merge the chosen orders (and any order already merged with one of them) so they leave in
    one parcel. All or nothing: when they do not match, nothing changes and every reason is given."""
    require(actor, Orders.MERGE_ORDERS, _("Your role may not merge orders."))
    chosen = sorted(set(order_ids))
    if len(chosen) < 2:
        raise ValidationError(_("Choose at least two orders to merge."))
    ids = _group_ids(chosen)
    orders = locks.lock_orders(ids)
    if _group_ids(chosen) != ids:
        # Another merge or unmerge of these orders committed between the first read and the locks.
        raise ValidationError(_("These orders were merged or unmerged just now; nothing was merged. Try again."))
    missing = set(ids) - {order.pk for order in orders}
    problems = []
    if missing:
        problems.append(
            ngettext(
                "%(count)d of the chosen orders no longer exists.",
                "%(count)d of the chosen orders no longer exist.",
                len(missing),
            )
            % {"count": len(missing)}
        )
    problems += why_not_mergeable(orders, across_channels=IntakeSettings.current().merge_across_channels)
    if not problems:
        problem = _one_warehouse_problem(orders)
        if problem:
            problems.append(problem)
    if problems:
        raise ValidationError(
            _("Nothing was merged: %(problems)s")
            % {"problems": " ".join(p if p.endswith(".") else p + "." for p in problems)}
        )
    existing = sorted({order.merge_id for order in orders if order.merge_id})
    merge = (
        OrderMerge.objects.get(pk=existing[0]) if existing else OrderMerge.objects.create(created_by=stored_user(actor))
    )
    numbers = ", ".join(order.number for order in orders)
    for order in orders:
        if order.merge_id != merge.pk:
            order.merge = merge
            order.save(update_fields=["merge", "updated_at"])
            _note(order, actor, _("Merged into one parcel with orders %(numbers)s.") % {"numbers": numbers})
    return merge


def _dissolve_if_alone(merge_id, actor):
    """A merge of one order is no merge: the last order leaves it too."""
    rest = list(Order.objects.filter(merge_id=merge_id))
    if len(rest) == 1:
        (order,) = rest
        order.merge = None
        order.save(update_fields=["merge", "updated_at"])
        _note(order, actor, _("No longer merged: the other orders left the parcel."))


@transaction.atomic
def unmerge_orders(merge_id: int, *, actor: Actor) -> list[Order]:
    """Undo a merge before picking: every order of the group goes back to a parcel of its own.
    Refused once one of them is on a pick list, since their parcel is being made."""
    require(actor, Orders.MERGE_ORDERS, _("Your role may not unmerge orders."))
    ids = list(Order.objects.filter(merge_id=merge_id).values_list("pk", flat=True))
    orders = [order for order in locks.lock_orders(ids) if order.merge_id == merge_id]
    if not orders:
        raise ValidationError(_("These orders are no longer merged."))
    picked = [order for order in orders if order.status not in Order.BEFORE_PICKING]
    if picked:
        raise ValidationError(
            _("Orders can be unmerged only before picking; %(numbers)s already reached %(status)s.")
            % {"numbers": ", ".join(o.number for o in picked), "status": picked[0].get_status_display()}
        )
    for order in orders:
        order.merge = None
        order.save(update_fields=["merge", "updated_at"])
        _note(order, actor, _("Unmerged: the order leaves in a parcel of its own."))
    return orders


def leave_merge(order: Order, *, actor: Actor, reason: str) -> None:
    """A locked merged order being cancelled leaves its merge (recorded on its timeline); the others
    stay merged, or the last one is on its own again. Called by the cancellation, inside its
    transaction, before logistics takes the order's goods out of the group's open parcel."""
    merge_id = order.merge_id
    if merge_id is None:
        return
    # The other orders of the group come after this one in no particular order; their rows are
    # only written, never read for a decision, so they need no lock beyond the row update itself.
    order.merge = None
    order.save(update_fields=["merge", "updated_at"])
    _note(order, actor, _("Left its merged parcel: %(reason)s") % {"reason": reason})
    if order.status in Order.BEFORE_PICKING:
        _dissolve_if_alone(merge_id, actor)


def merged_with(order: Order) -> list[Order]:
    """The other orders of the order's merge, by number."""
    if not order.merge_id:
        return []
    return list(Order.objects.filter(merge_id=order.merge_id).exclude(pk=order.pk).order_by("pk"))
