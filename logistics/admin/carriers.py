"""Carriers and their services, each carrier's on-time rate from real deliveries, and the token its
webhook authenticates with."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.console import ConsolePageMixin, refusal_message
from orders.admin.display import REFUSALS

from .. import selectors, services
from ..forms import CarrierForm
from ..models import Carrier, CarrierService


class CarrierServiceInline(admin.TabularInline):
    model = CarrierService
    fields = (
        "code",
        "name",
        "kind",
        "supports_cod",
        "supports_fragile",
        "base_fee",
        "fee_per_kg",
        "transit_days",
        "active",
    )
    extra = 0
    # Shipments keep the service they travelled with: a service that is no longer offered is
    # switched off, never deleted.
    can_delete = False


@admin.register(Carrier)
class CarrierAdmin(ConsolePageMixin, admin.ModelAdmin):
    form = CarrierForm
    inlines = [CarrierServiceInline]
    list_display = ("code", "name", "service_names", "on_time", "webhook", "active")
    list_filter = ("active",)
    search_fields = ("code", "name")
    readonly_fields = ("on_time", "webhook")
    change_form_template = "admin/logistics/carrier/change_form.html"

    def get_queryset(self, request):
        return selectors.carriers_with_on_time_rate().prefetch_related("services")

    def get_fields(self, request, obj=None):
        fields = list(self.form._meta.fields)
        return fields + ["on_time", "webhook"] if obj else fields

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("services"))
    def service_names(self, carrier):
        return ", ".join(service.name for service in carrier.services.all() if service.active) or "—"

    @admin.display(description=_("on time"), ordering="on_time_count")
    def on_time(self, carrier):
        rate = selectors.on_time_rate(carrier)
        if rate is None:
            return gettext("no deliveries yet")
        return gettext("%(rate)s%% (%(on_time)d of %(delivered)d)") % {
            "rate": rate,
            "on_time": carrier.on_time_count,
            "delivered": carrier.delivered_count,
        }

    @admin.display(description=_("webhook token"))
    def webhook(self, carrier):
        if not carrier.webhook_token_prefix:
            return gettext("none")
        return gettext("%(prefix)s… (only its start is kept)") % {"prefix": carrier.webhook_token_prefix}

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:carrier_id>/webhook-token/", view(self.webhook_token_view), name="logistics_carrier_webhook_token"
            ),
        ] + super().get_urls()

    def webhook_token_view(self, request, carrier_id):
        """Asked first (GET), then issued (POST) and shown this once; the carrier's earlier token
        stops working at that moment."""
        carrier = get_object_or_404(Carrier, pk=carrier_id)
        if not self.has_change_permission(request, carrier):
            raise PermissionDenied
        change_url = reverse("admin:logistics_carrier_change", args=[carrier.pk])
        context = {
            **self.page_context(request, gettext("Webhook token for %(carrier)s") % {"carrier": carrier}),
            "carrier": carrier,
            "change_url": change_url,
        }
        if request.method == "POST":
            try:
                context["token"] = services.issue_webhook_token(carrier.pk, actor=request.user)
            except REFUSALS as error:
                messages.error(request, refusal_message(error))
                return redirect(change_url)
            context["replaced"] = bool(carrier.webhook_token_prefix)
        response = TemplateResponse(request, "admin/logistics/carrier/webhook_token.html", context)
        # The token is on this page only: no browser or proxy may keep a copy.
        add_never_cache_headers(response)
        return response
