from datetime import UTC

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField

from ..models import Order
from .problems import invalid_request


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, handed to the database in UTC: ISO 8601 allows offsets up to ±23:59,
    PostgreSQL only up to ±15:59."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class OrderFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(
        choices=Order.Status.choices,
        help_text=gettext_lazy("One or more statuses: ?status=shipped&status=delivered."),
    )
    channel_order_id = filters.CharFilter(max_length=64)
    updated_since = UtcDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text=gettext_lazy("Only orders changed at or after this time (ISO 8601), to sync what changed."),
    )

    class Meta:
        model = Order
        fields = ("status", "channel_order_id", "updated_since")


class FilterBackend(filters.DjangoFilterBackend):
    """django-filter's backend, with a bad filter value reported as the query parameter it is."""

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        # django-filter takes an empty value as no filter at all; a client that sent one meant
        # something, so it is told rather than given everything.
        errors = {} if filterset.is_valid() else dict(filterset.errors)
        for name, declared in filterset.filters.items():
            given = request.query_params.getlist(name)
            if isinstance(declared, filters.BaseCSVFilter):
                given = [value for listed in given for value in listed.split(",")]
            if "" in given:
                errors[name] = [_("Give a value, or leave the parameter out.")]
        if errors:
            raise invalid_request(
                [{"parameter": name, "detail": message} for name, messages in errors.items() for message in messages]
            )
        return filterset.qs
