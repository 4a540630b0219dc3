"""Signing in to the console: two-step sign-in with an authenticator app (django-otp, TOTP), the
rule that makes it mandatory for some staff, and lifting django-axes lockouts
(docs/architecture.md, "Sign-in and security")."""

from __future__ import annotations

import base64

import qrcode
import qrcode.image.svg
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from .actors import Actor
from .permissions import Security, require

DEVICE_NAME = "Authenticator app"


def requires_two_factor(user: AbstractBaseUser) -> bool:
    """Whether this person must sign in with a code: when OTP_REQUIRED is on, superusers and members
    of the roles in OTP_REQUIRED_FOR_ROLES."""
    if not settings.OTP_REQUIRED or not user.is_authenticated:
        return False
    return user.is_superuser or user.groups.filter(name__in=settings.OTP_REQUIRED_FOR_ROLES).exists()


def confirmed_devices(user: AbstractBaseUser) -> list[TOTPDevice]:
    """The person's authenticator apps that sign-in accepts codes from."""
    return list(TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk"))


@transaction.atomic
def pending_device(user: AbstractBaseUser) -> TOTPDevice:
    """The authenticator app being set up: its key stays the same until a code confirms it, so the
    QR code a person scanned keeps working when the page is opened again."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


@transaction.atomic
def confirm_device(user: AbstractBaseUser, token: str) -> TOTPDevice:
    """Turn the pending authenticator app on once the person types a code it shows; the codes of
    any app set up before stop working."""
    device = pending_device(user)
    if not device.verify_token((token or "").strip()):
        raise ValidationError(
            {"token": _("This code does not match. Type the six digits the app shows now.")}, code="otp"
        )
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return device


@transaction.atomic
def turn_off_two_factor(user: AbstractBaseUser) -> None:
    """A person removes their own authenticator app; refused while their role requires one."""
    if requires_two_factor(user):
        raise ValidationError(_("Your role must sign in with a code, so two-step sign-in stays on."))
    TOTPDevice.objects.filter(user=user).delete()


def secret_of(device: TOTPDevice) -> str:
    """The key as authenticator apps take it when typed in (base32, in groups of four)."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_code_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// address as an SVG QR code drawn here (no outside service sees the
    key); markup to put into the page as it is."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


@transaction.atomic
def unlock_sign_in(attempt_ids: list[int], *, actor: Actor) -> int:
    """A manager lifts lockouts: the chosen failed-attempt records are forgotten, so the username
    or address may sign in again at once. Returns how many records were removed."""
    require(actor, Security.DELETE_ACCESSATTEMPT, _("Your role may not lift sign-in lockouts."))
    removed, _per_model = AccessAttempt.objects.filter(pk__in=attempt_ids).delete()
    return removed


class TwoFactorRequiredMiddleware:
    """With OTP_REQUIRED on, staff who must use two-step sign-in reach the console only after a code:
    without an authenticator app they are sent to set one up; with one but a session signed in
    without a code (from before the app, or before the setting), they sign in again."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and request.path.startswith(reverse("admin:index"))
            and request.path != reverse("admin:logout")
            and not user.is_verified()
            and requires_two_factor(user)
        ):
            # With an app already set up, even the set-up page needs a session signed in with a
            # code: otherwise a stolen password could replace the app.
            if confirmed_devices(user):
                logout(request)
                return HttpResponseRedirect(f"{reverse('admin:login')}?{urlencode({'next': request.get_full_path()})}")
            if request.path not in {reverse("two-factor"), reverse("admin:jsi18n")}:
                return HttpResponseRedirect(reverse("two-factor"))
        return self.get_response(request)
