"""The console's stock forms. They only read what staff typed; the inventory services decide."""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .models import AbcClass, CountSession, Product, StockLevel, Warehouse


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


class TransferForm(forms.Form):
    """A draft transfer: two warehouses and the products, one per line as “SKU units”."""

    source = forms.ModelChoiceField(label=_("From warehouse"), queryset=Warehouse.objects.filter(active=True))
    destination = forms.ModelChoiceField(label=_("To warehouse"), queryset=Warehouse.objects.filter(active=True))
    lines = forms.CharField(
        label=_("Products"),
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "TEA-001 12\nCUP-002 4"}),
        help_text=_("One product per line: its SKU or barcode, a space, then the units to move."),
    )
    note = forms.CharField(label=_("Note"), max_length=255, required=False)

    def clean_lines(self):
        """(product id, units) pairs; each line that cannot be read is named with its number."""
        raw = [line.split() for line in self.cleaned_data["lines"].splitlines()]
        entries = [(number, parts) for number, parts in enumerate(raw, start=1) if parts]
        codes = {parts[0] for _number, parts in entries}
        products = {p.sku: p for p in Product.objects.filter(sku__in=codes)}
        products.update({p.barcode: p for p in Product.objects.filter(barcode__in=codes)})
        lines, errors = [], []
        for number, parts in entries:
            product = products.get(parts[0])
            if product is None:
                errors.append(
                    _("Line %(line)d: unknown SKU or barcode “%(code)s”.") % {"line": number, "code": parts[0]}
                )
                continue
            try:
                units = int(parts[1]) if len(parts) == 2 else None
            except ValueError:
                units = None
            if units is None or units <= 0:
                errors.append(
                    _("Line %(line)d: write the SKU, a space and the units, a whole number greater than zero.")
                    % {"line": number}
                )
                continue
            lines.append((product.pk, units))
        if errors:
            raise forms.ValidationError(errors)
        return lines


class ReceiveTransferForm(forms.Form):
    """The units that arrived per line (the units sent unless changed) and why a line differs."""

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[f"received_{line.product_id}"] = forms.IntegerField(
                label=_("%(sku)s received (sent %(sent)d)") % {"sku": line.product.sku, "sent": line.quantity},
                min_value=0,
                initial=line.quantity,
            )
            self.fields[f"reason_{line.product_id}"] = forms.CharField(
                label=_("Why %(sku)s differs") % {"sku": line.product.sku},
                max_length=255,
                required=False,
            )

    def received(self):
        return {line.product_id: self.cleaned_data[f"received_{line.product_id}"] for line in self.lines}

    def reasons(self):
        return {line.product_id: self.cleaned_data[f"reason_{line.product_id}"] for line in self.lines}


class OpenCountForm(forms.Form):
    warehouse = forms.ModelChoiceField(label=_("Warehouse"), queryset=Warehouse.objects.filter(active=True))
    scope = forms.ChoiceField(label=_("What is counted"), choices=CountSession.Scope.choices)
    zone = forms.CharField(
        label=_("Zone"), max_length=32, required=False, help_text=_("The start of the bin locations, for example A-01.")
    )
    bins = forms.CharField(
        label=_("Bins"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One bin location per line."),
    )
    abc_class = forms.ChoiceField(label=_("ABC class"), choices=[("", "—"), *AbcClass.choices], required=False)
    note = forms.CharField(label=_("Note"), max_length=255, required=False)

    def clean_bins(self):
        return [line.strip() for line in self.cleaned_data["bins"].splitlines() if line.strip()]


class ScanForm(forms.Form):
    """One scan at the count page: a barcode or SKU, at a bin if the counter names it, and the
    units (one per scan, or the number on a full case)."""

    code = forms.CharField(
        label=_("Barcode or SKU"),
        max_length=64,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )
    quantity = forms.IntegerField(label=_("Units"), initial=1)
    bin_location = forms.CharField(label=_("Bin"), max_length=32, required=False)
