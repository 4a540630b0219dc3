"""The automatic checks and risk rules of intake. A failed check always holds an order; risk rules
add to a score, and a score at the manager's threshold holds it too. Reasons are stored as codes
with values, so each reader sees them in their own language."""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from core.regions import RegionProblem

from ..events import UNREACHABLE_REGIONS
from ..models import BlockedContact, Channel, IntakeSettings, Order, PaymentMethod
from .phones import is_masked_phone

MESSAGES = {
    "address_incomplete": _("Address incomplete: %(missing)s missing."),
    "phone_invalid": _("The phone number is not a valid number; check it with the customer."),
    "phone_masked": _("The channel gave the phone number masked; it cannot be called or texted from here."),
    "payment_mismatch": _("Paid %(paid)s but the order total is %(total)s."),
    "cod_over_limit": _("Cash on delivery of %(total)s is over the limit of %(limit)s."),
    "out_of_stock": _("Not enough stock (SKU: units missing): %(items)s."),
    "over_channel_share": _(
        "More than the channel's share of the stock: its buffer keeps these units back for other channels "
        "(SKU: units): %(items)s."
    ),
    "high_value": _("Order value %(total)s is over %(threshold)s."),
    "new_customer_high_value": _("New customer with an order of %(total)s (over %(threshold)s)."),
    "repeat_phone": _("%(count)s orders to this phone within %(hours)s hours."),
    "repeat_address": _("%(count)s orders to this address within %(hours)s hours."),
    "blocked_phone": _("Phone number is on the blocklist: %(reason)s"),
    "blocked_address": _("Address is on the blocklist: %(reason)s"),
    "channel_held": _("New orders of this channel are held: %(reason)s"),
    "unreachable": _("No active carrier service delivers to %(region)s."),
}

# A region that does not exist or is not where the address puts it: region_unknown, region_not_in
# and region_ambiguous, with the problem's values (core.regions.RegionProblem).
REGION_REASON = "region_"

RISK_POINTS = {
    "high_value": 40,
    "new_customer_high_value": 30,
    "repeat_phone": 30,
    "repeat_address": 30,
    "cod_over_limit": 50,
    "blocked_phone": 100,
    "blocked_address": 100,
    # A flag for the reader, never a hold: marketplaces mask every buyer's number.
    "phone_masked": 0,
}

# Some cities (东莞, 中山, 儋州, 嘉峪关) have no districts, so a district is not required.
REQUIRED_ADDRESS_PARTS = ("province", "city", "address")
ADDRESS_FIELDS = {
    "province": _("province"),
    "city": _("city"),
    "district": _("district"),
    "address": _("street address"),
}


def reason(code: str, **params: object) -> dict[str, Any]:
    return {"code": code, "params": {k: str(v) for k, v in params.items()}}


def describe(hold_reason: dict[str, Any]) -> str:
    """The reason in the reader's language: reasons are stored as codes and values."""
    code, params = hold_reason.get("code", ""), dict(hold_reason.get("params", {}))
    if code.startswith(REGION_REASON):
        # Said as the region check says it (docs/architecture.md, "Addresses").
        problem = RegionProblem(
            level=params.get("level", ""),
            kind=code[len(REGION_REASON) :],
            value=params.get("value", ""),
            parent=params.get("parent", ""),
        )
        return str(problem.message())
    template = MESSAGES.get(code)
    if template is None:
        return code
    if code == "address_incomplete":
        params["missing"] = ", ".join(
            str(ADDRESS_FIELDS.get(field, field)) for field in params.get("missing", "").split(",") if field
        )
    return str(template) % params


def address_key(province: str, city: str, district: str, address: str) -> str:
    """One comparable form of an address: full-width characters folded, case and every space
    dropped, so “文三路 90 号” and “文三路90号” are the same place."""

    def comparable(part):
        return "".join(unicodedata.normalize("NFKC", part or "").casefold().split())

    return "/".join(comparable(part) for part in (province, city, district, address))


def held_channels(channel_ids: Iterable[int]) -> dict[int, str]:
    """Why new orders of each of these channels are held, for the channels held now: one query for
    a whole batch, read fresh so a hold set a moment ago (an incident, docs/architecture.md,
    "Incidents") holds the next order in."""
    return dict(
        Channel.objects.filter(pk__in=set(channel_ids))
        .exclude(intake_held_because="")
        .values_list("pk", "intake_held_because")
    )


def unreachable_regions(region_codes: Iterable[str]) -> set[str]:
    """Of these division codes, those no carrier delivers to, as the apps that know carriers say
    (docs/architecture.md, "Reachability"); without such an app every region is reachable."""
    codes = set(region_codes)
    if not codes:
        return set()
    answers = UNREACHABLE_REGIONS.publish(region_codes=codes)
    return set.intersection(*map(set, answers)) if answers else set()


def unreachable_reason(order: Order) -> dict[str, Any]:
    return reason("unreachable", region=order.region_label)


def holds_for_review(hold_reasons: Iterable[dict[str, Any]], risk_score: int, intake: IntakeSettings) -> bool:
    """Whether reasons left on an order still hold it: any failed check does, risk rules only
    together at the manager's threshold."""
    return any(r.get("code") not in RISK_POINTS for r in hold_reasons) or risk_score >= intake.hold_score


def contact_checks(
    *, province: str, city: str, address: str, phone_valid: bool, phone_masked: bool = False
) -> list[dict[str, Any]]:
    reasons = []
    given = {"province": province, "city": city, "address": address}
    missing = [field for field in REQUIRED_ADDRESS_PARTS if not (given[field] or "").strip()]
    if missing:
        reasons.append(reason("address_incomplete", missing=",".join(missing)))
    if not phone_valid and not phone_masked:
        # A masked number is the marketplace's doing, flagged by the risk rules without holding.
        # The number itself stays out of the reason: reasons are shown to roles that see phones masked.
        reasons.append(reason("phone_invalid"))
    return reasons


# Paid before the goods go: bank transfers and instalments are always placed unpaid at first; a card
# or e-wallet order the channel sends unpaid waits the same way (docs/architecture.md, "Orders that wait").
PAID_FIRST = (PaymentMethod.CARD, PaymentMethod.E_WALLET, PaymentMethod.BANK_TRANSFER, PaymentMethod.INSTALMENTS)


def paid_enough(*, method: str, total: Decimal, paid: Decimal) -> bool:
    """Whether a paid-first order may go on to picking: its whole total is captured, or, paid by
    instalments, its first instalment (anything captured)."""
    if method == PaymentMethod.INSTALMENTS:
        return paid > 0 or total <= 0
    return paid >= total


def awaits_payment(*, method: str, total: Decimal, paid: Decimal) -> bool:
    """Whether an order comes in awaiting payment instead of going through the checks now: a
    paid-first method with nothing paid yet, or a bank transfer or instalment order not paid
    enough. A card or e-wallet order paid in part is a mismatch for a reviewer, not a wait."""
    if method not in PAID_FIRST or paid_enough(method=method, total=total, paid=paid):
        return False
    return paid == 0 or method == PaymentMethod.BANK_TRANSFER


def payment_checks(*, method: str, total: Decimal, paid: Decimal) -> list[dict[str, Any]]:
    reasons = []
    if method == PaymentMethod.COD:
        if paid and paid != total:
            reasons.append(reason("payment_mismatch", paid=paid, total=total))
    elif method == PaymentMethod.INSTALMENTS and 0 < paid <= total:
        # The first instalments are paid; the rest follow as the plan says.
        pass
    elif paid != total and not awaits_payment(method=method, total=total, paid=paid):
        reasons.append(reason("payment_mismatch", paid=paid, total=total))
    return reasons


# The risk rules that follow from the order's value alone: an edit that changes the total runs them again.
VALUE_RISKS = frozenset({"high_value", "new_customer_high_value", "cod_over_limit"})


def value_risks(
    *, total: Decimal, payment_method: str, customer_is_new: bool, intake: IntakeSettings
) -> list[dict[str, Any]]:
    reasons = []
    if total > intake.high_value_threshold:
        reasons.append(reason("high_value", total=total, threshold=intake.high_value_threshold))
    if customer_is_new and total > intake.new_customer_value_threshold:
        reasons.append(reason("new_customer_high_value", total=total, threshold=intake.new_customer_value_threshold))
    if payment_method == PaymentMethod.COD and total > intake.cod_limit:
        reasons.append(reason("cod_over_limit", total=total, limit=intake.cod_limit))
    return reasons


def score_of(hold_reasons: Iterable[dict[str, Any]]) -> int:
    """The risk score of an order's reasons, as intake adds it up."""
    return min(sum(RISK_POINTS.get(r.get("code"), 0) for r in hold_reasons), 1000)


def risk_rules(
    *, orders: Sequence[Order], customers_new: Iterable[bool], intake: IntakeSettings, now: datetime
) -> list[tuple[int, list[dict[str, Any]]]]:
    """Return (score, reasons) for each of `orders`, which are already saved with their totals, as
    if they had been placed one after the other in the given order: an order counts the recent
    orders placed before it, those earlier in the list included, never those after it.
    `customers_new` says for each whether its customer had never ordered before.

    An order is recent when it was placed or received within the window: a channel gives the order
    date and may set it in the past, so orders sent now with last week's date count all the same
    (`orders` themselves are being received now)."""
    since = now - timedelta(hours=intake.velocity_window_hours)
    phones = {order.phone for order in orders}
    address_keys = {order.address_key for order in orders}
    recent_to_phone, recent_to_address = Counter(), Counter()
    earlier = (
        Order.objects.filter(Q(phone__in=phones) | Q(address_key__in=address_keys))
        .filter(Q(placed_at__gte=since) | Q(received_at__gte=since))
        .exclude(pk__in=[order.pk for order in orders])
        .values_list("phone", "address_key")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for phone, key, count in earlier:
        recent_to_phone[phone] += count
        recent_to_address[key] += count
    blocked = defaultdict(list)
    for entry in BlockedContact.objects.filter(
        Q(kind=BlockedContact.Kind.PHONE, value__in=phones)
        | Q(kind=BlockedContact.Kind.ADDRESS, value__in=address_keys)
    ).order_by("pk"):
        blocked[entry.kind, entry.value].append(entry)

    outcomes = []
    for order, customer_is_new in zip(orders, customers_new, strict=True):
        reasons = value_risks(
            total=order.total, payment_method=order.payment_method, customer_is_new=customer_is_new, intake=intake
        )

        same_phone = recent_to_phone[order.phone] + 1
        if is_masked_phone(order.phone):
            # Many buyers share one masked number: it says nothing about who ordered.
            reasons.append(reason("phone_masked"))
        elif same_phone > intake.velocity_max_orders:
            reasons.append(reason("repeat_phone", count=same_phone, hours=intake.velocity_window_hours))
        same_address = recent_to_address[order.address_key] + 1
        if same_address > intake.velocity_max_orders:
            reasons.append(reason("repeat_address", count=same_address, hours=intake.velocity_window_hours))
        recent_to_phone[order.phone] += 1
        recent_to_address[order.address_key] += 1

        matches = (
            blocked[BlockedContact.Kind.PHONE, order.phone] + blocked[BlockedContact.Kind.ADDRESS, order.address_key]
        )
        for entry in sorted(matches, key=lambda entry: entry.pk):
            code = "blocked_phone" if entry.kind == BlockedContact.Kind.PHONE else "blocked_address"
            reasons.append(reason(code, reason=entry.reason))

        score = sum(RISK_POINTS[r["code"]] for r in reasons)
        outcomes.append((min(score, 1000), reasons))
    return outcomes
