"""Import profiles: how one place's order workbooks are read (docs/architecture.md,
"Spreadsheets"). A profile is kept per channel under a name; the mapping step of the order import
saves one, the console edits, exports and imports them, and an upload from the same place finds its
profile again by the file's headers."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor, stored_user
from core.permissions import Orders, require

from ..importers import mapping
from ..importers.marketplaces import BUILT_IN_PROFILES, built_in_profile
from ..models import Channel, ImportProfile

# What an exported profile file says it is, so an import refuses anything else.
EXPORT_FORMAT, EXPORT_VERSION = mapping.FORMAT, mapping.VERSION


def _checked(definition: dict) -> dict:
    if isinstance(definition, dict):
        definition = {**definition, "format": EXPORT_FORMAT, "version": EXPORT_VERSION}
    problems = mapping.validate_profile(definition)
    if problems:
        raise ValidationError({"definition": [str(problem) for problem in problems]})
    return definition


@transaction.atomic
def save_profile(
    *, channel: Channel, name: str, definition: dict, actor: Actor, profile_id: int | None = None, based_on: str = ""
) -> ImportProfile:
    """Keep a profile for `channel` under `name` (a new one, or `profile_id` changed); refused with
    every problem of the mapping named (a required field unmapped, two columns on one field …)."""
    require(actor, Orders.CHANGE_IMPORTPROFILE if profile_id else Orders.ADD_IMPORTPROFILE)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("Give the profile a name, such as the place its files come from.")]})
    definition = _checked({**definition, "name": name})
    if profile_id:
        profile = ImportProfile.objects.select_for_update().get(pk=profile_id)
    else:
        profile = ImportProfile(channel=channel, created_by=stored_user(actor), based_on=based_on)
    profile.channel, profile.name, profile.definition = channel, name, definition
    try:
        with transaction.atomic():
            profile.save()
    except IntegrityError:
        raise ValidationError(
            {
                "name": [
                    _("Channel %(channel)s has a profile named “%(name)s” already.")
                    % {"channel": channel, "name": name}
                ]
            }
        ) from None
    return profile


def export_profile(profile: ImportProfile) -> bytes:
    """The profile as a JSON file another shop (or this one, for another channel) can import."""
    return json.dumps(
        {**profile.definition, "name": profile.name, "format": EXPORT_FORMAT, "version": EXPORT_VERSION},
        ensure_ascii=False,
        indent=2,
    ).encode()


def import_profile(content: bytes, *, channel: Channel, actor: Actor) -> ImportProfile:
    """A profile file exported before, kept for `channel`; refused unless it is one, whole and valid."""
    try:
        definition = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValidationError({"file": [_("The file is not a profile exported from the console (JSON).")]}) from None
    if not isinstance(definition, dict) or definition.get("format") != EXPORT_FORMAT:
        raise ValidationError({"file": [_("The file is not a profile exported from the console (JSON).")]})
    if definition.get("version") != EXPORT_VERSION:
        raise ValidationError(
            {"file": [_("The profile was written by a version of the console this one does not read.")]}
        )
    return save_profile(channel=channel, name=definition.get("name", ""), definition=definition, actor=actor)


def profile_for(channel: Channel | None, headers: list[list[str]]) -> tuple[dict, ImportProfile | None] | None:
    """The profile that reads files with these header rows (one per uploaded file): the channel's
    own (the one used last first), else a shipped marketplace profile. Returns (definition, the
    saved profile or None), or None when no profile fits and the columns must be mapped."""
    if channel is not None:
        for profile in channel.import_profiles.order_by(F("last_used_at").desc(nulls_last=True), "-updated_at"):
            if mapping.matches(profile.definition, headers):
                return profile.definition, profile
    for definition in BUILT_IN_PROFILES:
        if mapping.matches(definition, headers):
            return built_in_profile(definition["key"]), None
    return None


def nearest_profile(
    channel: Channel | None, headers: list[list[str]]
) -> tuple[dict, list[str], ImportProfile | None] | None:
    """When no profile reads these files, the one they come nearest to (the channel's own first) and
    the headers of it they lack: a marketplace that renamed or dropped a column of its report.
    Returns (definition, missing headers, the saved profile or None)."""
    saved = list(channel.import_profiles.all()) if channel is not None else []
    candidates = [(profile.definition, profile) for profile in saved]
    candidates += [(built_in_profile(definition["key"]), None) for definition in BUILT_IN_PROFILES]
    nearest = [
        (definition, missing, profile)
        for definition, profile in candidates
        if (missing := mapping.missing_headers(definition, headers)) is not None
    ]
    return min(nearest, key=lambda found: len(found[1])) if nearest else None


def half_of_a_pair(channel: Channel | None, headers: list[list[str]]) -> tuple[dict, str] | None:
    """When a single uploaded file is one of the two files a profile reads (a marketplace's items
    report without its order report, or the other way round): that profile and the file missing."""
    if len(headers) != 1:
        return None
    saved = [profile.definition for profile in channel.import_profiles.all()] if channel is not None else []
    for definition in [*saved, *BUILT_IN_PROFILES]:
        if len(definition.get("files", {})) != 2:
            continue
        for present, missing in ((mapping.ITEMS_FILE, mapping.ORDERS_FILE), (mapping.ORDERS_FILE, mapping.ITEMS_FILE)):
            if mapping.fits_file(definition, present, headers[0]):
                return definition, missing
    return None


def note_used(profile_id: int) -> None:
    ImportProfile.objects.filter(pk=profile_id).update(last_used_at=timezone.now())
