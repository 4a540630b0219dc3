"""Console forms. They only read and shape input; the services decide what is allowed."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from core.forms import add_service_error
from inventory.models import Warehouse

from .models import Channel, OrderTag, PaymentMethod

SERVICE_LINE_KEY = re.compile(r"^lines\[(\d+)\]\.(\w+)$")


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("Kept in the order's history")}),
    )


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), strip=True, widget=forms.Textarea(attrs={"rows": 3}))


class PaymentForm(forms.Form):
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices)
    amount = forms.DecimalField(label=_("Amount"), min_value=Decimal("0.01"), max_digits=12, decimal_places=2)
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)
    instalment_number = forms.IntegerField(
        label=_("Instalment"),
        min_value=1,
        max_value=999,
        required=False,
        help_text=_("Instalments only: which one this is, such as 2 of 6."),
    )
    instalment_count = forms.IntegerField(label=_("Of instalments"), min_value=1, max_value=999, required=False)


class RefundRequestForm(forms.Form):
    """Money back for an order: from one payment, or spread over its payments newest first."""

    amount = forms.DecimalField(label=_("Amount"), min_value=Decimal("0.01"), max_digits=12, decimal_places=2)
    reason = forms.CharField(label=_("Reason"), max_length=255, strip=True)
    payment = forms.ChoiceField(label=_("From payment"), required=False)

    def __init__(self, *args, payments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payment"].choices = [("", _("Newest payments first"))] + [
            (
                str(payment.pk),
                f"{payment.get_method_display()} {payment.amount} · "
                f"{date_format(timezone.localtime(payment.created_at), 'SHORT_DATE_FORMAT')}"
                + (f" · {payment.reference}" if payment.reference else ""),
            )
            for payment in payments
        ]

    def refund_kwargs(self):
        data = self.cleaned_data
        return {"amount": data["amount"], "reason": data["reason"], "payment_id": data["payment"] or None}


class RefundSettleForm(forms.Form):
    """A refund recorded paid (with the payout's reference) or declined / failed (with why)."""

    PAID = "mark_paid"

    def __init__(self, *args, step, **kwargs):
        super().__init__(*args, **kwargs)
        if step == self.PAID:
            self.fields["reference"] = forms.CharField(label=_("Payout reference"), max_length=100, strip=True)
        else:
            self.fields["reason"] = forms.CharField(
                label=_("Why it is declined or failed"),
                max_length=255,
                strip=True,
                widget=forms.Textarea(attrs={"rows": 2}),
            )


class ReconciliationForm(forms.Form):
    """The period and channel the reconciliation covers: by default the last seven days, all channels."""

    DEFAULT_DAYS = 7
    MAX_DAYS = 366

    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    channel = forms.ModelChoiceField(
        label=_("Channel"), queryset=Channel.objects.all(), required=False, empty_label=_("All channels")
    )

    def __init__(self, data, **kwargs):
        if not data.get("start") and not data.get("end"):
            end = timezone.localdate()
            data = data.copy()
            data["start"] = (end - timedelta(days=self.DEFAULT_DAYS - 1)).isoformat()
            data["end"] = end.isoformat()
        super().__init__(data, **kwargs)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            raise ValidationError({"start": _("The period starts after it ends.")})
        if start and end and (end - start).days >= self.MAX_DAYS:
            raise ValidationError({"start": _("Choose at most %(days)s days.") % {"days": self.MAX_DAYS}})
        return cleaned


class AddressForm(forms.Form):
    recipient = forms.CharField(label=_("Recipient"), max_length=100)
    phone = forms.CharField(label=_("Phone"), max_length=30)
    province = forms.CharField(label=_("Province"), max_length=50)
    city = forms.CharField(label=_("City"), max_length=50)
    district = forms.CharField(label=_("District"), max_length=50, required=False)
    address = forms.CharField(label=_("Street address"), max_length=255)
    postcode = forms.CharField(label=_("Postcode"), max_length=12, required=False)

    def __init__(self, *args, show_phone=True, **kwargs):
        super().__init__(*args, **kwargs)
        if not show_phone:
            # Staff who may not see the full number cannot change it either.
            del self.fields["phone"]


class OrderForm(forms.Form):
    """A phone or counter order entered by staff."""

    channel = forms.ModelChoiceField(label=_("Channel"), queryset=Channel.objects.filter(active=True))
    channel_order_id = forms.CharField(widget=forms.HiddenInput, max_length=64)
    recipient = forms.CharField(label=_("Recipient"), max_length=100)
    phone = forms.CharField(label=_("Phone"), max_length=30)
    province = forms.CharField(label=_("Province"), max_length=50, required=False)
    city = forms.CharField(label=_("City"), max_length=50, required=False)
    district = forms.CharField(label=_("District"), max_length=50, required=False)
    address = forms.CharField(label=_("Street address"), max_length=255, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=12, required=False)
    payment_method = forms.ChoiceField(label=_("Payment method"), choices=PaymentMethod.choices)
    paid_amount = forms.DecimalField(
        label=_("Paid amount"),
        min_value=0,
        max_digits=12,
        decimal_places=2,
        initial=Decimal("0.00"),
        required=False,
    )
    shipping_fee = forms.DecimalField(
        label=_("Shipping fee"),
        min_value=0,
        max_digits=12,
        decimal_places=2,
        initial=Decimal("0.00"),
        required=False,
    )
    discount = forms.DecimalField(
        label=_("Discount"),
        min_value=0,
        max_digits=12,
        decimal_places=2,
        initial=Decimal("0.00"),
        required=False,
    )
    delivery_window_start = forms.DateTimeField(
        label=_("Deliver from"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    delivery_window_end = forms.DateTimeField(
        label=_("Deliver by"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    special_instructions = forms.CharField(
        label=_("Special instructions"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("Packaging, gift note, delivery hints")}),
    )

    address_fields = ("recipient", "phone", "province", "city", "district", "address", "postcode")
    payment_fields = ("payment_method", "paid_amount", "shipping_fee", "discount")
    delivery_fields = ("delivery_window_start", "delivery_window_end", "special_instructions")

    def __init__(self, *args, may_set_prices=True, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_set_prices:
            del self.fields["discount"]
            self.payment_fields = tuple(name for name in self.payment_fields if name != "discount")
        self.fields["channel_order_id"].initial = uuid.uuid4().hex[:20]
        phone_channel = next(
            (channel for channel in self.fields["channel"].queryset if channel.kind == Channel.Kind.PHONE), None
        )
        if phone_channel is not None:
            self.fields["channel"].initial = phone_channel.pk

    def fieldsets(self):
        return [
            (_("Customer and delivery address"), [self[name] for name in ("channel",) + self.address_fields]),
            (_("Payment"), [self[name] for name in self.payment_fields]),
            (_("Delivery"), [self[name] for name in self.delivery_fields]),
        ]


class LineForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), max_length=64, required=False)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, required=False)
    unit_price = forms.DecimalField(
        label=_("Unit price"),
        min_value=0,
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text=_("Leave empty for the list price."),
    )

    def __init__(self, *args, may_set_prices=True, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_set_prices:
            del self.fields["unit_price"]

    def is_filled(self):
        data = getattr(self, "cleaned_data", {})
        return bool(data.get("sku") or data.get("quantity") or data.get("unit_price") is not None)

    def clean(self):
        data = super().clean()
        if data.get("sku") and not data.get("quantity") and "quantity" not in self.errors:
            self.add_error("quantity", _("Enter a quantity."))
        if data.get("quantity") and not data.get("sku"):
            self.add_error("sku", _("Enter a SKU."))
        return data


class BaseLineFormSet(forms.BaseFormSet):
    def filled_forms(self):
        return [form for form in self.forms if form.is_filled()]

    def clean(self):
        if any(self.errors):
            return
        if not self.filled_forms():
            raise ValidationError(_("Add at least one line."))


LineFormSet = forms.formset_factory(LineForm, formset=BaseLineFormSet, extra=4, max_num=50, validate_max=True)


def add_service_error_with_lines(form, line_forms, error):
    """Show a service's refusal of a new order: a line's key (`lines[2].sku`, counting the filled
    lines from 1 in the order they were sent) next to that line's field, the rest as
    `add_service_error` shows them."""
    if not hasattr(error, "error_dict"):
        add_service_error(form, error)
        return
    rest = {}
    for key, messages in error.message_dict.items():
        line_key = SERVICE_LINE_KEY.match(key)
        if line_key:
            index, field_name = int(line_key.group(1)) - 1, line_key.group(2)
            if 0 <= index < len(line_forms) and field_name in line_forms[index].fields:
                line_forms[index].add_error(field_name, messages)
                continue
        rest[key] = messages
    add_service_error(form, ValidationError(rest))


def order_address_initial(order):
    return {name: getattr(order, name) for name in AddressForm.base_fields}


# The order list at volume: saved views, tags and bulk actions (orders/admin/order_desk.py) -----


class SaveViewForm(forms.Form):
    name = forms.CharField(label=_("Name of this view"), max_length=60, strip=True)
    query = forms.CharField(required=False, widget=forms.HiddenInput)


class AddTagForm(forms.Form):
    """Which tag to put on the chosen orders: one of the list, or, for those who may create tags, a
    new name."""

    tag = forms.ModelChoiceField(label=_("Tag"), queryset=None, required=False, empty_label=_("(a new tag)"))
    name = forms.CharField(label=_("New tag"), max_length=40, required=False, strip=True)

    def __init__(self, *args, may_create=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].queryset = OrderTag.objects.order_by("name")
        if not may_create:
            del self.fields["name"]
            self.fields["tag"].required = True
            self.fields["tag"].empty_label = None

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("tag") and not cleaned.get("name") and "name" in self.fields:
            raise ValidationError(_("Choose a tag, or type the name of a new one."))
        return cleaned


class RemoveTagForm(forms.Form):
    tag = forms.ModelChoiceField(label=_("Tag"), queryset=None, empty_label=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].queryset = OrderTag.objects.order_by("name")


class WarehouseChoiceForm(forms.Form):
    warehouse = forms.ModelChoiceField(label=_("Move to warehouse"), queryset=None, empty_label=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].queryset = Warehouse.objects.filter(active=True).order_by("priority", "code")


# Editing and splitting an order before picking (orders/admin/changes.py) ---------------------------


class OrderLineEditForm(forms.Form):
    """One line of the order as the person wants it: 0 removes it."""

    line_id = forms.IntegerField(widget=forms.HiddenInput)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=0, help_text=_("0 removes the line."))
    unit_price = forms.DecimalField(label=_("Unit price"), min_value=0, max_digits=12, decimal_places=2)

    def __init__(self, *args, may_set_prices=True, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_set_prices:
            del self.fields["unit_price"]


OrderLineEditFormSet = forms.formset_factory(OrderLineEditForm, extra=0)


class NewLineFormSetBase(BaseLineFormSet):
    def clean(self):
        """New lines are optional when editing."""


NewLineFormSet = forms.formset_factory(LineForm, formset=NewLineFormSetBase, extra=3, max_num=50, validate_max=True)


class OrderMoneyForm(forms.Form):
    seen = forms.CharField(widget=forms.HiddenInput, required=False)
    shipping_fee = forms.DecimalField(label=_("Shipping fee"), min_value=0, max_digits=12, decimal_places=2)
    discount = forms.DecimalField(label=_("Discount"), min_value=0, max_digits=12, decimal_places=2, required=False)

    def __init__(self, *args, may_set_prices=True, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_set_prices:
            self.fields["discount"].disabled = True


class SplitForm(forms.Form):
    """How many units of each line leave the order, and where they go."""

    LATER, NEW_ORDER = "later", "new_order"
    seen = forms.CharField(widget=forms.HiddenInput, required=False)
    mode = forms.ChoiceField(
        label=_("Split into"),
        widget=forms.RadioSelect,
        choices=[
            (LATER, _("A second parcel, sent later (the units stay on this order)")),
            (NEW_ORDER, _("A new linked order, with its own number")),
        ],
        initial=LATER,
    )

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        for line in self.lines:
            self.fields[f"units-{line.pk}"] = forms.IntegerField(
                label=f"{line.sku} · {line.name}", min_value=0, max_value=line.quantity, required=False, initial=0
            )

    def line_fields(self):
        return [(line, self[f"units-{line.pk}"]) for line in self.lines]

    def units(self):
        return {line.pk: self.cleaned_data.get(f"units-{line.pk}") or 0 for line in self.lines}
