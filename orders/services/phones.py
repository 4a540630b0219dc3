from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

import phonenumbers
from django.conf import settings

# A phone a marketplace masked (138****8000): digits with a run of asterisks inside, after folding
# full-width ones.
MASKED_PHONE = re.compile(r"^\+?\d[\d\s-]*\*+[\d\s*-]*$")


def normalize_phone(raw: str | None) -> tuple[str, bool]:
    """Return (E.164 form, valid). Full-width digits, spaces, dashes and a +86 or 0086 prefix are
    understood; a number that cannot be read comes back cleaned but marked invalid, and a masked
    one comes back as masked, without its spaces, and invalid."""
    return _normalized(str(raw or ""), settings.DEFAULT_PHONE_REGION)


def is_masked_phone(raw: str | None) -> bool:
    """Whether the phone is one a marketplace masked: kept as the marketplace gives it and flagged
    on the order, never a number to call, text or count orders by (docs/architecture.md, "Addresses")."""
    return bool(MASKED_PHONE.match(unicodedata.normalize("NFKC", str(raw or "")).strip()))


# A customer reached through a masked phone is told apart by name and address too: their key is the
# masked phone, this mark and a digest of those.
MASKED_CUSTOMER_MARK = "#"


def masked_customer_phone(phone: str, who: str) -> str:
    """The phone a buyer behind a masked number is found again by: the masked number and a digest
    of `who` (their name and address), within the 20 characters a phone is stored in."""
    return f"{phone}{MASKED_CUSTOMER_MARK}{hashlib.sha256(who.encode()).hexdigest()}"[:20]


def _shown(phone: str) -> str | None:
    """A masked phone (a customer's key included) as shown: as the marketplace gave it."""
    written = phone.split(MASKED_CUSTOMER_MARK, 1)[0]
    return written if is_masked_phone(written) else None


# Placing an order reads its phone several times (checks, customer, notifications) and an import
# places thousands; parsing is the costly part, and the answer for a number never changes.
@lru_cache(maxsize=4096)
def _normalized(raw, region):
    if is_masked_phone(raw):
        return "".join(ch for ch in unicodedata.normalize("NFKC", raw) if ch.isdigit() or ch in "+*")[:20], False
    cleaned = _cleaned(raw)
    if not cleaned:
        return "", False
    try:
        parsed = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        return cleaned[:20], False
    if not phonenumbers.is_valid_number(parsed):
        return cleaned[:20], False
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), True


def _cleaned(raw):
    cleaned = unicodedata.normalize("NFKC", raw).strip()
    cleaned = "".join(ch for ch in cleaned if ch.isdigit() or ch == "+")
    return "+" + cleaned[2:] if cleaned.startswith("00") else cleaned


def is_possible_phone(raw: str | None) -> bool:
    """Whether `raw` can be a whole phone number at all: a country code that exists and as many
    digits as its numbering plan uses. “12345” cannot (nor a service number, nor a local number
    without its area code), and intake refuses it; a possible number that is not valid (no such
    number is assigned) holds the order for a person to check instead."""
    return _possible(str(raw or ""), settings.DEFAULT_PHONE_REGION)


@lru_cache(maxsize=4096)
def _possible(raw, region):
    try:
        parsed = phonenumbers.parse(_cleaned(raw), region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_possible_number_with_reason(parsed) == phonenumbers.ValidationResult.IS_POSSIBLE


def mask_phone(phone: str) -> str:
    """Keep the country code, the first three and the last four digits: +86 138****5678. A number
    the marketplace masked already is shown as it gave it."""
    if not phone:
        return ""
    if _shown(phone) is not None:
        return _shown(phone)
    try:
        parsed = phonenumbers.parse(phone, settings.DEFAULT_PHONE_REGION)
        national = str(parsed.national_number)
        prefix = f"+{parsed.country_code} "
    except phonenumbers.NumberParseException:
        national, prefix = phone, ""
    if len(national) <= 7:
        return prefix + "*" * max(len(national) - 4, 0) + national[-4:]
    return prefix + national[:3] + "*" * (len(national) - 7) + national[-4:]


def format_phone(phone: str) -> str:
    """A stored number grouped for reading, as mask_phone shows it: +86 138 0013 8000. A number
    that is not valid is shown as it was given, so staff see what the customer typed."""
    if not phone:
        return ""
    if _shown(phone) is not None:
        return _shown(phone)
    try:
        parsed = phonenumbers.parse(phone, settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return phone
    if not phonenumbers.is_valid_number(parsed):
        return phone
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
