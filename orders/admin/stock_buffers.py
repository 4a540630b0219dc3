"""Stock kept back from channels (docs/architecture.md, "Stock per channel"), kept by a manager in
the console: per channel and product, one by one or uploaded as a sheet. A channel's default
buffer is on the channel's page."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.spreadsheets.console import SpreadsheetImportMixin

from ..importers.stock_buffers import STOCK_BUFFER_IMPORT, stock_buffer_template
from ..models import ChannelStockBuffer
from ..services import stock_buffers


class ChannelStockBufferForm(forms.ModelForm):
    class Meta:
        model = ChannelStockBuffer
        fields = ("channel", "product", "units", "percent")

    def clean_product(self):
        product = self.cleaned_data.get("product")
        if product is not None and product.components.exists():
            raise ValidationError(_("A bundle holds no stock of its own: set the buffer on its components."))
        return product


@admin.register(ChannelStockBuffer)
class ChannelStockBufferAdmin(SpreadsheetImportMixin, admin.ModelAdmin):
    """What each channel may not take of a product: the API offers it, and intake lets it order,
    only the available stock beyond its buffer."""

    spreadsheet_import = STOCK_BUFFER_IMPORT
    import_template = staticmethod(stock_buffer_template)
    import_preview_columns = (_("Channel"), _("SKU"), _("Kept back"))
    import_intro = _(
        "One row per channel and product: the channel's code (as on its page), our SKU, and the units or "
        "the percentage of the available stock kept back from the channel. A row with both empty removes "
        "the product's own buffer, so the channel's default applies."
    )
    ACTIONS = {**SpreadsheetImportMixin.ACTIONS, "remove": _("Removed")}
    change_list_template = "admin/orders/channelstockbuffer/change_list.html"

    form = ChannelStockBufferForm
    list_display = ("channel", "product", "units", "percent", "updated_at", "updated_by")
    list_filter = ("channel",)
    search_fields = ("product__sku", "product__name")
    autocomplete_fields = ("product",)
    list_select_related = ("channel", "product", "updated_by")

    def get_readonly_fields(self, request, obj=None):
        # A buffer belongs to its channel and product; another pair is another buffer.
        return ("channel", "product") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        obj.pk = stock_buffers.set_stock_buffer(
            channel=obj.channel, sku=obj.product.sku, units=obj.units, percent=obj.percent, actor=request.user
        ).pk

    def delete_model(self, request, obj):
        stock_buffers.remove_stock_buffers([obj.pk], actor=request.user)

    def delete_queryset(self, request, queryset):
        stock_buffers.remove_stock_buffers(list(queryset.values_list("pk", flat=True)), actor=request.user)
