"""Form pieces every app's console shares. Console forms only read what staff typed; the services
decide, and their refusals come back onto the form here."""

from django import forms
from django.core.exceptions import ValidationError


def shows_field(form, name):
    """Whether the form has a field called `name` that staff can see (and so can see its error)."""
    return name in form.fields and not isinstance(form.fields[name].widget, forms.HiddenInput)


def add_service_error(form, error, field_for=None):
    """Show a service's refusal on the form: each message next to the field it names when the form
    shows that field, otherwise above the form. `field_for` maps the names a service uses to the
    form's fields where they differ."""
    if not isinstance(error, ValidationError):
        form.add_error(None, str(error))
        return
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, messages in error.message_dict.items():
        field = (field_for or {}).get(key, key)
        form.add_error(field if shows_field(form, field) else None, messages)
