"""Form pieces every app's console shares. Console forms only read what staff typed; the services
decide, and their refusals come back onto the form here."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import signin


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


class ConsoleAuthenticationForm(AdminAuthenticationForm):
    """The console's sign-in: username and password, and the code of the person's authenticator app
    once they have set one up (docs/architecture.md, "Sign-in and security"). A wrong code counts
    as a failed sign-in for django-axes like a wrong password."""

    otp_token = forms.CharField(
        label=_("Code from your authenticator app"),
        required=False,
        max_length=12,
        help_text=_("Only if you have set up two-step sign-in."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "otp_required": _("Enter the six-digit code your authenticator app shows for OrderCycle."),
        "otp_invalid": _("This code does not match. Type the six digits the app shows now."),
        "otp_throttled": _("Too many wrong codes just now: wait a few seconds, then type the code the app shows."),
    }

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        devices = signin.confirmed_devices(user) if user is not None else []
        if not devices:
            return cleaned
        token = "".join((cleaned.get("otp_token") or "").split())
        allowed = [d for d in devices if d.verify_is_allowed()[0]]
        device = next((d for d in allowed if token and d.verify_token(token)), None)
        if device is None:
            user_login_failed.send(
                sender=type(self), credentials={"username": user.get_username()}, request=self.request
            )
            code = "otp_required" if not token else "otp_invalid" if allowed else "otp_throttled"
            raise ValidationError(self.error_messages[code], code=code)
        # django-otp keeps the device in the session when the admin's login view signs the user in.
        user.otp_device = device
        return cleaned


class TwoFactorConfirmForm(forms.Form):
    token = forms.CharField(
        label=_("Code the app shows"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
        error_messages={"required": _("Type the six digits the app shows now.")},
    )
