"""Tracking-number pools (docs/architecture.md, "Printing in batches"): per carrier service, the
numbers its carrier handed the merchant in advance, with how many are left, given and burnt, and
the import that fills them. Numbers change only through the import and printing; on the pool list
those who import numbers set from how few left a pool is shown as running low."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.console import ReadOnlyAdminMixin, short_datetime
from core.permissions import Logistics
from core.spreadsheets.console import SpreadsheetImportMixin

from .. import selectors, services
from ..models import PooledTrackingNumber, TrackingNumberPool
from ..tracking_pool_sheet import POOL_IMPORT, pool_template


@admin.register(TrackingNumberPool)
class TrackingNumberPoolAdmin(ReadOnlyAdminMixin, SpreadsheetImportMixin, admin.ModelAdmin):
    spreadsheet_import = POOL_IMPORT
    import_template = staticmethod(pool_template)
    import_preview_columns = (_("Carrier"), _("Service"), _("Numbers"), _("How many numbers"))
    import_intro = _(
        "One row per tracking number, or per range the carrier gave you: the carrier's and the service's codes, "
        "then the number, or the range's start and end (digits, as many in both) with the letters before them "
        "as the prefix. Every number must fit the carrier's tracking-number pattern and be new to its pools and "
        "parcels; a file with any problem imports nothing."
    )
    change_list_template = "admin/logistics/trackingnumberpool/change_list.html"
    list_display = ("service", "remaining_count", "given_count", "burnt_count", "low_below", "numbers_link")
    list_display_links = None
    # The one thing edited here: from how few numbers on a pool is shown as running low.
    list_editable = ("low_below",)
    list_filter = ("service__carrier",)

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm(Logistics.IMPORT_TRACKING_NUMBERS)

    def save_model(self, request, obj, form, change):
        services.set_pool_warning(obj.pk, low_below=obj.low_below, actor=request.user)

    def get_queryset(self, request):
        return selectors.tracking_pools()

    @admin.display(description=_("numbers left"), ordering="remaining")
    def remaining_count(self, pool):
        if pool.remaining < pool.low_below:
            return format_html(
                '<strong class="oc-warning" data-pool-low>{}</strong>',
                gettext("%(count)s — running low") % {"count": pool.remaining},
            )
        return pool.remaining

    @admin.display(description=_("given to parcels"), ordering="given")
    def given_count(self, pool):
        return pool.given

    @admin.display(description=_("burnt"), ordering="burnt")
    def burnt_count(self, pool):
        return pool.burnt

    @admin.display(description=_("numbers"))
    def numbers_link(self, pool):
        return format_html(
            '<a href="{}?pool__id__exact={}">{}</a>',
            reverse("admin:logistics_pooledtrackingnumber_changelist"),
            pool.pk,
            gettext("Numbers"),
        )


@admin.register(PooledTrackingNumber)
class PooledTrackingNumberAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("number", "pool", "state", "shipment_link", "given", "burnt_because")
    list_filter = ("pool",)
    search_fields = ("number",)
    search_help_text = _("Exact tracking number.")
    list_select_related = ("pool__service__carrier",)
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().upper()
        return (queryset.filter(number=term), False) if term else (queryset, False)

    @admin.display(description=_("state"))
    def state(self, number):
        if number.burnt_at:
            return gettext("Burnt")
        return gettext("Given") if number.shipment_id else gettext("Free")

    @admin.display(description=_("shipment"))
    def shipment_link(self, number):
        if not number.shipment_id:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:logistics_shipment_change", args=[number.shipment_id]),
            number.shipment_id,
        )

    @admin.display(description=_("given to a parcel at"), ordering="allocated_at")
    def given(self, number):
        return short_datetime(number.allocated_at) if number.allocated_at else "—"
