"""Saved views of the order list: a staff member keeps a filtered list under a name, and nobody
else sees it (docs/architecture.md, "The order list at volume")."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.actors import Actor, person

from ..models import SavedView

# What a list's address carries that is not part of the view: the page, an error flag, the
# admin's own markers.
NOT_PART_OF_A_VIEW = {"p", "e", "_changelist_filters", "_popup", "_to_field"}


def clean_query(query: str) -> str:
    """The list's query string without the page and the admin's own markers."""
    pairs = [(key, value) for key, value in parse_qsl((query or "").lstrip("?"), keep_blank_values=False)]
    return urlencode([(key, value) for key, value in pairs if key not in NOT_PART_OF_A_VIEW])


@transaction.atomic
def save_view(name: str, query: str, *, actor: Actor) -> SavedView:
    """Keep the list's filters under a name for the person acting; a name they used before now
    holds the new filters."""
    user = person(actor)
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the view a name.")})
    if len(name) > SavedView._meta.get_field("name").max_length:
        raise ValidationError({"name": _("A view's name has at most 60 characters.")})
    query = clean_query(query)
    if len(query) > SavedView._meta.get_field("query").max_length:
        raise ValidationError({"name": _("These filters are too long to keep; narrow them first.")})
    view, _created = SavedView.objects.update_or_create(user=user, name=name, defaults={"query": query})
    return view


@transaction.atomic
def delete_view(view_id: int, *, actor: Actor) -> None:
    """Delete one of the person's own saved views; another person's is not found."""
    user = person(actor)
    deleted, _by_model = SavedView.objects.filter(pk=view_id, user=user).delete()
    if not deleted:
        raise SavedView.DoesNotExist
