"""The console's page base: what every app's admin shares (docs/architecture.md, "The console").

An app's admin builds its own pages (a step with a form, a queue, a printable sheet) on a ModelAdmin;
`ConsolePageMixin` gives each page the admin's frame, and the templates extend `admin/page.html`
(breadcrumbs to the model's list) and include `admin/includes/service_form.html` (a form that a
service checks). The helpers below show values the same way on every app's pages."""

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.html import format_html


class ReadOnlyAdminMixin:
    """A ModelAdmin whose rows change only through services: nothing is added, edited or deleted
    through Django's own forms; custom views on the admin call the services instead."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ConsolePageMixin:
    """Custom pages on a ModelAdmin, drawn inside the admin like its own pages."""

    def page_context(self, request, title, **extra):
        """The admin site's context (navigation, the user's apps, the site's title), the model's
        `opts` for the breadcrumbs of `admin/page.html`, the page's title and what the page adds."""
        return {**self.admin_site.each_context(request), "opts": self.opts, "title": title, **extra}

    def admin_view_name(self, view):
        """The URL name of one of this ModelAdmin's pages (without the `admin:` namespace)."""
        return f"{self.opts.app_label}_{self.opts.model_name}_{view}"

    def admin_view_url(self, view, *args):
        return reverse(f"admin:{self.admin_view_name(view)}", args=args, current_app=self.admin_site.name)

    def changelist_url(self, query=""):
        url = self.admin_view_url("changelist")
        return f"{url}?{query}" if query else url


def badge(kind, value, label):
    """A status shown as a coloured label; console.css styles `oc-<kind>-<value>`."""
    return format_html('<span class="oc-badge oc-{}-{}">{}</span>', kind, value, label)


def money(amount, currency):
    return format_html(
        '<span class="oc-money"><span class="oc-currency">{}</span> {}</span>',
        currency,
        number_format(amount, 2, force_grouping=True),
    )


def short_datetime(value):
    """The console's one way of showing a time (config/formats), in the lists as on the pages."""
    return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


def refusal_message(error):
    """The text a service gave for refusing a step, whichever way it refused."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)
