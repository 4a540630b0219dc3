"""Signing in to the console (docs/architecture.md, "Sign-in and security"): repeated failures lock
out a username and an address (django-axes), managers see and lift lockouts, and two-step sign-in
with an authenticator app (django-otp, TOTP) is offered to everyone and, with OTP_REQUIRED, demanded
of managers, finance and superusers."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from core import signin
from tests.factories import staff

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"


def sign_in(client, username, password="pw", address="203.0.113.5", code=None):
    data = {"username": username, "password": password, "next": "/admin/"}
    if code is not None:
        data["otp_token"] = code
    return client.post(LOGIN, data, REMOTE_ADDR=address)


def signed_in(client):
    return client.get("/admin/", REMOTE_ADDR="203.0.113.5").status_code == 200


def code_of(device, steps_ahead=0):
    """The code the person's app shows now (or that many 30-second steps later)."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=steps_ahead):06d}"


def device_for(user):
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


@pytest.fixture
def otp_required(settings):
    settings.OTP_REQUIRED = True


def test_twenty_wrong_passwords_then_the_right_one_does_not_sign_in(client):
    user = staff("Customer service", username="carol")

    for _attempt in range(20):
        sign_in(client, "carol", password="wrong")
    response = sign_in(client, "carol")

    assert response.status_code == 429
    assert "Sign-in is locked" in response.content.decode()
    assert not signed_in(client)
    assert user.username in AccessAttempt.objects.values_list("username", flat=True)


def test_a_username_is_locked_out_whatever_address_the_guesses_come_from(client):
    staff("Customer service", username="carol")

    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "carol", password="wrong", address=f"198.51.100.{attempt}")

    assert sign_in(client, "carol", address="192.0.2.77").status_code == 429


def test_an_address_guessing_many_usernames_is_locked_out_while_others_still_sign_in(client):
    staff("Customer service", username="carol")

    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"guess{attempt}", password="wrong", address="198.51.100.9")

    assert sign_in(client, "carol", address="198.51.100.9").status_code == 429
    assert sign_in(client, "carol", address="192.0.2.10").status_code == 302
    assert signed_in(client)


def test_fewer_failures_than_the_limit_still_let_the_right_password_in(client):
    staff("Customer service", username="carol")

    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "carol", password="wrong")

    assert sign_in(client, "carol").status_code == 302


def test_a_manager_sees_lockouts_and_lifts_one_so_the_person_signs_in_again(client):
    staff("Customer service", username="carol")
    manager = staff("Manager", username="mona")
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "carol", password="wrong")
    client.force_login(manager)

    listed = client.get("/admin/axes/accessattempt/?locked_out=yes")
    attempt = AccessAttempt.objects.get(username="carol")
    lifted = client.post(
        "/admin/axes/accessattempt/",
        {"action": "unlock", "_selected_action": [attempt.pk]},
        follow=True,
    )
    client.logout()

    assert listed.status_code == 200 and "carol" in listed.content.decode()
    assert "Lifted 1 lockout" in lifted.content.decode()
    assert sign_in(client, "carol").status_code == 302


def test_staff_without_the_managers_role_cannot_see_or_lift_lockouts(client):
    client.force_login(staff("Warehouse operator"))

    assert client.get("/admin/axes/accessattempt/").status_code == 403
    with pytest.raises(Exception, match="may not lift"):
        signin.unlock_sign_in([], actor=staff("Finance"))


def test_someone_with_an_authenticator_app_needs_its_code_to_sign_in(client, settings):
    # django-otp waits a second after a wrong code before it checks another; not in this test.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user = staff("Customer service", username="carol")
    device = device_for(user)

    without = sign_in(client, "carol")
    wrong = sign_in(client, "carol", code="000000" if code_of(device) != "000000" else "111111")
    right = sign_in(client, "carol", code=code_of(device))

    assert without.status_code == 200
    assert "Enter the six-digit code your authenticator app shows" in without.content.decode()
    assert wrong.status_code == 200 and "This code does not match" in wrong.content.decode()
    assert right.status_code == 302
    assert client.get("/admin/").wsgi_request.user.is_verified()


def test_wrong_codes_count_as_failed_sign_ins_and_lock_out(client):
    user = staff("Customer service", username="carol")
    device = device_for(user)

    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "carol", code="000000" if code_of(device) != "000000" else "111111")

    assert sign_in(client, "carol", code=code_of(device)).status_code == 429


def test_without_an_authenticator_app_the_password_alone_signs_in(client):
    staff("Customer service", username="carol")

    assert sign_in(client, "carol").status_code == 302


def test_staff_set_up_an_authenticator_app_by_confirming_a_code(client, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user = staff("Customer service", username="carol")
    client.force_login(user)

    page = client.get("/admin/two-factor/")
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    wrong = client.post("/admin/two-factor/", {"token": "12"})
    confirmed = client.post("/admin/two-factor/", {"token": code_of(device)})

    content = page.content.decode()
    assert "<svg" in content and signin.secret_of(device) in content
    assert "This code does not match" in wrong.content.decode()
    assert confirmed.status_code == 302
    assert TOTPDevice.objects.get(user=user).confirmed


@pytest.mark.parametrize("role", ["Manager", "Finance", None])
def test_with_otp_required_managers_finance_and_superusers_are_sent_to_set_up_an_app(client, otp_required, role):
    client.force_login(staff(role))

    response = client.get("/admin/orders/order/")

    assert response.status_code == 302 and response["Location"] == "/admin/two-factor/"
    assert client.get("/admin/two-factor/").status_code == 200


def test_with_otp_required_other_roles_may_sign_in_without_an_app(client, otp_required):
    client.force_login(staff("Warehouse operator"))

    assert client.get("/admin/").status_code == 200


def test_with_otp_required_a_session_signed_in_without_a_code_must_sign_in_again(client, otp_required):
    manager = staff("Manager", username="mona")
    device_for(manager)
    client.force_login(manager)

    response = client.get("/admin/orders/order/")

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert sign_in(client, "mona", code=code_of(manager.totpdevice_set.get())).status_code == 302
    assert client.get("/admin/orders/order/").status_code == 200


def test_with_otp_required_a_manager_reaches_the_console_after_setting_up_an_app(client, otp_required):
    manager = staff("Manager", username="mona")
    client.force_login(manager)
    client.get("/admin/two-factor/")

    client.post("/admin/two-factor/", {"token": code_of(TOTPDevice.objects.get(user=manager))})

    assert client.get("/admin/orders/order/").status_code == 200


def test_a_role_that_must_use_codes_cannot_turn_them_off(client, otp_required):
    manager = staff("Manager")
    device_for(manager)
    client.force_login(manager)
    session = client.session
    session["otp_device_id"] = manager.totpdevice_set.get().persistent_id
    session.save()

    response = client.post("/admin/two-factor/", {"action": "turn_off"}, follow=True)

    assert "two-step sign-in stays on" in response.content.decode()
    assert TOTPDevice.objects.filter(user=manager).exists()


def test_others_may_turn_two_step_sign_in_off(client):
    user = staff("Customer service", username="carol")
    device = device_for(user)
    sign_in(client, "carol", code=code_of(device))

    client.post("/admin/two-factor/", {"action": "turn_off"})

    assert not TOTPDevice.objects.filter(user=user).exists()


def test_a_code_typed_right_after_a_wrong_one_is_asked_again_after_a_pause(client):
    user = staff("Customer service", username="carol")
    device = device_for(user)
    sign_in(client, "carol", code="000000" if code_of(device) != "000000" else "111111")

    response = sign_in(client, "carol", code=code_of(device))

    assert "wait a few seconds" in response.content.decode()
    assert not signed_in(client)


def test_behind_a_proxy_lockouts_count_the_address_the_proxy_names(client, settings):
    settings.CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    staff("Customer service", username="carol")
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            LOGIN,
            {"username": f"guess{attempt}", "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_REAL_IP="198.51.100.9",
        )

    elsewhere = client.post(
        LOGIN, {"username": "carol", "password": "pw"}, REMOTE_ADDR="10.0.0.1", HTTP_X_REAL_IP="192.0.2.10"
    )

    assert elsewhere.status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.9"}


def test_a_session_signed_in_without_a_code_cannot_replace_or_remove_the_app(client):
    user = staff("Customer service")
    device = device_for(user)
    client.force_login(user)

    replaced = client.post("/admin/two-factor/", {"token": "123456"}, follow=True)
    removed = client.post("/admin/two-factor/", {"action": "turn_off"}, follow=True)

    assert "Sign in again with a code" in replaced.content.decode()
    assert "Sign in again with a code" in removed.content.decode()
    assert list(TOTPDevice.objects.filter(user=user)) == [device]


def test_with_otp_required_an_unverified_session_with_an_app_cannot_even_open_the_set_up_page(client, otp_required):
    manager = staff("Manager")
    device_for(manager)
    client.force_login(manager)

    response = client.get("/admin/two-factor/?again=1")

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
