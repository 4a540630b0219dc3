"""Replenishment: from the demand snapshot, each product's safety stock, reorder point and the
quantity to buy (or move from another warehouse), the warnings of stock that will run out before a
purchase could arrive, and turning chosen suggestions into draft purchase orders and transfers."""

import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache, partial
from itertools import groupby
from statistics import NormalDist

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.actors import Actor
from core.bulk import insert
from core.permissions import Planning, require
from inventory import services as inventory
from inventory.models import PurchaseOrder, Transfer

from .. import locks
from ..models import ReplenishmentSuggestion, RunOutWarning
from ..selectors import replenishment as selectors
from .demand import write_demand

logger = logging.getLogger(__name__)

Kind = ReplenishmentSuggestion.Kind
INSERT_BATCH = 5_000


def service_level_z(service_level: Decimal) -> Decimal:
    """The number of standard deviations of demand that cover `service_level` per cent of lead
    times (the normal distribution's quantile): 1.6449 for 95%."""
    return Decimal(str(round(NormalDist().inv_cdf(float(service_level) / 100), 4)))


@lru_cache
def _root(days):
    return Decimal(days).sqrt()


@dataclass(frozen=True)
class Figures:
    """One product's figures in one warehouse, in whole units: `quantity` 0 when nothing is needed."""

    safety_stock: int
    reorder_point: int
    need: int
    quantity: int


def figures(
    *,
    daily_rate: Decimal,
    daily_deviation: Decimal,
    lead_time_days: int,
    position: int,
    z: Decimal,
    review_period_days: int,
    pack_size: int = 1,
    minimum_quantity: int = 1,
) -> Figures:
    """Safety stock = z × σ_daily × √lead time; reorder point = mean daily demand × lead time +
    safety stock (both rounded up to whole units). When the position (available + incoming) is at
    or below the reorder point, `need` is what brings it up to the reorder point plus the demand
    of a review period, and `quantity` that need raised to the minimum quantity and rounded up to
    whole packs."""
    safety = z * daily_deviation * _root(lead_time_days)
    safety_stock = math.ceil(safety)
    reorder_point = math.ceil(daily_rate * lead_time_days + safety)
    need = 0
    if position <= reorder_point:
        need = max(math.ceil(reorder_point + daily_rate * review_period_days - position), 0)
    quantity = 0
    if need:
        quantity = math.ceil(max(need, minimum_quantity) / pack_size) * pack_size
    return Figures(safety_stock, reorder_point, need, quantity)


@dataclass(frozen=True)
class PlanningRun:
    demand_rows: int
    suggestions: int
    warnings_raised: int
    warnings_cleared: int


@transaction.atomic
def plan_replenishment(*, actor: Actor, now: datetime | None = None) -> PlanningRun:
    """One planning run (`manage.py plan_replenishment` by cron, or "Recompute now" on the
    replenishment page): the demand snapshot from the sales, then every suggestion and run-out
    warning from it, replacing the last run's; the buyers are emailed the new warnings after
    commit. Runs take turns on the settings row (docs/architecture.md, "Lock order")."""
    require(actor, Planning.REPLENISH, _("Your role may not recompute replenishment."))
    now = now or timezone.now()
    planning = locks.lock_planning_run()
    demand = write_demand(now)
    z = service_level_z(planning.service_level)
    offers = selectors.supplier_offers()
    incoming = selectors.incoming_quantities()
    warehouses, inactive_products = selectors.active_warehouse_ids(), selectors.inactive_product_ids()
    rows = sorted(
        (row for row in demand if row.warehouse_id in warehouses and row.product_id not in inactive_products),
        key=lambda row: (row.product_id, row.warehouse_id),
    )
    suggestions, at_risk = [], {}
    for product_id, product_rows in groupby(rows, key=lambda row: row.product_id):
        suggestions += _suggest_for_product(
            product_id, list(product_rows), offers.get(product_id), incoming, planning, z, now, at_risk
        )
    ReplenishmentSuggestion.objects.all().delete()
    insert(suggestions, batch_size=INSERT_BATCH)
    raised, cleared = _update_warnings(at_risk, now)
    if raised:
        transaction.on_commit(partial(tell_buyers, raised), robust=True)
    return PlanningRun(len(demand), len(suggestions), len(raised), cleared)


def _suggest_for_product(product_id, rows, offer, incoming, planning, z, now, at_risk):
    """The suggestions for one product in every warehouse: a transfer from the warehouse with the
    most above its own reorder point when that covers the need, otherwise a purchase."""
    lead_time = offer.lead_time_days if offer else planning.lead_time_without_supplier_days
    computed = []
    for row in rows:
        coming = incoming.get((product_id, row.warehouse_id), 0)
        result = figures(
            daily_rate=row.daily_rate_90,
            daily_deviation=row.daily_deviation,
            lead_time_days=lead_time,
            position=row.available + coming,
            z=z,
            review_period_days=planning.review_period_days,
            pack_size=offer.pack_size if offer else 1,
            minimum_quantity=offer.minimum_quantity if offer else 1,
        )
        computed.append((row, coming, result))
        if row.daily_rate_30 > 0 and (row.available + coming) < row.daily_rate_30 * lead_time:
            at_risk[(product_id, row.warehouse_id)] = (
                round((row.available + coming) / row.daily_rate_30, 1),
                lead_time,
            )
    # What each warehouse has above its own reorder point, which it can spare.
    surplus = {row.warehouse_id: row.available - result.reorder_point for row, _coming, result in computed}
    suggestions = []
    for row, coming, result in computed:
        if not result.need:
            continue
        source = max(
            (other for other in surplus if other != row.warehouse_id and surplus[other] >= result.need),
            key=lambda other: surplus[other],
            default=None,
        )
        suggestion = ReplenishmentSuggestion(
            product_id=product_id,
            warehouse_id=row.warehouse_id,
            kind=Kind.PURCHASE,
            supplier_id=offer.supplier_id if offer else None,
            transfer_from_id=None,
            daily_rate=row.daily_rate_90,
            daily_deviation=row.daily_deviation,
            days_of_cover=row.days_of_cover,
            lead_time_days=lead_time,
            on_hand=row.on_hand,
            available=row.available,
            incoming=coming,
            safety_stock=result.safety_stock,
            reorder_point=result.reorder_point,
            quantity=result.quantity,
            unit_cost=offer.unit_cost if offer else None,
            currency=offer.currency if offer else "",
            computed_at=now,
        )
        if source is not None:
            # Units move as they are: a transfer is not bought in packs.
            surplus[source] -= result.need
            suggestion.kind, suggestion.transfer_from_id, suggestion.quantity = Kind.TRANSFER, source, result.need
        suggestions.append(suggestion)
    return suggestions


def _update_warnings(at_risk, now):
    """Keep one warning per product and warehouse at risk: new ones are made (and returned, to be
    told), those that recovered removed, those still at risk left as they were raised."""
    existing = {
        (product_id, warehouse_id): pk
        for pk, product_id, warehouse_id in RunOutWarning.objects.values_list("pk", "product_id", "warehouse_id")
    }
    recovered = [pk for key, pk in existing.items() if key not in at_risk]
    RunOutWarning.objects.filter(pk__in=recovered).delete()
    raised = [
        RunOutWarning(
            product_id=product_id, warehouse_id=warehouse_id, days_of_cover=cover, lead_time_days=lead, raised_at=now
        )
        for (product_id, warehouse_id), (cover, lead) in sorted(at_risk.items())
        if (product_id, warehouse_id) not in existing
    ]
    insert(raised, batch_size=INSERT_BATCH)
    return [warning.pk for warning in raised], len(recovered)


def buyers_to_tell() -> list[str]:
    """The email addresses of the active staff who may act on replenishment (buyers, managers)."""
    users = get_user_model().objects.with_perm(
        Planning.REPLENISH, include_superusers=False, backend="django.contrib.auth.backends.ModelBackend"
    )
    return sorted({user.email for user in users if user.email})


def tell_buyers(warning_ids: list[int]) -> int:
    """Email the buyers the run-out warnings just raised, one message each listing them all;
    answers how many messages went. A mail server that refuses is logged: the warnings stay on the
    console's front page and replenishment page all the same."""
    warnings = list(selectors.run_out_warnings().filter(pk__in=warning_ids).order_by("days_of_cover", "product__sku"))
    recipients = buyers_to_tell()
    if not warnings or not recipients:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("%(count)d products will run out before a purchase could arrive") % {"count": len(warnings)}
        lines = [
            _("%(sku)s %(name)s at %(warehouse)s: %(cover)s days of stock, lead time %(lead)d days")
            % {
                "sku": warning.product.sku,
                "name": warning.product.name,
                "warehouse": warning.warehouse.code,
                "cover": warning.days_of_cover,
                "lead": warning.lead_time_days,
            }
            for warning in warnings
        ]
        body = "\n".join([*lines, "", _("See the replenishment page in the console."), "", settings.SHOP_NAME])
    messages = [
        EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[email])
        for email in recipients
    ]
    try:
        return get_connection().send_messages(messages) or 0
    except Exception as error:  # noqa: BLE001 - the warnings stay shown whatever the mail server does
        logger.error("Run-out warnings %s could not be emailed: %s: %s", warning_ids, type(error).__name__, error)
        return 0


def _chosen(suggestion_ids, kind):
    chosen = selectors.suggestions_by_id(suggestion_ids)
    if not chosen or len(chosen) != len(set(suggestion_ids)):
        raise ValidationError(
            _("The suggestions changed since the page was read (a new planning run); choose them again.")
        )
    other = [s.product.sku for s in chosen if s.kind != kind]
    if other:
        message = (
            _("%(skus)s: suggested as a transfer, not a purchase.")
            if kind == Kind.PURCHASE
            else _("%(skus)s: suggested as a purchase, not a transfer.")
        )
        raise ValidationError(message % {"skus": ", ".join(other)})
    return chosen


@transaction.atomic
def order_suggestions(suggestion_ids: list[int], *, actor: Actor) -> list[PurchaseOrder]:
    """Turn the chosen purchase suggestions into draft purchase orders, one per supplier and
    warehouse, all or none; the suggestions are removed, their units now on order."""
    require(actor, Planning.REPLENISH, _("Your role may not turn suggestions into purchase orders."))
    chosen = _chosen(suggestion_ids, Kind.PURCHASE)
    without = [s.product.sku for s in chosen if s.supplier_id is None]
    if without:
        raise ValidationError(_("%(skus)s: no supplier supplies it.") % {"skus": ", ".join(without)})
    groups = defaultdict(list)
    for suggestion in chosen:
        groups[(suggestion.supplier_id, suggestion.warehouse_id)].append((suggestion.product_id, suggestion.quantity))
    purchase_orders = [
        inventory.create_purchase_order(supplier_id=supplier_id, warehouse_id=warehouse_id, lines=lines, actor=actor)
        for (supplier_id, warehouse_id), lines in sorted(groups.items())
    ]
    ReplenishmentSuggestion.objects.filter(pk__in=[s.pk for s in chosen]).delete()
    return purchase_orders


@transaction.atomic
def transfer_suggestions(suggestion_ids: list[int], *, actor: Actor) -> list[Transfer]:
    """Turn the chosen transfer suggestions into draft transfers, one per pair of warehouses, all or
    none; the suggestions are removed, their units now being moved."""
    require(actor, Planning.REPLENISH, _("Your role may not turn suggestions into transfers."))
    chosen = _chosen(suggestion_ids, Kind.TRANSFER)
    groups = defaultdict(list)
    for suggestion in chosen:
        groups[(suggestion.transfer_from_id, suggestion.warehouse_id)].append(
            (suggestion.product_id, suggestion.quantity)
        )
    transfers = [
        inventory.create_transfer(
            source_id=source_id,
            destination_id=destination_id,
            lines=lines,
            actor=actor,
            note=_("Suggested by replenishment"),
        )
        for (source_id, destination_id), lines in sorted(groups.items())
    ]
    ReplenishmentSuggestion.objects.filter(pk__in=[s.pk for s in chosen]).delete()
    return transfers
