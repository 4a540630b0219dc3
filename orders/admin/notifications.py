"""Customer messages in the console: the message templates a manager edits, the log of every
message sent (with a resend button), and the order page's list of its messages."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.console import ReadOnlyAdminMixin, badge, refusal_message, short_datetime
from core.permissions import Orders

from .. import selectors
from ..models import Notification, NotificationMedium, NotificationTemplate
from ..services import notifications
from .display import REFUSALS, can_see_phone, shown_phone

RESEND_LIMIT = 100

TEMPLATE_HELP = _(
    "Written in Django's template language. A message may use {{ order.number }}, {{ order.customer.name }}, "
    "{{ order.recipient }}, {{ order.total }}, {{ order.currency }}, {{ order.refund_due }}, {{ shop_name }} and "
    "{{ tracking_page_url }} (the public tracking page); shipping messages also {{ carrier }}, {{ tracking_number }}, "
    "{{ tracking_url }} (the carrier's page) and {{ shipment.expected_delivery_on }}; the held-order message "
    "{{ needs_address }}, {{ needs_phone }} and {{ needs_payment }} (true for what the customer must give); the "
    "disruption notice {{ message }} (what the manager wrote for the incident). "
    "Keep texts short: a long SMS is split and charged as several."
)


def recipient_for(user, notification):
    """Phone numbers are shown whole only to staff who may see customers' phones."""
    return recipient_display(notification, whole_phone=can_see_phone(user))


def recipient_display(notification, *, whole_phone):
    if notification.medium != NotificationMedium.SMS:
        return notification.recipient
    return shown_phone(notification.recipient, whole=whole_phone)


def notification_badge(notification):
    return badge("notification", notification.status, notification.get_status_display())


def order_notification_rows(request, order):
    """The order page's list of its messages, or None for staff who may not see the log."""
    user = request.user
    if not user.has_perm(Orders.VIEW_NOTIFICATION):
        return None
    may_resend = user.has_perm(Orders.RESEND_NOTIFICATION)
    return [
        {
            "notification": notification,
            "recipient": recipient_for(user, notification),
            "badge": notification_badge(notification),
            "url": reverse("admin:orders_notification_change", args=[notification.pk]),
            "resend_url": reverse("admin:orders_notification_resend", args=[notification.pk]) if may_resend else "",
        }
        for notification in selectors.notifications_for_order(order.pk)
    ]


class NotificationTemplateForm(forms.ModelForm):
    class Meta:
        model = NotificationTemplate
        fields = ("event", "medium", "language", "subject", "body", "active")
        widgets = {"body": forms.Textarea(attrs={"rows": 14, "cols": 90})}

    def clean(self):
        cleaned = super().clean()
        medium = cleaned.get("medium", self.instance.medium)
        try:
            notifications.check_template(
                medium=medium,
                subject=cleaned.get("subject", ""),
                body=cleaned.get("body", ""),
            )
        except ValidationError as error:
            for field, field_messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, field_messages)
        return cleaned


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    form = NotificationTemplateForm
    list_display = ("event", "medium", "language", "subject", "active", "updated")
    list_filter = ("event", "medium", "language", "active")
    search_fields = ("subject", "body")
    ordering = ("event", "medium", "language")

    def get_fieldsets(self, request, obj=None):
        return (
            (None, {"fields": ("event", "medium", "language", "active")}),
            (_("Message"), {"fields": ("subject", "body"), "description": TEMPLATE_HELP}),
        )

    def get_readonly_fields(self, request, obj=None):
        # Which message a template is stays fixed; only its text changes.
        return ("event", "medium", "language") if obj else ()

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("updated at"), ordering="updated_at")
    def updated(self, template):
        return short_datetime(template.updated_at)

    def save_model(self, request, obj, form, change):
        # The form has put the edited values on `obj`; the service checks and saves them.
        saved = notifications.save_template(
            obj.pk,
            actor=request.user,
            event=obj.event,
            medium=obj.medium,
            language=obj.language,
            subject=obj.subject,
            body=obj.body,
            active=obj.active,
        )
        obj.pk, obj.subject, obj.updated_at = saved.pk, saved.subject, saved.updated_at


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display_links = ("created",)
    list_filter = ("status", "event", "medium")
    list_select_related = ("order",)
    list_per_page = 50
    # Searching is by exact order number or recipient (see get_search_results).
    search_fields = ("recipient",)
    search_help_text = _("Exact order number, email address or phone number (any format).")
    show_full_result_count = False
    actions = ["resend_selected"]
    readonly_fields = (
        "order_link",
        "event",
        "medium",
        "recipient_whole",
        "recipient_masked",
        "language",
        "status_badge",
        "attempts",
        "last_error",
        "created",
        "sent",
        "subject",
        "body",
        "resend_of_link",
        "requested_by",
    )

    def has_resend_permission(self, request):
        return request.user.has_perm(Orders.RESEND_NOTIFICATION)

    @staticmethod
    def recipient_column(request):
        """Chosen per request, so staff without the permission never get a whole phone number."""
        return "recipient_whole" if can_see_phone(request.user) else "recipient_masked"

    def get_list_display(self, request):
        return (
            "created",
            "order_link",
            "event",
            "medium",
            self.recipient_column(request),
            "language",
            "status_badge",
            "attempts",
            "sent",
        )

    def get_fields(self, request, obj=None):
        return (
            "order_link",
            "event",
            "medium",
            self.recipient_column(request),
            "language",
            "status_badge",
            "attempts",
            "last_error",
            "created",
            "sent",
            "subject",
            "body",
            "resend_of_link",
            "requested_by",
        )

    def get_queryset(self, request):
        return selectors.notification_log()

    def get_search_results(self, request, queryset, search_term):
        return selectors.search_notifications(queryset, search_term, by_phone=can_see_phone(request.user)), False

    @admin.display(description=_("created at"), ordering="created_at")
    def created(self, notification):
        return short_datetime(notification.created_at)

    @admin.display(description=_("sent at"), ordering="sent_at")
    def sent(self, notification):
        return short_datetime(notification.sent_at) if notification.sent_at else "—"

    @admin.display(description=_("order"))
    def order_link(self, notification):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:orders_order_change", args=[notification.order_id]),
            notification.order.number,
        )

    @admin.display(description=_("to"))
    def recipient_whole(self, notification):
        return recipient_display(notification, whole_phone=True)

    @admin.display(description=_("to"))
    def recipient_masked(self, notification):
        return recipient_display(notification, whole_phone=False)

    @admin.display(description=_("status"))
    def status_badge(self, notification):
        return notification_badge(notification)

    @admin.display(description=_("resend of"))
    def resend_of_link(self, notification):
        if notification.resend_of_id is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:orders_notification_change", args=[notification.resend_of_id]),
            short_datetime(notification.resend_of.created_at),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = {"can_resend": self.has_resend_permission(request), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/resend/",
                self.admin_site.admin_view(self.resend_view),
                name="orders_notification_resend",
            ),
        ] + super().get_urls()

    def resend_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            copy = notifications.resend(object_id, actor=request.user)
        except Notification.DoesNotExist:
            raise Http404(gettext("No message with id %(id)s.") % {"id": object_id}) from None
        except REFUSALS as error:
            self.message_user(request, refusal_message(error), messages.ERROR)
            return self.back(request, reverse("admin:orders_notification_change", args=[object_id]))
        self.message_user(
            request,
            gettext("The message is queued to be sent again to %(recipient)s.")
            % {"recipient": recipient_for(request.user, copy)},
            messages.SUCCESS,
        )
        return self.back(request, reverse("admin:orders_notification_change", args=[copy.pk]))

    @staticmethod
    def back(request, default_url):
        target = request.POST.get("next", "")
        if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
            return HttpResponseRedirect(target)
        return HttpResponseRedirect(default_url)

    @admin.action(description=_("Resend selected messages"), permissions=["resend"])
    def resend_selected(self, request, queryset):
        selected = list(queryset.order_by("pk").values_list("pk", flat=True)[: RESEND_LIMIT + 1])
        if len(selected) > RESEND_LIMIT:
            self.message_user(
                request,
                gettext("Select at most %(limit)d messages at a time.") % {"limit": RESEND_LIMIT},
                messages.ERROR,
            )
            return
        done = 0
        for notification_id in selected:
            try:
                notifications.resend(notification_id, actor=request.user)
            except REFUSALS as error:
                self.message_user(request, refusal_message(error), messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(count)d message queued to be sent again.", "%(count)d messages queued to be sent again.", done
                )
                % {"count": done},
                messages.SUCCESS,
            )
