"""The order setup of the console: channels, customers, the blocklist and the intake settings."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import DecimalField
from django.http import FileResponse, Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.console import ConsolePageMixin
from core.forms import add_service_error
from core.permissions import Core, Orders, may, require
from core.privacy import mask_email, mask_name, record_view, sight_of
from core.spreadsheets.writing import Format, spooled_file, write_xlsx_sheets

from ..models import BlockedContact, Channel, Customer, IntakeSettings
from ..services import blocklist, customers, privacy
from ..services.phones import format_phone, mask_phone, normalize_phone
from .api_tokens import ChannelTokenAdminMixin
from .display import can_see_phone


@admin.register(Channel)
class ChannelAdmin(ChannelTokenAdminMixin, admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "kind",
        "active",
        "dispatch_within_hours",
        "dispatch_cutoff_hour",
        "intake_held_because",
    )
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    # An incident holds and releases a channel's new orders (docs/architecture.md, "Incidents").
    readonly_fields = ("intake_held_because",)

    def has_delete_permission(self, request, obj=None):
        return False


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = ("name", "phone", "email")

    def clean_phone(self):
        phone, valid = normalize_phone(self.cleaned_data["phone"])
        if not valid:
            raise ValidationError(_("Enter a valid phone number."))
        return phone


@admin.register(Customer)
class CustomerAdmin(ConsolePageMixin, admin.ModelAdmin):
    """Customers, with what the person looking may see of them (docs/architecture.md, "Personal
    data"); the customer's page hands them their data as a workbook, or erases it, on request."""

    form = CustomerForm
    search_help_text = _("Name, or the whole phone number in any format.")
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        # The form has put the edited values on `obj`; roles that see phones masked edit no phone.
        customers.update_customer(obj.pk, actor=request.user, name=obj.name, phone=obj.phone, email=obj.email)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # An erased customer has nothing left to correct.
        return super().has_change_permission(request, obj) and not (obj and obj.anonymised_at)

    def get_list_display(self, request):
        sight = sight_of(request.user)
        return (
            "name" if sight.name else "name_masked",
            "phone_formatted" if sight.phone else "phone_masked",
            "email" if sight.phone else "email_masked",
            "created_at",
            "orders_link",
        )

    def get_fields(self, request, obj=None):
        sight = sight_of(request.user)
        return (
            "name" if sight.name else "name_masked",
            "phone" if sight.phone else "phone_masked",
            "email" if sight.phone else "email_masked",
            "created_at",
            "anonymised_at",
        )

    def get_readonly_fields(self, request, obj=None):
        return ("name_masked", "phone_masked", "email_masked", "created_at", "anonymised_at")

    def get_search_fields(self, request):
        # Finding a customer by their whole name would tell who sees names masked what it is.
        return ("name",) if sight_of(request.user).name else ()

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        sight = sight_of(request.user)
        if sight.name:
            results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        else:
            results, may_have_duplicates = queryset.none(), False
        phone, valid = normalize_phone(search_term)
        # Roles that see phones masked may not find a customer by the full number either.
        if valid and sight.phone:
            results |= queryset.filter(phone=phone)
        return results, may_have_duplicates

    @admin.display(description=_("name"))
    def name_masked(self, customer):
        return mask_name(customer.name)

    @admin.display(description=_("phone"))
    def phone_formatted(self, customer):
        return format_phone(customer.phone)

    @admin.display(description=_("phone"))
    def phone_masked(self, customer):
        return "" if customer.anonymised_at else mask_phone(customer.phone)

    @admin.display(description=_("email"))
    def email_masked(self, customer):
        return mask_email(customer.email)

    @admin.display(description=_("orders"))
    def orders_link(self, customer):
        url = reverse("admin:orders_order_changelist") + "?" + urlencode({"customer__id__exact": customer.pk})
        return format_html('<a href="{}">{}</a>', url, _("Orders"))

    # The customer's page: their data handed out or erased on request ------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:customer_id>/data/", wrap(self.data_view), name=self.admin_view_name("data")),
            path("<int:customer_id>/erase/", wrap(self.erase_view), name=self.admin_view_name("erase")),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        customer = getattr(response, "context_data", {}).get("original") if request.method == "GET" else None
        # An erased customer has nothing left to see unmasked.
        if customer is not None and customer.anonymised_at is None:
            record_view(request.user, sight_of(request.user), customer_id=customer.pk, page=gettext("Customer page"))
        return response

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        user = request.user
        if obj is not None:
            context.update(
                may_hand_out=may(user, Orders.EXPORT_CUSTOMER_DATA) and not obj.anonymised_at,
                may_erase=may(user, Orders.ERASE_CUSTOMER_DATA) and not obj.anonymised_at,
                access_log_url=(
                    reverse("admin:core_personaldataaccess_changelist") + "?" + urlencode({"customer_id": obj.pk})
                    if may(user, Core.VIEW_PERSONALDATAACCESS)
                    else ""
                ),
            )
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def customer_or_404(self, customer_id):
        try:
            return Customer.objects.get(pk=customer_id)
        except Customer.DoesNotExist:
            raise Http404(gettext("No customer with id %(id)s.") % {"id": customer_id}) from None

    def data_view(self, request, customer_id):
        """POST: the workbook of everything held about the customer (recorded in the access log)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        customer = self.customer_or_404(customer_id)
        sheets = privacy.customer_data_sheets(customer.pk, actor=request.user)
        out = spooled_file()
        write_xlsx_sheets(sheets, out)
        out.seek(0)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return FileResponse(
            out,
            as_attachment=True,
            filename=f"customer-{customer.pk}-data-{stamp}.xlsx",
            content_type=Format.CONTENT_TYPES[Format.XLSX],
        )

    def erase_view(self, request, customer_id):
        """GET: what erasing will do, or why it is refused now. POST: erase (recorded either way)."""
        require(request.user, Orders.ERASE_CUSTOMER_DATA, gettext("Your role may not erase customers' personal data."))
        customer = self.customer_or_404(customer_id)
        back = self.admin_view_url("change", customer.pk)
        if request.method == "POST":
            try:
                privacy.erase_customer(customer.pk, actor=request.user)
            except ValidationError as refusal:
                for message in refusal.messages:
                    messages.error(request, message)
            else:
                messages.success(
                    request,
                    gettext("Customer #%(id)s's personal data is erased; their orders' figures stay.")
                    % {"id": customer.pk},
                )
            return redirect(back)
        context = self.page_context(
            request,
            gettext("Erase customer #%(id)s's personal data") % {"id": customer.pk},
            customer=customer,
            blockers=privacy.erasure_blockers(customer) if not customer.anonymised_at else [],
            back_url=back,
        )
        return TemplateResponse(request, "admin/orders/customer/erase.html", context)


class BlockContactForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Block"),
        choices=BlockedContact.Kind.choices,
        initial=BlockedContact.Kind.PHONE,
        widget=forms.RadioSelect,
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        help_text=_("Any format: 138 0013 8000, +86 138-0013-8000 …"),
    )
    province = forms.CharField(label=_("Province"), max_length=50, required=False)
    city = forms.CharField(label=_("City"), max_length=50, required=False)
    district = forms.CharField(label=_("District"), max_length=50, required=False)
    address = forms.CharField(label=_("Street address"), max_length=255, required=False)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=255,
        help_text=_("Reviewers see this on every order it holds."),
    )


@admin.register(BlockedContact)
class BlockedContactAdmin(admin.ModelAdmin):
    list_filter = ("kind",)
    search_fields = ("value", "reason")
    search_help_text = _("Phone number in any format, part of an address, or the reason.")
    readonly_fields = ("kind", "value", "value_masked", "reason", "created_at")
    add_fieldsets = (
        (None, {"fields": ("kind",)}),
        (_("Phone"), {"fields": ("phone",), "description": _("For a blocked phone number.")}),
        (
            _("Address"),
            {
                "fields": (("province", "city"), ("district", "address")),
                "description": _("For a blocked address: province, city and street; the district where it has one."),
            },
        ),
        (None, {"fields": ("reason",)}),
    )

    def has_change_permission(self, request, obj=None):
        return False

    def _value_field(self, request):
        return "value" if can_see_phone(request.user) else "value_masked"

    def get_list_display(self, request):
        value_column = "value_formatted" if can_see_phone(request.user) else "value_masked"
        return ("kind", value_column, "reason", "created_at")

    def get_fields(self, request, obj=None):
        return ("kind", self._value_field(request), "reason", "created_at")

    @admin.display(description=_("value"))
    def value_formatted(self, blocked):
        if blocked.kind == BlockedContact.Kind.PHONE:
            return format_phone(blocked.value)
        return blocked.value

    @admin.display(description=_("value"))
    def value_masked(self, blocked):
        if blocked.kind == BlockedContact.Kind.PHONE:
            return mask_phone(blocked.value)
        return blocked.value

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        phone, valid = normalize_phone(search_term)
        if valid and can_see_phone(request.user):
            results |= queryset.filter(kind=BlockedContact.Kind.PHONE, value=phone)
        return results, may_have_duplicates

    def add_view(self, request, form_url="", extra_context=None):
        """The entry is made by the blocklist service, which stores it the way intake compares it."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = BlockContactForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                blocked = blocklist.block_contact(**form.cleaned_data, actor=request.user)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                self.log_addition(request, blocked, [{"added": {}}])
                return self.response_add(request, blocked)
        adminform = helpers.AdminForm(form, self.add_fieldsets, {}, model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Block a phone or an address"),
            "subtitle": None,
            "adminform": adminform,
            "object_id": None,
            "original": None,
            "is_popup": False,
            "to_field": None,
            "media": self.media + adminform.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        return self.render_change_form(request, context, add=True, form_url=form_url)

    def delete_model(self, request, obj):
        blocklist.unblock(obj.pk, actor=request.user)

    def delete_queryset(self, request, queryset):
        for blocked_id in queryset.values_list("pk", flat=True):
            blocklist.unblock(blocked_id, actor=request.user)


@admin.register(IntakeSettings)
class IntakeSettingsAdmin(admin.ModelAdmin):
    """One row of thresholds. Its list is skipped: the section opens the settings themselves."""

    fieldsets = (
        (_("Order value"), {"fields": ("high_value_threshold", "new_customer_value_threshold", "cod_limit")}),
        (_("Repeat orders"), {"fields": ("velocity_window_hours", "velocity_max_orders")}),
        (_("Review"), {"fields": ("hold_score",)}),
        (_("Awaiting payment"), {"fields": ("reserve_stock_awaiting_payment",)}),
        (_("Merging orders"), {"fields": ("merge_across_channels",)}),
    )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, DecimalField):
            kwargs.setdefault("min_value", 0)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return redirect("admin:orders_intakesettings_change", IntakeSettings.current().pk)
