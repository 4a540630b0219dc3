"""The personal-data access log in the console, for managers (docs/architecture.md, "Personal data"):
searchable by person, customer and time."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .console import ReadOnlyAdminMixin, short_datetime
from .models import PersonalDataAccess
from .privacy import ADDRESS, NAME, PHONE

FIELD_LABELS = {NAME: _("name"), PHONE: _("phone"), ADDRESS: _("address")}


class CustomerFilter(admin.SimpleListFilter):
    """One customer's lines, reached from the customer's page (`?customer=<id>`)."""

    title = _("customer")
    parameter_name = "customer_id"

    def lookups(self, request, model_admin):
        value = self.value()
        return [(value, f"#{value}")] if value and value.isdigit() else []

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(customer_id=int(value)) if value and value.isdigit() else queryset


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "time",
        "actor_display",
        "action",
        "customer_display",
        "order_number",
        "subject",
        "fields_display",
        "rows",
    )
    list_filter = ("action", ("actor", admin.RelatedOnlyFieldListFilter), CustomerFilter)
    list_select_related = ("actor",)
    date_hierarchy = "created_at"
    search_fields = ("=order_number", "actor__username", "subject")
    search_help_text = _("Exact order number, a staff member's user name, or words of the details.")
    show_full_result_count = False
    list_per_page = 100

    @admin.display(description=_("time"), ordering="created_at")
    def time(self, access):
        return short_datetime(access.created_at)

    @admin.display(description=_("who"), ordering="actor__username")
    def actor_display(self, access):
        return access.actor.get_username() if access.actor else _("the system")

    @admin.display(description=_("customer"), ordering="customer_id")
    def customer_display(self, access):
        return f"#{access.customer_id}" if access.customer_id else ""

    @admin.display(description=_("seen in full"))
    def fields_display(self, access):
        return ", ".join(str(FIELD_LABELS.get(kind, kind)) for kind in access.fields.split(",") if kind)
