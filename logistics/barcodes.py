"""Code 128 barcodes for the printed parcel pages, drawn as inline SVG: nothing touches the disk, so
every app server can print any label."""

import re

from barcode import Code128
from barcode.errors import IllegalCharacterError
from django.utils.html import escape
from django.utils.safestring import mark_safe

# 0.33 mm bars read reliably from thermal label printers at 203 dpi; the quiet zone on either side
# is the ten modules the Code 128 specification asks for.
MODULE_WIDTH_MM = 0.33
BAR_HEIGHT_MM = 14.0
QUIET_ZONE_MM = 10 * MODULE_WIDTH_MM


def code128_modules(text):
    """The bars and spaces of `text` in Code 128, one character per module ("1" a bar, "0" a
    space), start code, checksum and stop pattern included."""
    return Code128(text).build()[0]


def code128_svg(text, *, height_mm=BAR_HEIGHT_MM):
    """`text` as a Code 128 barcode in an inline <svg> element, printed at its true size in
    millimetres yet allowed to shrink to fit narrower paper. Returns "" for text Code 128 cannot
    carry (it encodes ASCII only), so the page shows the plain text alone.

    The library encodes; the bars are drawn here, one rectangle per run of bars, as plain user
    units under a viewBox so the drawing scales with the element instead of overflowing a small
    label. Its own SVG writer took some 10 ms a barcode (a document built and parsed again),
    which a batch of 500 labels paid a thousand times. Bars are coloured with SVG's fill attribute,
    not a style attribute, which the Content-Security-Policy refuses (docs/architecture.md,
    "Sign-in and security"); no element has an id, so two barcodes can share a page."""
    if not text:
        return ""
    try:
        modules = code128_modules(text)
    except IllegalCharacterError:
        return ""
    width = _mm(2 * QUIET_ZONE_MM + len(modules) * MODULE_WIDTH_MM)
    height = _mm(height_mm)
    bars = []
    for run in re.finditer("1+", modules):
        bars.append(
            f'<rect x="{_mm(QUIET_ZONE_MM + run.start() * MODULE_WIDTH_MM)}" y="0" '
            f'width="{_mm((run.end() - run.start()) * MODULE_WIDTH_MM)}" height="{height}" fill="black"/>'
        )
    return mark_safe(  # noqa: S308 - numbers we computed; the text is attribute-escaped
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}mm" height="{height}mm" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="none" class="barcode" role="img" '
        f'aria-label="{escape(text)}"><rect x="0" y="0" width="{width}" height="{height}" fill="white"/>'
        f"{''.join(bars)}</svg>"
    )


def _mm(value):
    """A length in millimetres as SVG writes it: three decimals at most, no trailing zeros."""
    return f"{value:.3f}".rstrip("0").rstrip(".")
