"""Products' ABC classes, written for planning, which works them out from sales that inventory
cannot read (docs/architecture.md, "The apps")."""

from __future__ import annotations

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.actors import Actor
from core.permissions import Planning, require

from .. import locks
from ..models import AbcClass, Product


@transaction.atomic
def set_abc_classes(classes: dict[int, str], *, actor: Actor) -> int:
    """Give each product (by id) its class, in one statement per class, and answer how many
    products changed class. Products not named keep theirs. Only the products whose class changes
    are locked and written, in primary-key order, with nothing locked after them."""
    require(actor, Planning.CLASSIFY_PRODUCTS, _("Your role may not classify products."))
    unknown = sorted(set(classes.values()) - set(AbcClass.values))
    if unknown:
        raise ValidationError(_("“%(value)s” is not an ABC class.") % {"value": unknown[0]})
    current = Product.objects.filter(pk__in=list(classes)).values_list("pk", "abc_class")
    changing = {pk: classes[pk] for pk, abc_class in current if classes[pk] != abc_class}
    locked = locks.lock_products(changing)
    by_class = defaultdict(list)
    for pk in locked:
        by_class[changing[pk]].append(pk)
    for abc_class, ids in by_class.items():
        Product.objects.filter(pk__in=ids).update(abc_class=abc_class)
    return len(locked)
