from django import forms
from django.utils.translation import gettext_lazy as _

from inventory.models import Warehouse

from .models import Carrier

class CarrierForm(forms.ModelForm):
    class Meta:
        model = Carrier
        fields = ("code", "name", "tracking_url_template", "active")


class DispatchForm(forms.Form):
    """Hand the goods one warehouse holds for an order to a carrier."""

    warehouse = forms.ModelChoiceField(label=_("From warehouse"), queryset=Warehouse.objects.none())
    carrier = forms.ModelChoiceField(label=_("Carrier"), queryset=Carrier.objects.filter(active=True))
    tracking_number = forms.CharField(
        label=_("Tracking number"), max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
        help_text=_("Scan or type the number on the carrier's label."),
    )

    def __init__(self, *args, warehouses, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].queryset = warehouses
        if len(warehouses) == 1:
            self.fields["warehouse"].initial = warehouses[0].pk
        # With a single active carrier there is nothing to choose: only the label is left to scan.
        carriers = list(self.fields["carrier"].queryset[:2])
        if len(carriers) == 1:
            self.fields["carrier"].initial = carriers[0].pk
