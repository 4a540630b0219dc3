from decimal import Decimal

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inventory.models import Warehouse

from .models import Carrier, CarrierService, ExceptionKind, Interception, TrackingEvent
from .selectors import services_to_choose_from


class CarrierForm(forms.ModelForm):
    class Meta:
        model = Carrier
        fields = (
            "code",
            "name",
            "tracking_url_template",
            "tracking_number_pattern",
            "active",
            "cod_fee_percent",
            "cod_fee_minimum",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A carrier without a cash-on-delivery contract leaves its fee empty: nothing may be kept.
        for name in ("cod_fee_percent", "cod_fee_minimum"):
            self.fields[name].required = False

    def clean_cod_fee_percent(self):
        return self.cleaned_data["cod_fee_percent"] or Decimal("0")

    def clean_cod_fee_minimum(self):
        return self.cleaned_data["cod_fee_minimum"] or Decimal("0")


class TrackingNumberForm(forms.Form):
    """A parcel's carrier and the tracking number on its label, entered before or at dispatch."""

    carrier = forms.ModelChoiceField(
        label=_("Carrier"),
        queryset=Carrier.objects.filter(active=True),
        error_messages={"required": _("Choose the carrier."), "invalid_choice": _("Choose an active carrier.")},
    )
    tracking_number = forms.CharField(
        label=_("Tracking number"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "oc-mono"}),
        help_text=_("Scan or type the number on the carrier's label."),
        error_messages={"required": _("Enter the tracking number.")},
    )


class TrackingEventForm(forms.Form):
    """What a carrier reported about a parcel some other way than its webhook (a call, an email)."""

    status = forms.ChoiceField(label=_("Status"), choices=TrackingEvent.Status.choices)
    exception_kind = forms.ChoiceField(
        label=_("Exception"),
        choices=[("", "—")] + ExceptionKind.choices,
        required=False,
        help_text=_("Only for an exception: what went wrong."),
    )
    occurred_at = forms.DateTimeField(
        label=_("Time"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("When it happened, in the shop's time."),
    )
    location = forms.CharField(label=_("Location"), max_length=120, required=False)
    description = forms.CharField(label=_("Description"), max_length=255, required=False)


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
        help_text=_("Excel (.xlsx) or CSV, with English or Chinese headers."),
        error_messages={"required": _("Choose the file to upload.")},
    )


class PickWaveForm(forms.Form):
    """The warehouse a pick list is for, chosen for orders selected on the order list."""

    warehouse = forms.ModelChoiceField(
        label=_("Warehouse"),
        queryset=Warehouse.objects.filter(active=True).order_by("priority", "code"),
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose the warehouse to pick in."),
            "invalid_choice": _("Choose an active warehouse."),
        },
    )
    leave_out = forms.BooleanField(
        label=_("Leave out the orders that cannot be picked there"),
        required=False,
        initial=True,
        help_text=_("Otherwise one such order stops the whole list."),
    )


class ServiceChoiceForm(forms.Form):
    """A coordinator's choice of carrier service for a parcel that has not left yet."""

    service = forms.ModelChoiceField(
        label=_("Carrier service"),
        queryset=CarrierService.objects.none(),
        error_messages={
            "required": _("Choose a carrier service."),
            "invalid_choice": _("Choose an active carrier service."),
        },
    )

    def __init__(self, *args, shipment=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services_to_choose_from()
        self.fields["service"].initial = shipment.service_id if shipment else None
        self.fields["service"].label_from_instance = self.describe

    @staticmethod
    def describe(service):
        facts = [
            gettext("%(days)s working days") % {"days": service.transit_days},
            gettext("%(base)s + %(per_kg)s/kg") % {"base": service.base_fee, "per_kg": service.fee_per_kg},
        ]
        if service.supports_cod:
            facts.append(gettext("collects cash"))
        if service.supports_fragile:
            facts.append(gettext("fragile"))
        return f"{service} ({', '.join(facts)})"


class TrackingLookupForm(forms.Form):
    """The public tracking page's question: which order, and the last four digits of its phone."""

    order = forms.CharField(
        label=_("Order number"),
        max_length=24,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
        error_messages={"required": _("Enter the order number.")},
    )
    phone_last_four = forms.RegexField(
        label=_("Last four digits of the phone number"),
        regex=r"^\s*[0-9０-９]{4}\s*$",
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": "4", "pattern": "[0-9]{4}"}
        ),
        error_messages={
            "required": _("Enter the last four digits of the phone number."),
            "invalid": _("Enter four digits."),
        },
    )

    def __init__(self, *args, whole_phone=False, **kwargs):
        super().__init__(*args, **kwargs)
        if whole_phone:
            # Asked once the order number has been guessed at too often; see
            # logistics.services.public_tracking.
            del self.fields["phone_last_four"]
            self.fields["phone_whole"] = forms.CharField(
                label=_("Whole phone number"),
                max_length=32,
                widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
                error_messages={"required": _("Enter the whole phone number the order was placed with.")},
            )


class InterceptionRequestForm(forms.Form):
    reason = forms.ChoiceField(label=_("Why"), choices=Interception.Reason.choices)
    note = forms.CharField(label=_("Note"), max_length=255, required=False)
    carrier_reference = forms.CharField(label=_("Carrier's reference"), max_length=100, required=False)


class InterceptionOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("The carrier's answer"),
        choices=[("intercepted", _("Intercepted: it is coming back")), ("failed", _("Failed: it will be delivered"))],
        widget=forms.RadioSelect,
    )
    fee = forms.CharField(label=_("Interception fee"), max_length=20, required=False)
    carrier_reference = forms.CharField(label=_("Carrier's reference"), max_length=100, required=False)
    note = forms.CharField(label=_("Note"), max_length=255, required=False)


class InterceptionDecisionForm(forms.Form):
    decision = forms.CharField(
        label=_("Decision"),
        max_length=255,
        help_text=_("A return opened, or the refund kept or withdrawn: what was agreed with the customer."),
    )


class ParcelBackScanForm(forms.Form):
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=64)


# Lost parcels (docs/architecture.md, "Lost parcels"): amounts are typed as text and read by the
# services, which name the field of a mistake.


class ClaimForm(forms.Form):
    amount = forms.CharField(
        label=_("Amount claimed"),
        max_length=20,
        help_text=_("The goods' value of the parcel unless you claim another amount."),
        error_messages={"required": _("Enter the amount to claim.")},
    )
    carrier_reference = forms.CharField(label=_("Carrier's claim number"), max_length=64, required=False)
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class AcceptClaimForm(forms.Form):
    settled_amount = forms.CharField(
        label=_("Amount settled"),
        max_length=20,
        help_text=_("What the carrier agreed to pay, at most the amount claimed."),
        error_messages={"required": _("Enter the amount the carrier settled.")},
    )
    carrier_reference = forms.CharField(label=_("Carrier's claim number"), max_length=64, required=False)
    note = forms.CharField(label=_("Carrier's answer"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class RejectClaimForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the carrier refused"),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why the carrier refused the claim.")},
    )


class ClaimDocumentForm(forms.Form):
    file = forms.FileField(
        label=_("Document"),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
        help_text=_("PDF, JPEG or PNG: the carrier's loss confirmation, the invoice, photos."),
        error_messages={"required": _("Choose the file to attach.")},
    )
