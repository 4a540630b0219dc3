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

    def get_page_size(self, request):
        """The page size asked for; one that is not a whole number from 1 to max_page_size is
        refused rather than silently replaced (DRF's own falls back to the default)."""
        asked = request.query_params.get(self.page_size_query_param)
        if asked is None:
            return self.page_size
        size = int(asked) if asked.isascii() and asked.isdigit() else 0
        if not 1 <= size <= self.max_page_size:
            raise invalid_request(
                [
                    {
                        "parameter": self.page_size_query_param,
                        "detail": _("Use a whole number from 1 to %(max)d.") % {"max": self.max_page_size},
                    }
                ]
            )
        return size

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
            if parameter["name"] == self.cursor_query_param:
                parameter["schema"]["minLength"] = 1
        return parameters

    def paginate_queryset(self, queryset, request, view=None):
        self.position_field = queryset.model._meta.get_field(self.ordering[0].lstrip("-"))
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        """A cursor the API did not give out is the client's mistake (400), not a missing page, and
        its position must be a value the ordering column can hold before it reaches the query."""
        refused = invalid_request(
            [{"parameter": self.cursor_query_param, "detail": _("Use a cursor from a “next” or “previous” link.")}]
        )
        if request.query_params.get(self.cursor_query_param) == "":
            raise refused
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
