"""Stock kept back from a channel (docs/architecture.md, "Stock per channel"): per channel and
product a buffer of units or a percentage of the available stock, and a default per channel for
the products without one. Intake reads them with its catalogue (`catalogue.load_catalogue`), the
products API through `selectors.available_to_channel`; the console and the Excel upload set them
here."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.actors import Actor, stored_user
from core.permissions import Orders, require
from inventory import services as inventory
from inventory.models import BundleComponent
from inventory.selectors import products_by_sku

from .. import locks
from ..models import Channel, ChannelStockBuffer

HUNDRED = Decimal("100")


@dataclass(frozen=True)
class BufferRow:
    """One buffer to set: the channel's code, our SKU, and units or a percentage (both None: the
    product's own buffer is removed and the channel's default applies)."""

    channel: str
    sku: str
    units: int | None = None
    percent: Decimal | None = None


def _check_amounts(units, percent, errors):
    if units is not None and percent is not None:
        errors["percent"] = [_("Keep back units or a percentage, not both: empty one of the two.")]
    if units is not None and not 0 <= units <= inventory.MAX_QUANTITY:
        errors["units"] = [_("Enter a whole number of units from 0 to %(max)s.") % {"max": inventory.MAX_QUANTITY}]
    if percent is not None:
        if not percent.is_finite() or not 0 <= percent <= HUNDRED:
            errors["percent"] = [_("Enter a percentage from 0 to 100.")]
        elif percent != percent.quantize(Decimal("0.01")):
            errors["percent"] = [_("Use at most two decimal places.")]


@transaction.atomic
def save_stock_buffers(rows: list[BufferRow], *, actor: Actor) -> list[tuple[str, dict] | ValidationError]:
    """Set channels' buffers: one outcome per row, ("new", "update", "remove" or "skip", {field:
    (old, new)}), or the ValidationError that refused it (keyed by the row's field: channel, sku,
    units, percent); the others are saved all the same, and a caller that wants all or nothing
    rolls back its transaction. A bundle keeps no buffer: it holds no stock, its components do."""
    require(actor, Orders.CHANGE_CHANNELSTOCKBUFFER, _("Your role may not change channels' stock buffers."))
    channels = {channel.code: channel for channel in Channel.objects.filter(code__in={row.channel for row in rows})}
    products = products_by_sku(row.sku for row in rows)
    bundles = set(
        BundleComponent.objects.filter(bundle__in=list(products.values())).values_list("bundle_id", flat=True)
    )
    known = locks.lock_stock_buffers(
        (channels[row.channel].pk, products[row.sku].pk)
        for row in rows
        if row.channel in channels and row.sku in products
    )
    outcomes = []
    for row in rows:
        errors = {}
        channel, product = channels.get(row.channel), products.get(row.sku)
        if channel is None:
            errors["channel"] = [_("Unknown channel “%(code)s”.") % {"code": row.channel}]
        if product is None:
            errors["sku"] = [_("Unknown SKU “%(sku)s”.") % {"sku": row.sku}]
        elif product.pk in bundles:
            errors["sku"] = [
                _("“%(sku)s” is a bundle: it holds no stock of its own, so set the buffer on its components.")
                % {"sku": row.sku}
            ]
        _check_amounts(row.units, row.percent, errors)
        if errors:
            outcomes.append(ValidationError(errors))
            continue
        outcomes.append(_save_one(known, channel, product, row.units, row.percent, actor))
    return outcomes


def _save_one(known, channel, product, units, percent, actor):
    buffer = known.get((channel.pk, product.pk))
    if units is None and percent is None:
        if buffer is None:
            return "skip", {}
        old = {"units": (buffer.units, None), "percent": (buffer.percent, None)}
        buffer.delete()
        del known[channel.pk, product.pk]
        return "remove", {name: change for name, change in old.items() if change[0] is not None}
    wanted = {"units": units, "percent": percent}
    if buffer is None:
        buffer = ChannelStockBuffer(channel=channel, product=product, updated_by=stored_user(actor), **wanted)
        buffer.save()
        known[channel.pk, product.pk] = buffer
        return "new", {name: (None, value) for name, value in wanted.items() if value is not None}
    changes = {name: (getattr(buffer, name), value) for name, value in wanted.items() if getattr(buffer, name) != value}
    if changes:
        for name, value in wanted.items():
            setattr(buffer, name, value)
        buffer.updated_by = stored_user(actor)
        buffer.save()
        return "update", changes
    return "skip", {}


@transaction.atomic
def set_stock_buffer(
    *, channel: Channel, sku: str, units: int | None, percent: Decimal | None, actor: Actor
) -> ChannelStockBuffer | None:
    """One buffer set from the console (None: removed); raises the ValidationError that refuses it."""
    [outcome] = save_stock_buffers([BufferRow(channel.code, sku, units, percent)], actor=actor)
    if isinstance(outcome, ValidationError):
        raise outcome
    return ChannelStockBuffer.objects.filter(channel=channel, product__sku=sku).first()


@transaction.atomic
def remove_stock_buffers(buffer_ids: list[int], *, actor: Actor) -> int:
    """Remove buffers (their products take the channel's default again); answers how many."""
    require(actor, Orders.DELETE_CHANNELSTOCKBUFFER, _("Your role may not change channels' stock buffers."))
    pairs = ChannelStockBuffer.objects.filter(pk__in=buffer_ids).values_list("channel_id", "product_id")
    locked = locks.lock_stock_buffers(pairs)
    for buffer in locked.values():
        buffer.delete()
    return len(locked)


@transaction.atomic
def set_channel_default_buffer(channel_id: int, *, units: int | None, percent: Decimal | None, actor: Actor) -> Channel:
    """The channel's default buffer: what it keeps back of every product without one of its own."""
    require(actor, Orders.CHANGE_CHANNELSTOCKBUFFER, _("Your role may not change channels' stock buffers."))
    errors = {}
    _check_amounts(units, percent, errors)
    if errors:
        raise ValidationError({("stock_buffer_" + name): messages for name, messages in errors.items()})
    channel = locks.lock_channel(channel_id)
    channel.stock_buffer_units, channel.stock_buffer_percent = units, percent
    channel.save(update_fields=["stock_buffer_units", "stock_buffer_percent"])
    return channel
