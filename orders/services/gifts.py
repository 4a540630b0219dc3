"""Gifts (赠品) at intake: which gift rules an order meets, and the gift lines it gets
(docs/architecture.md, "Bundles, gifts and channel SKUs"). Intake (`intake._create_all`) calls
these; a gift never holds an order: when its stock is gone, the order goes on without it and its
timeline says so. An edit of the order later does not run the rules again."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.db.models import F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from inventory.selectors import available_stock_of

from ..models import GiftRule, Order, OrderLine
from .catalogue import ZERO, ResolvedLine


def rules_for(channel_ids: Iterable[int]) -> list[GiftRule]:
    """The active gift rules of these channels (and of every channel), with their gift product and
    its available stock now (`gift_available`), in one query."""
    return list(
        GiftRule.objects.filter(Q(channel__isnull=True) | Q(channel_id__in=set(channel_ids)), active=True)
        .select_related("gift")
        .annotate(gift_available=Coalesce(available_stock_of(OuterRef("gift_id")), 0))
        .order_by("pk")
    )


def ordered_skus(lines: Sequence[ResolvedLine]) -> set[str]:
    """Our SKUs an order contains: its products, and the bundles its components came from."""
    return {line.product.sku for line in lines} | {line.bundle.sku for line in lines if line.bundle is not None}


def applies(rule: GiftRule, order: Order, lines: Sequence[ResolvedLine]) -> bool:
    """Whether `order` meets every condition of `rule` (stock and the cap aside): its channel, the
    date it was placed, its total in the rule's currency, one of the rule's SKUs."""
    if rule.channel_id is not None and rule.channel_id != order.channel_id:
        return False
    if rule.starts_at is not None and order.placed_at < rule.starts_at:
        return False
    if rule.ends_at is not None and order.placed_at >= rule.ends_at:
        return False
    if rule.min_total is not None and (order.currency != rule.currency or order.total < rule.min_total):
        return False
    wanted = rule.sku_list()
    if wanted and not wanted & ordered_skus(lines):
        return False
    return rule.gift.active


class GiftLedger:
    """What the gift rules of one intake batch may still give: the cap of each rule and, for orders
    held without a reservation, the stock as read (both less what this batch gave already)."""

    def __init__(self, rules: Sequence[GiftRule]):
        self.rules = list(rules)
        self.left_under_cap = {
            rule.pk: (None if rule.max_given is None else max(rule.max_given - rule.given, 0)) for rule in rules
        }
        self.stock_left = {}
        for rule in rules:
            self.stock_left[rule.gift_id] = rule.gift_available
        self.given = {}

    def candidates(self, order: Order, lines: Sequence[ResolvedLine]) -> list[GiftRule]:
        return [rule for rule in self.rules if applies(rule, order, lines)]

    def within_cap(self, rule: GiftRule) -> bool:
        left = self.left_under_cap[rule.pk]
        return left is None or left >= rule.quantity

    def in_stock(self, rule: GiftRule) -> bool:
        return self.stock_left.get(rule.gift_id, 0) >= rule.quantity

    def take_cap(self, rule: GiftRule) -> None:
        """Count a gift against the rule's maximum before its stock is reserved."""
        if self.left_under_cap[rule.pk] is not None:
            self.left_under_cap[rule.pk] -= rule.quantity

    def return_cap(self, rule: GiftRule) -> None:
        """The gift counted by take_cap was not given after all (its stock was short)."""
        if self.left_under_cap[rule.pk] is not None:
            self.left_under_cap[rule.pk] += rule.quantity

    def give(self, rule: GiftRule, *, cap_taken: bool = False) -> ResolvedLine:
        if not cap_taken:
            self.take_cap(rule)
        self.stock_left[rule.gift_id] = self.stock_left.get(rule.gift_id, 0) - rule.quantity
        self.given[rule.pk] = self.given.get(rule.pk, 0) + rule.quantity
        return gift_line(rule)

    def count_given(self) -> None:
        """Add what this batch gave to each rule's count: one UPDATE per rule, after the stock
        levels in the lock order (docs/architecture.md, "Lock order")."""
        for rule_pk, quantity in sorted(self.given.items()):
            GiftRule.objects.filter(pk=rule_pk).update(given=F("given") + quantity)


def gift_line(rule: GiftRule) -> ResolvedLine:
    return ResolvedLine(rule.gift, rule.quantity, ZERO, ZERO, is_gift=True, gift_rule=rule)


def not_given_note(rule: GiftRule, *, cap: bool = False) -> str:
    if cap:
        return _("Gift “%(gift)s” of rule “%(rule)s” not added: its maximum has been given.") % {
            "gift": rule.gift.sku,
            "rule": rule.name,
        }
    return _("Gift “%(gift)s” of rule “%(rule)s” not added: out of stock.") % {
        "gift": rule.gift.sku,
        "rule": rule.name,
    }


def without_short_gifts(lines: list[OrderLine], shortages: dict[int, int]) -> tuple[list[OrderLine], list[OrderLine]]:
    """When only gift lines are short (shortages by product id, as reservation reports them): the
    lines to reserve without them, and the gift lines to drop, since a gift never holds an order
    (docs/architecture.md, "Bundles, gifts and channel SKUs"). When anything sold is short too:
    all the lines and none to drop."""
    sold = {line.product_id for line in lines if not line.is_gift}
    if any(product_id in sold for product_id in shortages):
        return lines, []
    dropped = [line for line in lines if line.is_gift and line.product_id in shortages]
    return [line for line in lines if line not in dropped], dropped


def dropped_gift_note(line: OrderLine) -> str:
    return _("Gift “%(gift)s” dropped: no longer in stock when the order's stock was reserved.") % {"gift": line.sku}


def goods_subtotal(lines: Iterable[ResolvedLine]) -> Decimal:
    """The order's subtotal: its lines' totals, gifts (free) left out."""
    return sum((line.line_total for line in lines if not line.is_gift), ZERO)
