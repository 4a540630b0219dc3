"""The console's return forms: one per step, with a row of fields for each line. They only read
what staff typed; the return services decide, and their refusals come back onto the fields here."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from inventory.models import Warehouse
from logistics.selectors import active_warehouses

from ..models import Outcome, ReturnLine, ReturnReason
from ..services import ReturnLineInput

NOTE_LENGTH = ReturnLine._meta.get_field("note").max_length


class ReturnLinesForm(forms.Form):
    """A form with some fields per return or order line, named `<field>_<line id>`."""

    def line_field(self, name, line_id):
        return self[f"{name}_{line_id}"]

    def value(self, name, line_id):
        return self.cleaned_data.get(f"{name}_{line_id}")


class OpenReturnForm(ReturnLinesForm):
    wanted_outcome = forms.ChoiceField(label=_("Customer wants"), choices=Outcome.choices)
    customer_note = forms.CharField(
        label=_("Customer's words"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the customer said about the goods, as they said it."),
    )

    def __init__(self, *args, returnable, ask_late_reason, **kwargs):
        """`returnable` are selectors.returnable_lines of the order; `ask_late_reason` when the
        window has passed and this user may still accept the return."""
        super().__init__(*args, **kwargs)
        self.rows = [row for row in returnable if row.returnable]
        for row in self.rows:
            line_id = row.line.pk
            self.fields[f"quantity_{line_id}"] = forms.IntegerField(
                label=_("Units to return"),
                min_value=0,
                max_value=row.returnable,
                initial=0,
                required=False,
            )
            self.fields[f"reason_{line_id}"] = forms.ChoiceField(
                label=_("Reason"),
                choices=[("", "—")] + ReturnReason.choices,
                required=False,
            )
            self.fields[f"note_{line_id}"] = forms.CharField(label=_("Detail"), max_length=NOTE_LENGTH, required=False)
        if ask_late_reason:
            self.fields["late_reason"] = forms.CharField(
                label=_("Accept after the window because"),
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
                help_text=_("The return window has passed; as a manager you may accept the return with a reason."),
            )

    def line_rows(self):
        return [
            {
                "row": row,
                "quantity": self.line_field("quantity", row.line.pk),
                "reason": self.line_field("reason", row.line.pk),
                "note": self.line_field("note", row.line.pk),
            }
            for row in self.rows
        ]

    def chosen_rows(self):
        return [row for row in self.rows if self.value("quantity", row.line.pk)]

    def line_inputs(self):
        return [
            ReturnLineInput(
                order_line_id=row.line.pk,
                quantity=self.value("quantity", row.line.pk),
                reason=self.value("reason", row.line.pk),
                note=self.value("note", row.line.pk),
            )
            for row in self.chosen_rows()
        ]

    def field_for(self):
        """The service numbers the lines it was given from 0; these are the lines chosen here."""
        names = {}
        for index, row in enumerate(self.chosen_rows()):
            for service_field, form_field in (
                ("quantity", "quantity"),
                ("reason", "reason"),
                ("note", "note"),
                ("order_line_id", "quantity"),
            ):
                names[f"lines[{index}].{service_field}"] = f"{form_field}_{row.line.pk}"
        return names


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Why it is rejected"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The customer is told this."),
    )


class ReceiveForm(ReturnLinesForm):
    warehouse = forms.ModelChoiceField(label=_("Arrived at"), queryset=Warehouse.objects.none())

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        self.fields["warehouse"].queryset = active_warehouses()
        for line in lines:
            self.fields[f"received_{line.pk}"] = forms.IntegerField(
                label=_("Received"),
                min_value=0,
                max_value=line.quantity,
                initial=line.quantity,
            )

    def line_rows(self):
        return [{"line": line, "received": self.line_field("received", line.pk)} for line in self.lines]

    def received(self):
        return {line.pk: self.value("received", line.pk) for line in self.lines}

    def field_for(self):
        return {f"lines[{index}].received_quantity": f"received_{line.pk}" for index, line in enumerate(self.lines)}


class InspectForm(ReturnLinesForm):
    """Lines with nothing received need no inspection and have no fields."""

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        self.inspected = [line for line in lines if line.received_quantity]
        for line in self.inspected:
            self.fields[f"resellable_{line.pk}"] = forms.IntegerField(
                label=_("Resellable"),
                min_value=0,
                max_value=line.received_quantity,
                initial=line.received_quantity,
            )
            self.fields[f"damaged_{line.pk}"] = forms.IntegerField(
                label=_("Damaged"),
                min_value=0,
                max_value=line.received_quantity,
                initial=0,
            )
            self.fields[f"note_{line.pk}"] = forms.CharField(
                label=_("Inspection note"), max_length=NOTE_LENGTH, required=False
            )

    def line_rows(self):
        return [
            {
                "line": line,
                "resellable": self.line_field("resellable", line.pk),
                "damaged": self.line_field("damaged", line.pk),
                "note": self.line_field("note", line.pk),
            }
            for line in self.inspected
        ]

    def results(self):
        return {
            line.pk: (self.value("resellable", line.pk), self.value("damaged", line.pk), self.value("note", line.pk))
            for line in self.inspected
        }

    def field_for(self):
        names = {}
        for index, line in enumerate(self.lines):
            for service_field, form_field in (
                ("resellable_quantity", "resellable"),
                ("damaged_quantity", "damaged"),
                ("inspection_note", "note"),
            ):
                names[f"lines[{index}].{service_field}"] = f"{form_field}_{line.pk}"
        return names


class ResolveForm(ReturnLinesForm):
    outcome = forms.ChoiceField(label=_("Resolve by"), choices=Outcome.choices)
    refund_amount = forms.DecimalField(
        label=_("Refund amount"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
    )
    include_shipping = forms.BooleanField(label=_("Refund the shipping fee too"), required=False)

    def __init__(self, *args, case, lines, value, **kwargs):
        """`value` is services.refund_value of the return: what the customer paid."""
        super().__init__(*args, initial={"outcome": case.wanted_outcome, **kwargs.pop("initial", {})}, **kwargs)
        self.lines = lines
        self.exchanged = [line for line in lines if line.received_quantity]
        self.fields["refund_amount"].help_text = _(
            "For a refund. Leave empty for the price of the units received: %(currency)s %(amount)s "
            "(plus %(shipping)s shipping when ticked)."
        ) % {"currency": case.order.currency, "amount": value.goods, "shipping": value.shipping}
        for line in self.exchanged:
            self.fields[f"exchange_sku_{line.pk}"] = forms.CharField(
                label=_("Send instead"),
                max_length=64,
                required=False,
                initial=line.order_line.sku,
                help_text=_("For an exchange: the SKU to send for %(sku)s, such as another size or colour.")
                % {"sku": line.order_line.sku},
            )

    def line_rows(self):
        return [{"line": line, "sku": self.line_field("exchange_sku", line.pk)} for line in self.exchanged]

    def exchange_skus(self):
        """Only the SKUs that differ from the returned ones."""
        chosen = {line.pk: (self.value("exchange_sku", line.pk) or "").strip() for line in self.exchanged}
        return {
            line.pk: chosen[line.pk]
            for line in self.exchanged
            if chosen[line.pk] and chosen[line.pk] != line.order_line.sku
        }

    def field_for(self):
        return {f"lines[{index}].exchange_sku": f"exchange_sku_{line.pk}" for index, line in enumerate(self.lines)}
