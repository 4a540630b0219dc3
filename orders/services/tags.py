"""Tags on orders: labels staff put on many orders at once to find and work them together
(docs/architecture.md, "The order list at volume"). Tagging changes no state of the order, so it
locks nothing: a tag is there or not, and putting it twice keeps one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor, stored_user
from core.permissions import Orders, may, require

from ..models import Order, OrderTag, OrderTagging


@dataclass
class Tagged:
    """What a bulk tagging did: the tag, how many orders gained or lost it, how many had it
    (or lacked it) already."""

    tag: OrderTag
    changed: int
    unchanged: int


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the tag a name.")})
    if len(name) > OrderTag._meta.get_field("name").max_length:
        raise ValidationError({"name": _("A tag's name has at most 40 characters.")})
    return name


@transaction.atomic
def create_tag(name: str, *, colour: str = OrderTag.Colour.GREY, actor: Actor) -> OrderTag:
    """A new tag; refused when one of that name (in any case) exists."""
    require(actor, Orders.ADD_ORDERTAG, _("Your role may not create tags."))
    name = _clean_name(name)
    if colour not in OrderTag.Colour.values:
        raise ValidationError({"colour": _("Choose one of the colours offered.")})
    if OrderTag.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": _("A tag named “%(name)s” exists already.") % {"name": name}})
    return OrderTag.objects.create(name=name, colour=colour)


def _tag_named(name: str, actor: Actor) -> OrderTag:
    """The tag of that name (in any case), created when the actor may create tags."""
    name = _clean_name(name)
    tag = OrderTag.objects.filter(name__iexact=name).first()
    if tag is not None:
        return tag
    if not may(actor, Orders.ADD_ORDERTAG):
        raise ValidationError(
            {
                "name": _("There is no tag “%(name)s”, and your role may not create tags: choose one of the list.")
                % {"name": name}
            }
        )
    # Two people creating the same new tag at once: the unique name keeps one, and the loser uses it.
    tag, _created = OrderTag.objects.get_or_create(name=name)
    return tag


def _resolve(tag_id: int | None, name: str, actor: Actor) -> OrderTag:
    if tag_id:
        tag = OrderTag.objects.filter(pk=tag_id).first()
        if tag is None:
            raise ValidationError({"tag": _("That tag no longer exists.")})
        return tag
    return _tag_named(name, actor)


@transaction.atomic
def tag_orders(order_ids: Iterable[int], *, actor: Actor, tag_id: int | None = None, name: str = "") -> Tagged:
    """Put one tag (chosen, or named, which creates it for those who may create tags) on every
    order given. All in one transaction: tagging refuses no single order."""
    require(actor, Orders.TAG_ORDER, _("Your role may not tag orders."))
    tag = _resolve(tag_id, name, actor)
    order_ids = set(Order.objects.filter(pk__in=set(order_ids)).values_list("pk", flat=True))
    had = set(OrderTagging.objects.filter(tag=tag, order_id__in=order_ids).values_list("order_id", flat=True))
    now, by = timezone.now(), stored_user(actor)
    OrderTagging.objects.bulk_create(
        [OrderTagging(order_id=order_id, tag=tag, added_by=by, added_at=now) for order_id in sorted(order_ids - had)],
        ignore_conflicts=True,
    )
    return Tagged(tag=tag, changed=len(order_ids - had), unchanged=len(had))


@transaction.atomic
def untag_orders(order_ids: Iterable[int], *, tag_id: int, actor: Actor) -> Tagged:
    """Take one tag off every order given that has it."""
    require(actor, Orders.TAG_ORDER, _("Your role may not tag orders."))
    tag = _resolve(tag_id, "", actor)
    order_ids = set(order_ids)
    removed, _by_model = OrderTagging.objects.filter(tag=tag, order_id__in=order_ids).delete()
    return Tagged(tag=tag, changed=removed, unchanged=len(order_ids) - removed)


@transaction.atomic
def update_tag(tag_id: int, *, name: str, colour: str, actor: Actor) -> OrderTag:
    """Rename a tag or change its colour; the orders keep it."""
    require(actor, Orders.CHANGE_ORDERTAG, _("Your role may not change tags."))
    name = _clean_name(name)
    if colour not in OrderTag.Colour.values:
        raise ValidationError({"colour": _("Choose one of the colours offered.")})
    if OrderTag.objects.filter(name__iexact=name).exclude(pk=tag_id).exists():
        raise ValidationError({"name": _("A tag named “%(name)s” exists already.") % {"name": name}})
    tag = OrderTag.objects.get(pk=tag_id)
    tag.name, tag.colour = name, colour
    tag.save(update_fields=["name", "colour"])
    return tag


@transaction.atomic
def delete_tag(tag_id: int, *, actor: Actor) -> int:
    """Delete a tag, taking it off every order that has it; returns how many orders had it."""
    require(actor, Orders.DELETE_ORDERTAG, _("Your role may not delete tags."))
    had, _by_model = OrderTagging.objects.filter(tag_id=tag_id).delete()
    OrderTag.objects.filter(pk=tag_id).delete()
    return had
