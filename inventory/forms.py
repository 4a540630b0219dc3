"""The console's stock forms. They only read what staff typed; the inventory services decide."""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .models import Product, StockLevel, Warehouse


class AdjustForm(forms.Form):
    change = forms.IntegerField(
        label=pgettext_lazy("stock adjustment", "Change"),
        help_text=_("Units to add (for example 3) or to take off (for example -2)."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=255,
        help_text=_("Kept in the stock ledger, for example “2 broken in transport”."),
        error_messages={"required": _("Give a reason for the adjustment; it is kept in the stock ledger.")},
    )
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)


class ReceiveForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity received"), min_value=1)
    reference = forms.CharField(
        label=_("Reference"),
        max_length=100,
        required=False,
        help_text=_("Delivery note or purchase order number."),
    )
    reason = forms.CharField(label=_("Note"), max_length=255, required=False)


class ReceiveNewForm(ReceiveForm):
    """Receiving goods for a product the warehouse has not held before starts its stock level."""

    product = forms.ModelChoiceField(
        label=_("Product"),
        queryset=Product.objects.filter(active=True),
        widget=AutocompleteSelect(StockLevel._meta.get_field("product"), admin.site),
    )
    warehouse = forms.ModelChoiceField(label=_("Warehouse"), queryset=Warehouse.objects.filter(active=True))

    field_order = ["product", "warehouse", "quantity", "reference", "reason"]


class CountForm(forms.Form):
    counted = forms.IntegerField(
        label=_("Counted on the shelf"),
        min_value=0,
        help_text=_("The difference to the books is booked as a stock count."),
    )
    reference = forms.CharField(
        label=_("Reference"),
        max_length=100,
        required=False,
        help_text=_("Count sheet or cycle count number."),
    )
