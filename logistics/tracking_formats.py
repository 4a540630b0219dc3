"""What a carrier's tracking numbers look like, so the handover station can tell a parcel of one
carrier from another's before the driver drives off with it (docs/architecture.md, "Handover to
the carrier").

Each carrier keeps its own regular expression (`Carrier.tracking_number_pattern`), matched against
the whole number. The defaults below are filled in for carriers of these codes, once by the data
migration for the carriers that existed and whenever a carrier of one of these codes is created;
staff change them on the carrier's page when a carrier starts issuing another kind of number.

Where they come from: public tables that Chinese e-commerce code checks tracking numbers with
(chinagoods' `UDFLogisticNoValid`, a Hive function with one expression per carrier, found through
searches for "快递单号 正则"), narrowed to the numbers the carriers issue now so that the carriers
can be told apart. They were not checked against the carriers' own documentation: treat them as a
starting point.

- SF Express (顺丰): "SF" and 13 digits. Older labels had 12 bare digits, left out here because
  STO and several others issue 12-digit numbers as well.
- ZTO (中通): 12 digits starting 7, or 14 digits starting 7 (the newer, longer numbers).
- YTO (圆通): "YT" and 13 digits.
- STO (申通): 15 digits starting 77 (the current numbers), or 12 digits starting with one of STO's
  own three-digit ranges (268, 368, 468, 568, 588, 668, 688, 868, 888, 968). STO's 768 range is
  left out: those 12-digit numbers start with 7 like ZTO's, which take the 7.
- Yunda (韵达): 13 digits starting 3 or 4, or 15 digits starting 4.
- JD Logistics (京东物流): "JDV", a letter and 11 digits (JDVA…, JDVB…), or "JDX"/"JDK" and 12 digits.
- EMS (中国邮政速递): the UPU's international form (two letters, nine digits, two letters:
  EA123456789CN), or 13 digits starting 10, 11, 50, 51, 95, 97, 98 or 99.

Overlaps: as written these seven never match the same number (tests/test_handover.py checks each
carrier's sample against every other pattern). Carriers' real ranges do overlap once the older
numbers are let in: SF's 12 bare digits collide with STO's, and 13-digit numbers are issued by
Yunda, EMS and China Post parcels alike; a carrier whose pattern is widened to take them can no
longer be told apart from the others by the number, and the station then refuses only what fits no
pattern of its own. A carrier with no pattern is not checked at all."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Carrier code → pattern. Codes are compared in lower case, as Carrier.code is a slug.
DEFAULT_PATTERNS = {
    "sf": r"SF\d{13}",
    "zto": r"7\d{11}|7\d{13}",
    "yto": r"YT\d{13}",
    "sto": r"77\d{13}|(?:268|368|468|568|588|668|688|868|888|968)\d{9}",
    "yunda": r"[34]\d{12}|4\d{14}",
    "jd": r"JDV[A-Z]\d{11}|JD[XK]\d{12}",
    "ems": r"[A-Z]{2}\d{9}[A-Z]{2}|(?:10|11|50|51|95|97|98|99)\d{11}",
}


def default_pattern(carrier_code: str) -> str:
    """The pattern a new carrier of this code starts with, or "" when we know none."""
    return DEFAULT_PATTERNS.get((carrier_code or "").lower(), "")


def validate_pattern(pattern: str) -> None:
    """A pattern staff typed must compile, and must not match an empty number (which would let
    anything scanned by mistake through)."""
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise ValidationError(
            _("This is not a valid regular expression: %(problem)s.") % {"problem": error.msg}
        ) from error
    if compiled.fullmatch(""):
        raise ValidationError(_("The pattern must not match an empty tracking number."))


def fits(pattern: str, tracking_number: str) -> bool:
    """Whether the whole tracking number matches the pattern. A stored pattern that no longer
    compiles (edited in the database by hand) fits nothing rather than failing the scan."""
    try:
        return re.fullmatch(pattern, tracking_number) is not None
    except re.error:
        return False
