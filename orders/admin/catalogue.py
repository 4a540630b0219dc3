"""What intake adds to an order's lines, kept by a manager in the console: gift rules (赠品) and the
channels' own SKU codes (docs/architecture.md, "Bundles, gifts and channel SKUs"). Bundles are
kept on the product page (inventory.admin)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.spreadsheets.console import SpreadsheetImportMixin
from inventory.selectors import products_by_sku

from ..importers.channel_skus import CHANNEL_SKU_IMPORT, channel_sku_template
from ..models import ChannelSku, GiftRule
from ..services.intake import CURRENCIES


class GiftRuleForm(forms.ModelForm):
    class Meta:
        model = GiftRule
        fields = (
            "name",
            "active",
            "channel",
            "starts_at",
            "ends_at",
            "min_total",
            "currency",
            "skus",
            "gift",
            "quantity",
            "max_given",
        )

    def clean_currency(self):
        currency = (self.cleaned_data.get("currency") or "").strip().upper()
        if currency not in CURRENCIES:
            raise ValidationError(_("Enter an ISO 4217 currency code such as CNY, USD or EUR."))
        return currency

    def clean_skus(self):
        skus = (self.cleaned_data.get("skus") or "").replace(",", " ").split()
        unknown = sorted(set(skus) - set(products_by_sku(skus)))
        if unknown:
            raise ValidationError(_("Unknown SKU: %(skus)s.") % {"skus": ", ".join(unknown)})
        return ", ".join(dict.fromkeys(skus))

    def clean_quantity(self):
        quantity = self.cleaned_data.get("quantity")
        if quantity is None or quantity < 1:
            raise ValidationError(_("Enter a quantity of at least 1."))
        return quantity

    def clean(self):
        data = super().clean()
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", _("The rule must end after it starts."))
        gift = data.get("gift")
        if gift is not None and gift.components.exists():
            self.add_error("gift", _("A gift is a product of its own, not a bundle."))
        return data


@admin.register(GiftRule)
class GiftRuleAdmin(admin.ModelAdmin):
    """Gifts added at intake to the orders that meet a rule. A rule with orders that received its
    gift is switched off rather than deleted; the orders keep their gift lines."""

    form = GiftRuleForm
    list_display = (
        "name",
        "active",
        "channel",
        "starts_at",
        "ends_at",
        "min_total",
        "currency",
        "skus",
        "gift",
        "quantity",
        "max_given",
        "given",
    )
    list_filter = ("active", "channel")
    search_fields = ("name", "skus", "gift__sku")
    autocomplete_fields = ("gift",)
    readonly_fields = ("given",)
    fieldsets = (
        (None, {"fields": ("name", "active")}),
        (
            _("Conditions (all that are filled in must hold)"),
            {"fields": ("channel", "starts_at", "ends_at", "min_total", "currency", "skus")},
        ),
        (_("Gift"), {"fields": ("gift", "quantity", "max_given", "given")}),
    )


class ChannelSkuForm(forms.ModelForm):
    class Meta:
        model = ChannelSku
        fields = ("channel", "code", "product", "quantity")

    def clean_code(self):
        return (self.cleaned_data.get("code") or "").strip()

    def clean_quantity(self):
        quantity = self.cleaned_data.get("quantity")
        if quantity is None or quantity < 1:
            raise ValidationError(_("Enter a quantity of at least 1."))
        return quantity


@admin.register(ChannelSku)
class ChannelSkuAdmin(SpreadsheetImportMixin, admin.ModelAdmin):
    """A channel's codes for our products: intake reads a line's SKU as the channel's code first,
    then as ours. Kept one by one, or uploaded as a sheet of channel, code, SKU and units."""

    spreadsheet_import = CHANNEL_SKU_IMPORT
    import_template = staticmethod(channel_sku_template)
    import_preview_columns = (_("Channel"), _("Channel's code"), _("SKU"))
    import_intro = _(
        "One row per code: the channel's code (as on its page), the channel's own code for the item, our "
        "SKU, and our units per item (empty for 1). A known code of the channel is updated."
    )
    change_list_template = "admin/orders/channelsku/change_list.html"

    form = ChannelSkuForm
    list_display = ("channel", "code", "product", "quantity")
    list_filter = ("channel",)
    search_fields = ("code", "product__sku", "product__name")
    autocomplete_fields = ("product",)
    list_select_related = ("channel", "product")
