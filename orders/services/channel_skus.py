"""Channels' own codes for our products, uploaded as a sheet (docs/architecture.md, "Bundles, gifts
and channel SKUs"); the console's list keeps them one by one."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.actors import Actor
from core.permissions import Orders, require
from inventory.selectors import products_by_sku

from .. import locks
from ..models import Channel, ChannelSku


@transaction.atomic
def save_channel_skus(
    rows: list[tuple[str, str, str, int | None]], *, actor: Actor
) -> list[tuple[str, dict] | ValidationError]:
    """Add or update channel codes: `rows` holds (channel code, the channel's code, our SKU, our
    units per item or None for 1). Answers one outcome per row: ("new", "update" or "skip",
    {field: (old, new)}), or the ValidationError that refused it; the others are saved all the same,
    and a caller that wants all or nothing rolls back its transaction."""
    require(actor, Orders.ADD_CHANNELSKU, _("Your role may not import channel SKUs."))
    require(actor, Orders.CHANGE_CHANNELSKU, _("Your role may not import channel SKUs."))
    channels = {channel.code: channel for channel in Channel.objects.filter(code__in={row[0] for row in rows})}
    products = products_by_sku(row[2] for row in rows)
    known = locks.lock_channel_skus(
        (channels[channel_code].pk, code) for channel_code, code, _sku, _quantity in rows if channel_code in channels
    )
    outcomes = []
    for channel_code, code, sku, quantity in rows:
        errors = {}
        channel, product = channels.get(channel_code), products.get(sku)
        if channel is None:
            errors["channel"] = [_("Unknown channel “%(code)s”.") % {"code": channel_code}]
        if product is None:
            errors["sku"] = [_("Unknown SKU “%(sku)s”.") % {"sku": sku}]
        if quantity is not None and quantity < 1:
            errors["quantity"] = [_("Enter a quantity of at least 1.")]
        if errors:
            outcomes.append(ValidationError(errors))
            continue
        mapping = known.get((channel.pk, code)) or ChannelSku(channel=channel, code=code)
        is_new = mapping.pk is None
        wanted = {"product": product, "quantity": quantity or 1}
        changes = {
            name: (getattr(mapping, name, None) if not is_new else None, value)
            for name, value in wanted.items()
            if is_new or getattr(mapping, name) != value
        }
        for name, value in wanted.items():
            setattr(mapping, name, value)
        if is_new or changes:
            mapping.save()
        known[channel.pk, code] = mapping
        outcomes.append(("new" if is_new else "update" if changes else "skip", changes))
    return outcomes
