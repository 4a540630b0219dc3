"""Code 128 barcodes for the printed parcel pages, drawn as inline SVG: nothing touches the disk, so
every app server can print any label."""

from xml.dom import minidom

from barcode import Code128
from barcode.errors import IllegalCharacterError
from barcode.writer import SVGWriter
from django.utils.safestring import mark_safe

# 0.33 mm bars read reliably from thermal label printers at 203 dpi; the quiet zone on either side
# is the ten modules the Code 128 specification asks for.
MODULE_WIDTH_MM = 0.33
BAR_HEIGHT_MM = 14.0
QUIET_ZONE_MM = 10 * MODULE_WIDTH_MM
SIZE_ATTRIBUTES = ("x", "y", "width", "height")


def code128_modules(text):
    """The bars and spaces of `text` in Code 128, one character per module ("1" a bar, "0" a
    space), start code, checksum and stop pattern included."""
    return Code128(text).build()[0]


def code128_svg(text, *, height_mm=BAR_HEIGHT_MM):
    """`text` as a Code 128 barcode in an inline <svg> element, printed at its true size in
    millimetres yet allowed to shrink to fit narrower paper. Returns "" for text Code 128 cannot
    carry (it encodes ASCII only), so the page shows the plain text alone."""
    if not text:
        return ""
    writer = SVGWriter()
    writer.compress = True
    writer.with_doctype = False
    try:
        raw = Code128(text, writer=writer).render(
            {
                "module_width": MODULE_WIDTH_MM,
                "module_height": height_mm,
                "quiet_zone": QUIET_ZONE_MM,
                "write_text": False,
                "margin_top": 0,
                "margin_bottom": 0,
                "background": "white",
            }
        )
    except IllegalCharacterError:
        return ""
    document = minidom.parseString(raw)
    svg = document.documentElement
    for node in list(svg.childNodes):
        if node.nodeType == node.COMMENT_NODE:
            svg.removeChild(node)
    # The writer draws in millimetres; as plain user units under a viewBox the same drawing
    # scales with the element instead of overflowing a small label.
    width, height = (svg.getAttribute(name).removesuffix("mm") for name in ("width", "height"))
    svg.setAttribute("viewBox", f"0 0 {width} {height}")
    svg.setAttribute("preserveAspectRatio", "none")
    svg.setAttribute("class", "barcode")
    svg.setAttribute("role", "img")
    svg.setAttribute("aria-label", text)
    for rect in svg.getElementsByTagName("rect"):
        # The writer colours each bar with a style attribute, which the Content-Security-Policy
        # refuses (docs/architecture.md, "Sign-in and security"); SVG's fill attribute is no style.
        declarations = dict(part.split(":", 1) for part in rect.getAttribute("style").split(";") if ":" in part)
        rect.removeAttribute("style")
        if "fill" in declarations:
            rect.setAttribute("fill", declarations["fill"].strip())
        for name in SIZE_ATTRIBUTES:
            if rect.getAttribute(name).endswith("mm"):
                rect.setAttribute(name, rect.getAttribute(name).removesuffix("mm"))
    for group in svg.getElementsByTagName("g"):
        # Two barcodes on one page must not share the writer's fixed element id.
        group.removeAttribute("id")
    return mark_safe(svg.toxml())  # noqa: S308 - built from the library's own XML; text is attribute-escaped
