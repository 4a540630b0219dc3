"""The console's shared pieces in core: a service's refusal lands where staff can read it."""

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError

from core.console import refusal_message
from core.forms import add_service_error


class ParcelForm(forms.Form):
    weight_kg = forms.DecimalField()
    shipment = forms.IntegerField(widget=forms.HiddenInput)


def bound_form():
    form = ParcelForm({"weight_kg": "1.5", "shipment": "7"})
    assert form.is_valid()
    return form


def test_a_refusal_naming_a_shown_field_stands_next_to_it():
    form = bound_form()

    add_service_error(form, ValidationError({"weight_kg": "Too heavy for this service."}))

    assert form.errors == {"weight_kg": ["Too heavy for this service."]}


def test_a_refusal_naming_a_hidden_or_unknown_field_stands_above_the_form():
    form = bound_form()

    add_service_error(form, ValidationError({"shipment": "Already dispatched.", "carrier": "No carrier."}))

    assert form.non_field_errors() == ["Already dispatched.", "No carrier."]
    assert "shipment" not in form.errors


def test_a_service_name_is_shown_on_the_form_field_it_maps_to():
    form = bound_form()

    add_service_error(form, ValidationError({"weight": "Enter a weight."}), {"weight": "weight_kg"})

    assert form.errors == {"weight_kg": ["Enter a weight."]}


def test_a_refusal_that_is_not_a_validation_error_is_shown_as_its_text():
    form = bound_form()

    add_service_error(form, PermissionDenied("Your role may not pack orders."))

    assert form.non_field_errors() == ["Your role may not pack orders."]
    assert refusal_message(ValidationError(["Two", "reasons."])) == "Two reasons."
