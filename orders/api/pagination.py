from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

from .problems import invalid_request


class ChannelCursorPagination(CursorPagination):
    """Pages that cost the same however deep a channel reads: `next` and `previous` links carry a
    cursor instead of a page number, and nothing counts the whole result."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        self.position_field = queryset.model._meta.get_field(self.ordering[0].lstrip("-"))
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        """A cursor the API did not give out is the client's mistake (400), not a missing page, and
        its position must be a value the ordering column can hold before it reaches the query."""
        refused = invalid_request(
            [{"parameter": self.cursor_query_param, "detail": _("Use a cursor from a “next” or “previous” link.")}]
        )
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise refused from None
        if cursor is not None and cursor.position is not None:
            try:
                if "\x00" in cursor.position:
                    raise ValidationError("NUL")
                self.position_field.to_python(cursor.position)
            except ValidationError:
                raise refused from None
        return cursor


class OrderPagination(ChannelCursorPagination):
    ordering = ("-placed_at", "-id")


class ProductPagination(ChannelCursorPagination):
    ordering = ("sku",)
