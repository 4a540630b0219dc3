"""Forms for complaints and feedback: the console's ticket forms, whose data the ticket services
check, and the customer's rating form on the public feedback page."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import Ticket
from ..selectors import returns as return_selectors
from ..selectors import tickets as selectors
from ..services.feedback import COMMENT_MAX_LENGTH

TEXT = {"rows": 4}


def severity_help():
    hours = settings.TICKET_RESPONSE_HOURS
    return gettext(
        "The first answer is due within %(urgent)s h (urgent), %(high)s h (high) or %(normal)s h (normal)."
    ) % {"urgent": hours["urgent"], "high": hours["high"], "normal": hours["normal"]}


class HandlerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return user.get_full_name() or user.username


def handler_field(required):
    return HandlerChoiceField(
        label=_("Assigned to"),
        queryset=selectors.ticket_handlers(),
        required=required,
        empty_label=_("Nobody yet") if not required else "---------",
        error_messages={
            "required": _("Choose who works on it."),
            "invalid_choice": _("Choose someone who works on complaint tickets."),
        },
    )


class TicketForm(forms.Form):
    """A new complaint. Opened from an order's page, the order is fixed and its shipments and
    returns are offered; opened on its own, the order, parcel and return are typed in by number."""

    subject = forms.CharField(
        label=_("Subject"),
        max_length=200,
        error_messages={"required": _("Say in a few words what the complaint is about.")},
    )
    category = forms.ChoiceField(label=_("Category"), choices=Ticket.Category.choices)
    severity = forms.ChoiceField(label=_("Severity"), choices=Ticket.Severity.choices, initial=Ticket.Severity.NORMAL)
    description = forms.CharField(label=_("What the customer says"), widget=forms.Textarea(attrs=TEXT), required=False)

    def __init__(self, *args, order=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        self.fields["severity"].help_text = severity_help()
        if order is not None:
            self.fields["shipment"] = forms.TypedChoiceField(
                label=_("Parcel"),
                required=False,
                coerce=int,
                empty_value=None,
                choices=[("", "—")] + [(s.pk, self.shipment_label(s)) for s in selectors.shipments_of_order(order.pk)],
            )
            # Oldest first, as the shipments above.
            returns = return_selectors.returns_of_order(order.pk).order_by("pk")
            self.fields["return_request"] = forms.TypedChoiceField(
                label=_("Return request"),
                required=False,
                coerce=int,
                empty_value=None,
                choices=[("", "—")] + [(r.pk, r.number) for r in returns],
            )
        else:
            self.fields["order"] = forms.CharField(label=_("Order number"), max_length=24, required=False)
            self.fields["shipment"] = forms.CharField(
                label=_("Tracking number"),
                max_length=64,
                required=False,
                help_text=_("When the complaint is about one parcel."),
            )
            self.fields["return_request"] = forms.CharField(label=_("Return number"), max_length=24, required=False)
        self.fields["assigned_to"] = handler_field(required=False)
        self.order_fields(["order", "shipment", "return_request", "subject", "category", "severity", "description"])

    @staticmethod
    def shipment_label(shipment):
        parts = [str(shipment.carrier or ""), shipment.tracking_number, shipment.get_status_display()]
        return " · ".join(part for part in parts if part) or str(shipment.pk)

    def _looked_up(self, field, find, message):
        text = self.cleaned_data.get(field) or ""
        if not text.strip():
            return None
        found = find(text)
        if found is None:
            raise forms.ValidationError(message % {"value": text.strip()})
        return found

    def clean_order(self):
        return self._looked_up("order", selectors.order_id_for_number, gettext("There is no order %(value)s."))

    def clean_shipment(self):
        if self.order is not None:
            return self.cleaned_data["shipment"]
        return self._looked_up(
            "shipment",
            selectors.shipment_id_for_tracking_number,
            gettext("No parcel has the tracking number %(value)s."),
        )

    def clean_return_request(self):
        if self.order is not None:
            return self.cleaned_data["return_request"]
        return self._looked_up(
            "return_request", selectors.return_id_for_number, gettext("There is no return %(value)s.")
        )

    def service_arguments(self):
        data = self.cleaned_data
        assignee = data.get("assigned_to")
        return {
            "subject": data["subject"],
            "category": data["category"],
            "severity": data["severity"],
            "description": data["description"],
            "order_id": self.order.pk if self.order is not None else data.get("order"),
            "shipment_id": data.get("shipment"),
            "return_id": data.get("return_request"),
            "assigned_to_id": assignee.pk if assignee else None,
        }


class NoteForm(forms.Form):
    # The note and the reply share the ticket page: prefixes keep their fields' ids apart.
    prefix = "note"
    text = forms.CharField(
        label=_("Internal note"),
        widget=forms.Textarea(attrs=TEXT),
        error_messages={"required": _("Write something first.")},
    )
    answered_customer = forms.BooleanField(
        label=_("This answers the customer"),
        required=False,
        help_text=_(
            "Tick it when you answered the customer another way, such as by phone: the ticket then "
            "counts as answered, as after a reply by email."
        ),
    )


class ReplyForm(forms.Form):
    prefix = "reply"
    text = forms.CharField(
        label=_("Reply to the customer"),
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": _("Write something first.")},
    )


class AssignForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"] = handler_field(required=True)


class SeverityForm(forms.Form):
    severity = forms.ChoiceField(label=_("Severity"), choices=Ticket.Severity.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["severity"].help_text = severity_help()


class ResolveForm(forms.Form):
    """Both are asked for by the service, which says which one is missing."""

    root_cause = forms.CharField(label=_("Root cause"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    corrective_action = forms.CharField(
        label=_("Corrective action"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("Why it is taken up again"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


RATING_WORDS = {
    5: _("Very good"),
    4: _("Good"),
    3: _("Okay"),
    2: _("Poor"),
    1: _("Very poor"),
}


class FeedbackForm(forms.Form):
    """The customer's rating on the public feedback page."""

    rating = forms.TypedChoiceField(
        label=_("Your rating"),
        coerce=int,
        widget=forms.RadioSelect,
        choices=list(RATING_WORDS.items()),
        error_messages={"required": _("Choose from 1 to 5 stars."), "invalid_choice": _("Choose from 1 to 5 stars.")},
    )
    comment = forms.CharField(
        label=_("Anything you would like to tell us?"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
