"""The incident console's forms: what a manager typed, handed to incidents.services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from . import selectors
from .models import Incident, Level


class DeclareForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Incident.Kind.choices)
    title = forms.CharField(label=_("Title"), max_length=120)
    description = forms.CharField(
        label=_("What is happening"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


def _choice(queryset, label, **extra):
    return forms.ModelChoiceField(queryset=queryset, label=label, **extra)


class HoldChannelForm(forms.Form):
    channel = _choice(selectors.channels(), _("Channel"))


class WarehouseForm(forms.Form):
    warehouse = _choice(selectors.warehouses(), _("Warehouse"))


class MoveWorkForm(forms.Form):
    warehouse = _choice(selectors.warehouses(), _("Move the open work of"))
    to_warehouse = _choice(selectors.warehouses(), _("To"))


PROVINCES_HELP = _("Province names separated by commas, as on the orders; empty for every province.")


class SwitchCarrierForm(forms.Form):
    carrier = _choice(selectors.carriers(), _("Parcels of"))
    service = _choice(selectors.carrier_services(), _("Switch to"))
    provinces = forms.CharField(label=_("Only to provinces"), required=False, help_text=PROVINCES_HELP)


class MessageForm(forms.Form):
    SCOPES = [
        ("carrier", _("Customers with parcels of a carrier not yet delivered")),
        ("warehouse", _("Customers whose orders wait in a warehouse")),
        ("channel", _("Customers whose orders a channel's hold keeps back")),
    ]
    scope = forms.ChoiceField(label=_("Who is told"), choices=SCOPES)
    carrier = _choice(selectors.carriers(), _("Carrier"), required=False)
    provinces = forms.CharField(label=_("Only to provinces"), required=False, help_text=PROVINCES_HELP)
    warehouse = _choice(selectors.warehouses(), _("Warehouse"), required=False)
    channel = _choice(selectors.channels(), _("Channel"), required=False)
    message = forms.CharField(
        label=_("Message"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Put into the shop's disruption notice, sent in each customer's language by email and text."),
    )


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}))


class CloseForm(forms.Form):
    note = forms.CharField(label=_("How it ended"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class RiskForm(forms.Form):
    title = forms.CharField(label=_("Risk"), max_length=120)
    description = forms.CharField(
        label=_("What could happen"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    likelihood = forms.TypedChoiceField(label=_("Likelihood"), choices=Level.choices, coerce=int)
    impact = forms.TypedChoiceField(label=_("Impact"), choices=Level.choices, coerce=int)
    owner = _choice(selectors.staff_users(), _("Owner"))
    plan = forms.ChoiceField(label=_("Plan"), choices=Incident.Kind.choices)
    response = forms.CharField(
        label=_("How the plan answers it"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
