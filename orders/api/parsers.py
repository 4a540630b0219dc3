"""The one JSON parser of every endpoint that takes a body (the channel API and the carriers'
webhook): DRF's, refusing documents nested deeper than any request needs, which would otherwise
exhaust the interpreter's stack while they are parsed or read (docs/architecture.md, "The channel
API")."""

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# An order is nested three levels deep ({"lines": [{"sku": ...}]}); this leaves room for any
# request of the API and stays far below the interpreter's recursion limit.
MAX_DEPTH = 16


def nested_deeper_than(value: object, limit: int) -> bool:
    """Whether arrays and objects are nested more than `limit` levels deep in a parsed document,
    found level by level rather than recursively, so a deep document cannot exhaust the stack here."""
    level, depth = [value], 0
    while level := [node for node in level if isinstance(node, (dict, list))]:
        depth += 1
        if depth > limit:
            return True
        level = [child for node in level for child in (node.values() if isinstance(node, dict) else node)]
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        too_deep = ParseError(_("JSON nested more than %(max)d levels deep is not accepted.") % {"max": MAX_DEPTH})
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            # The decoder itself gave up on a document nested hundreds of levels deep.
            raise too_deep from None
        if nested_deeper_than(data, MAX_DEPTH):
            raise too_deep
        return data
