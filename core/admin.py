"""The console's sign-in pages (docs/architecture.md, "Sign-in and security"): the sign-in form
with the authenticator code, the page where staff set up two-step sign-in, and django-axes'
failed sign-ins with a way for managers to lift a lockout; and the personal-data access log for
managers, searchable by person, customer and time (docs/architecture.md, "Personal data")."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login

from . import signin
from .console import ReadOnlyAdminMixin, refusal_message, short_datetime
from .forms import ConsoleAuthenticationForm, TwoFactorConfirmForm
from .models import PersonalDataAccess
from .permissions import Security, may
from .privacy import ADDRESS, NAME, PHONE

admin.site.login_form = ConsoleAuthenticationForm
admin.site.login_template = "admin/console_login.html"


@never_cache
def two_factor_view(request):
    """/admin/two-factor/: set up an authenticator app (QR code or typed key, then a code it shows),
    or see that it is on and, where the role allows, turn it off."""
    user = request.user
    devices = signin.confirmed_devices(user)
    if devices and not user.is_verified() and request.method == "POST":
        # Only a session signed in with a code may replace or remove the app.
        messages.error(request, _("Sign in again with a code from your app to change two-step sign-in."))
        return redirect("two-factor")
    form = TwoFactorConfirmForm(request.POST or None)
    if request.method == "POST" and request.POST.get("action") == "turn_off":
        try:
            signin.turn_off_two_factor(user)
        except ValidationError as error:
            messages.error(request, refusal_message(error))
        else:
            messages.success(request, _("Two-step sign-in is off. You sign in with your password alone."))
        return redirect("two-factor")
    if request.method == "POST" and form.is_valid():
        try:
            device = signin.confirm_device(user, form.cleaned_data["token"])
        except ValidationError as error:
            form.add_error("token", error.message_dict["token"])
        else:
            # The session counts as signed in with a code from now on.
            otp_login(request, device)
            messages.success(request, _("Two-step sign-in is on. From now on you sign in with a code from the app."))
            return redirect("admin:index")
    pending = (
        None if devices and request.method == "GET" and "again" not in request.GET else signin.pending_device(user)
    )
    context = {
        **admin.site.each_context(request),
        "title": _("Two-step sign-in"),
        "devices": devices,
        "pending": pending,
        "secret": signin.secret_of(pending) if pending else "",
        "qr_code": signin.qr_code_svg(pending) if pending else "",
        "form": form,
        "required": signin.requires_two_factor(user),
    }
    return TemplateResponse(request, "admin/two_factor.html", context)


admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LockoutAdmin(AccessAttemptAdmin):
    """django-axes' failed sign-ins, with "Lift the lockout" for managers."""

    actions = ["unlock"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_unlock_permission(self, request):
        return may(request.user, Security.DELETE_ACCESSATTEMPT)

    @admin.action(description=gettext_lazy("Lift the lockout of the selected sign-ins"), permissions=["unlock"])
    def unlock(self, request, queryset):
        removed = signin.unlock_sign_in(list(queryset.values_list("pk", flat=True)), actor=request.user)
        self.message_user(
            request,
            ngettext(
                "Lifted %(count)d lockout: they may sign in again now.",
                "Lifted %(count)d lockouts: they may sign in again now.",
                removed,
            )
            % {"count": removed},
            messages.SUCCESS,
        )


FIELD_LABELS = {NAME: gettext_lazy("name"), PHONE: gettext_lazy("phone"), ADDRESS: gettext_lazy("address")}


class CustomerFilter(admin.SimpleListFilter):
    """One customer's lines, reached from the customer's page (`?customer=<id>`)."""

    title = gettext_lazy("customer")
    parameter_name = "customer_id"

    def lookups(self, request, model_admin):
        value = self.value()
        return [(value, f"#{value}")] if value and value.isdigit() else []

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(customer_id=int(value)) if value and value.isdigit() else queryset


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "time",
        "actor_display",
        "action",
        "customer_display",
        "order_number",
        "subject",
        "fields_display",
        "rows",
    )
    list_filter = ("action", ("actor", admin.RelatedOnlyFieldListFilter), CustomerFilter)
    list_select_related = ("actor",)
    date_hierarchy = "created_at"
    search_fields = ("=order_number", "actor__username", "subject")
    search_help_text = gettext_lazy("Exact order number, a staff member's user name, or words of the details.")
    show_full_result_count = False
    list_per_page = 100

    @admin.display(description=gettext_lazy("time"), ordering="created_at")
    def time(self, access):
        return short_datetime(access.created_at)

    @admin.display(description=gettext_lazy("who"), ordering="actor__username")
    def actor_display(self, access):
        return access.actor.get_username() if access.actor else gettext_lazy("the system")

    @admin.display(description=gettext_lazy("customer"), ordering="customer_id")
    def customer_display(self, access):
        return f"#{access.customer_id}" if access.customer_id else ""

    @admin.display(description=gettext_lazy("seen in full"))
    def fields_display(self, access):
        return ", ".join(str(FIELD_LABELS.get(kind, kind)) for kind in access.fields.split(",") if kind)
