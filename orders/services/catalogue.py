"""What an order's lines name, resolved: the one line-resolution of intake (docs/architecture.md,
"Bundles, gifts and channel SKUs").

Every way a line comes in (the API, the Excel import, the console's new order, and an edit that adds
lines) calls `resolve_lines`: a SKU is read first as the channel's own code (`ChannelSku`), then as
ours; a bundle is expanded into its component lines with the bundle's price spread over them. A batch
loads what its lines name with `load_catalogue` once: one query for the products and the channel's
codes, and one more for the components only when a bundle is ordered."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from django.db.models import Exists, F, FilteredRelation, OuterRef, Q
from django.utils.translation import gettext as _

from inventory.models import BundleComponent, Product
from inventory.selectors import KeepBack

from ..models import Channel, GiftRule, OrderLine, keep_back_of

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass
class ResolvedLine:
    """One line to store: a real product (never a bundle), its quantity and money, and, for a
    bundle's component, the bundle it came from; for a gift, the rule that gave it."""

    product: Product
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    bundle: Product | None = None
    bundle_quantity: int | None = None
    bundle_group: int | None = None
    is_gift: bool = False
    gift_rule: GiftRule | None = None

    def order_line(self, order) -> OrderLine:
        return OrderLine(
            order=order,
            product=self.product,
            sku=self.product.sku,
            name=self.product.name,
            quantity=self.quantity,
            unit_price=self.unit_price,
            line_total=self.line_total,
            unit_cost=self.product.cost,
            bundle=self.bundle,
            bundle_sku=self.bundle.sku if self.bundle else "",
            bundle_name=self.bundle.name if self.bundle else "",
            bundle_quantity=self.bundle_quantity,
            bundle_group=self.bundle_group,
            is_gift=self.is_gift,
            gift_rule=self.gift_rule,
        )


@dataclass
class Catalogue:
    """What a batch's lines name: our products by SKU, the channels' codes, the bundles' components,
    and the stock the batch's channels keep back of them (docs/architecture.md, "Stock per
    channel")."""

    products: dict[str, Product]
    codes: dict[tuple[int, str], tuple[Product, int]]
    components: dict[int, list[tuple[Product, int]]]
    buffers: dict[tuple[int, int], KeepBack] = field(default_factory=dict)

    def keep_back(self, channel: Channel, lines: Iterable[ResolvedLine]) -> dict[int, KeepBack]:
        """What `channel` keeps back of each product of `lines`: the product's own buffer, else
        the channel's default; products with neither are left out."""
        default = channel.default_keep_back()
        kept = {}
        for line in lines:
            rule = self.buffers.get((channel.pk, line.product.pk), default)
            if rule is not None:
                kept[line.product.pk] = rule
        return kept

    def lookup(self, channel: Channel | None, sku: str) -> tuple[Product | None, int]:
        """The product a line's SKU names on `channel` and our units per item: the channel's code
        first, then our SKU."""
        if isinstance(channel, Channel) and (channel.pk, sku) in self.codes:
            return self.codes[channel.pk, sku]
        return self.products.get(sku), 1


def load_catalogue(lines: Iterable[tuple[Channel | None, str]]) -> Catalogue:
    """Everything the (channel, SKU) pairs of a batch name, in one query (two with bundles), the
    channels' stock buffers of those products read in the same query."""
    skus, channel_ids = set(), set()
    for channel, sku in lines:
        sku = str(sku or "").strip()
        if sku:
            skus.add(sku)
            if isinstance(channel, Channel):
                channel_ids.add(channel.pk)
    if not skus:
        return Catalogue({}, {}, {})
    rows = (
        Product.objects.annotate(
            code=FilteredRelation(
                "channel_skus",
                condition=Q(channel_skus__code__in=skus, channel_skus__channel_id__in=channel_ids or [0]),
            )
        )
        .filter(Q(sku__in=skus) | Q(code__id__isnull=False))
        .annotate(
            buffer=_buffers_of(channel_ids, "channel_buffers"),
            is_bundle=Exists(BundleComponent.objects.filter(bundle=OuterRef("pk"))),
            code_channel=F("code__channel_id"),
            code_text=F("code__code"),
            code_quantity=F("code__quantity"),
            **_buffer_fields(),
        )
        .order_by()
    )
    products, codes, bundles, buffers = {}, {}, set(), {}
    for product in rows:
        if product.sku in skus:
            products[product.sku] = product
        if product.code_text is not None:
            codes[product.code_channel, product.code_text] = (product, product.code_quantity)
        if product.is_bundle:
            bundles.add(product.pk)
        _note_buffer(buffers, product.pk, product)
    components = defaultdict(list)
    if bundles:
        seen = set()
        for part in (
            BundleComponent.objects.filter(bundle_id__in=bundles)
            .annotate(buffer=_buffers_of(channel_ids, "component__channel_buffers"), **_buffer_fields())
            .select_related("component")
            .order_by("bundle", "id")
        ):
            _note_buffer(buffers, part.component_id, part)
            if part.pk not in seen:
                seen.add(part.pk)
                components[part.bundle_id].append((part.component, part.quantity))
    return Catalogue(products, codes, dict(components), buffers)


def _buffers_of(channel_ids, relation):
    """The stock buffers of the batch's channels, joined to the products read (one row per channel
    that has one), so intake reads them with no query of its own."""
    return FilteredRelation(relation, condition=Q(**{f"{relation}__channel_id__in": channel_ids or [0]}))


def _buffer_fields():
    return {
        "buffer_channel": F("buffer__channel_id"),
        "buffer_units": F("buffer__units"),
        "buffer_percent": F("buffer__percent"),
    }


def _note_buffer(buffers, product_id, row):
    if row.buffer_channel is not None:
        buffers[row.buffer_channel, product_id] = keep_back_of(row.buffer_units, row.buffer_percent)


def spread(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`total` shared in proportion to `weights`, in cents, the remainder on the last share so the
    shares add up to `total` exactly. Equal shares when every weight is zero."""
    if not any(weights):
        weights = [Decimal(1)] * len(weights)
    whole = sum(weights)
    shares = [(total * weight / whole).quantize(CENT, ROUND_DOWN) for weight in weights[:-1]]
    return [*shares, total - sum(shares, ZERO)]


def _unknown(sku, channel):
    if isinstance(channel, Channel):
        return _("Unknown SKU “%(sku)s”: it is neither a product nor a code of channel %(channel)s.") % {
            "sku": sku,
            "channel": channel.name,
        }
    return _("Unknown SKU “%(sku)s”.") % {"sku": sku}


def _per_unit(line_total, quantity):
    return (line_total / quantity).quantize(CENT) if quantity else ZERO


def resolve_lines(
    raw_lines: Sequence,
    *,
    channel: Channel | None,
    catalogue: Catalogue,
    errors: dict,
    may_set_prices: bool,
    read_quantity: Callable[[object, str], int | None],
    read_price: Callable[[object, str], Decimal | None],
    first_group: int = 1,
    max_units: int | None = None,
) -> list[ResolvedLine]:
    """The lines to store for `raw_lines` (LineInputs; errors keyed `lines[n].field`, n from 1):
    channel codes mapped to our products (× their units per item), bundles expanded into their
    components with the bundle's price spread over them in proportion to the components' list
    prices × quantities. A line's given price is the channel's price of one item as ordered.
    `read_quantity(value, field)` and `read_price(value, field)` read the text of a field and
    complain into `errors`; `first_group` numbers the bundles after those already on the order;
    `max_units` is the most units one stored line may hold (packs and bundles multiply them)."""
    lines, group = [], first_group
    for index, raw in enumerate(raw_lines, start=1):
        sku = str(raw.sku or "").strip()
        product, per_item = catalogue.lookup(channel, sku) if sku else (None, 1)
        parts = catalogue.components.get(product.pk) if product is not None else None
        if not sku:
            errors[f"lines[{index}].sku"] = [_("Enter a SKU.")]
        elif product is None:
            errors[f"lines[{index}].sku"] = [_unknown(sku, channel)]
        elif not product.active:
            errors[f"lines[{index}].sku"] = [_("SKU “%(sku)s” is no longer sold.") % {"sku": sku}]
        elif parts and (inactive := [part.sku for part, _quantity in parts if not part.active]):
            errors[f"lines[{index}].sku"] = [
                _("Bundle “%(sku)s” holds %(parts)s, no longer sold.") % {"sku": sku, "parts": ", ".join(inactive)}
            ]
        quantity = read_quantity(raw.quantity, f"lines[{index}].quantity")
        price = None
        if raw.unit_price not in (None, "") and not may_set_prices:
            errors[f"lines[{index}].unit_price"] = [
                _("Your role may not set prices; leave the price empty to use the catalogue price.")
            ]
        elif raw.unit_price not in (None, ""):
            price = read_price(raw.unit_price, f"lines[{index}].unit_price")
        elif product is not None:
            price = product.unit_price * per_item
        if f"lines[{index}].sku" in errors or not quantity or price is None:
            continue
        total = quantity * price
        units = quantity * per_item
        most = max((per_bundle for _part, per_bundle in parts or ()), default=1)
        if max_units is not None and units * most > max_units:
            errors[f"lines[{index}].quantity"] = [
                _("This comes to more than %(max)d units of one product; split it over several orders.")
                % {"max": max_units}
            ]
            continue
        if not parts:
            lines.append(ResolvedLine(product, units, _per_unit(total, units), total))
            continue
        shares = spread(total, [part.unit_price * per_bundle for part, per_bundle in parts])
        for (part, per_bundle), share in zip(parts, shares, strict=True):
            lines.append(
                ResolvedLine(
                    part,
                    units * per_bundle,
                    _per_unit(share, units * per_bundle),
                    share,
                    bundle=product,
                    bundle_quantity=units,
                    bundle_group=group,
                )
            )
        group += 1
    return lines
