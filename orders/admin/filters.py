"""Order list filters. Each one narrows by an indexed column or an indexed subquery."""

from datetime import datetime, time, timedelta

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import selectors
from ..models import Order


class PlacedFilter(admin.SimpleListFilter):
    title = _("date placed")
    parameter_name = "placed"

    def lookups(self, request, model_admin):
        return [
            ("today", _("Today")),
            ("7d", _("Last 7 days")),
            ("30d", _("Last 30 days")),
            ("month", _("This month")),
        ]

    def start(self):
        today = timezone.localdate()
        first_day = {
            "today": today,
            "7d": today - timedelta(days=6),
            "30d": today - timedelta(days=29),
            "month": today.replace(day=1),
        }.get(self.value())
        if first_day is None:
            return None
        return timezone.make_aware(datetime.combine(first_day, time.min))

    def queryset(self, request, queryset):
        start = self.start()
        if start is None:
            return queryset
        return queryset.filter(placed_at__gte=start)


class WarehouseFilter(admin.SimpleListFilter):
    """Orders with stock allocated in the warehouse, whatever the state of that allocation."""

    title = _("warehouse")
    parameter_name = "warehouse"

    def lookups(self, request, model_admin):
        return [(str(warehouse.pk), str(warehouse)) for warehouse in selectors.warehouses()]

    def queryset(self, request, queryset):
        value = self.value()
        if not value or not value.isdigit():
            return queryset
        return selectors.with_allocation_in(queryset, int(value))


class HeldFilter(admin.SimpleListFilter):
    title = _("review hold")
    parameter_name = "held"

    def lookups(self, request, model_admin):
        return [("yes", _("Held for review")), ("no", _("Not held"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status=Order.Status.ON_HOLD)
        if self.value() == "no":
            return queryset.exclude(status=Order.Status.ON_HOLD)
        return queryset
