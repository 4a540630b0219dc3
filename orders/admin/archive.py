"""The Archived orders view of the console: the archive searched by order number, phone, recipient
or channel order id, exported like the order list, and each archived order on a printable page
with every row it kept (docs/architecture.md, "Archive"). Names, phones and addresses follow the
role's sight as on the live order page, and opening a page that shows any of them whole is logged
(docs/architecture.md, "Personal data")."""

from types import SimpleNamespace

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import models
from django.http import Http404, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.console import ReadOnlyAdminMixin, short_datetime
from core.privacy import (
    ADDRESS,
    NAME,
    PHONE,
    SEES_IN_FULL,
    Sight,
    mask_email,
    mask_name,
    mask_postcode,
    mask_street,
    sight_of,
)
from core.spreadsheets.console import ExportMixin

from .. import selectors
from ..exports import ARCHIVED_ORDERS
from ..models import ArchivedOrder
from ..services.phones import mask_phone
from .display import OrderColumns, opened_order, payment_badge, status_badge
from .paginator import CappedCountPaginator

# Rows shown on the order's own header, not again as a table.
SHOWN_ABOVE = {"orders.order"}
# Columns that only say which archived row a row belongs to, or repeat the header.
LEFT_OUT = {"id", "order"}
# Kept columns that name, reach or locate the customer, by which of name/phone/address they are
# (core/privacy.py), with how they are masked. A notification's recipient is its phone or email.
HIDDEN = "***"


def _mask_contact(to):
    return mask_email(to) if "@" in to else mask_phone(to)


PERSONAL = {
    "recipient": (NAME, mask_name),
    "phone": (PHONE, mask_phone),
    "contact_phone": (PHONE, mask_phone),
    "sent_to": (PHONE, _mask_contact),
    "address": (ADDRESS, mask_street),
    "postcode": (ADDRESS, mask_postcode),
    # Customers write names, numbers and gate codes here: it goes with the street address.
    "special_instructions": (ADDRESS, lambda text: HIDDEN),
    "address_key": (ADDRESS, lambda key: HIDDEN),
}
# Free text that customers, carriers and staff wrote about the customer (messages, notes, returns,
# tickets, feedback, carriers' events) may quote any of the three: whole only for those who see all.
TEXTS = {"body", "subject", "last_error", "text", "customer_note", "description", "comment"}
PERSONAL_OF = {("orders.notification", "recipient"): (PHONE, _mask_contact)}


@admin.register(ArchivedOrder)
class ArchivedOrderAdmin(OrderColumns, ReadOnlyAdminMixin, ExportMixin, admin.ModelAdmin):
    list_display_links = ("number",)
    list_filter = ("status", "channel")
    list_per_page = 50
    ordering = ("-placed_at", "-id")
    sortable_by = ("placed",)
    search_fields = ("number",)
    search_help_text = _("Exact order number, phone (any format), recipient or channel order id.")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    exports = (ARCHIVED_ORDERS,)

    def get_list_display(self, request):
        return (
            "number",
            "status_display",
            "placed",
            "finished",
            "channel",
            "channel_order_id",
            self.recipient_column(request),
            self.phone_column(request),
            "total_display",
            "payment_status_display",
        )

    @admin.display(description=_("completed or cancelled at"), ordering="finished_at")
    def finished(self, archived):
        return short_datetime(archived.finished_at)

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": _("Archived orders"), **(extra_context or {})})

    def get_queryset(self, request):
        return selectors.archived_orders()

    def get_search_results(self, request, queryset, search_term):
        sight = sight_of(request.user)
        found = selectors.search_archived_orders(queryset, search_term, by_phone=sight.phone, by_name=sight.name)
        return found, False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        try:
            archived = selectors.archived_order(int(object_id))
        except (ArchivedOrder.DoesNotExist, ValueError):
            raise Http404(gettext("No archived order with id %(id)s.") % {"id": object_id}) from None
        if not self.has_view_permission(request, archived):
            raise PermissionDenied
        order = _typed("orders.order", archived.rows_of("orders.order")[0])
        as_kept = SimpleNamespace(
            **{**order, "customer": archived.customer, "customer_id": archived.customer_id, "number": archived.number}
        )
        context = {
            **self.page_context(request, gettext("Archived order %(number)s") % {"number": archived.number}),
            "archived": archived,
            "order": order,
            "contact": opened_order(request, as_kept, gettext("Archived order")),
            "status_badge": status_badge(archived),
            "payment_badge": payment_badge(archived),
            "sections": archived_sections(archived, sight=sight_of(request.user)),
        }
        return TemplateResponse(request, "admin/orders/archivedorder/detail.html", context)


def _typed(label, row):
    """An archived row's values as the model's fields read them (times and amounts, not strings)."""
    model = apps.get_model(label)
    typed = {}
    for name, value in row.items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            # A column the model no longer has is shown as it was kept.
            typed[name] = value
            continue
        typed[name] = value if field.is_relation or value is None else field.to_python(value)
    return typed


def _shown(label, field, value, names, sight):
    if value is None or value == "":
        return "—"
    if field.name in TEXTS and len(sight.fields) < len(SEES_IN_FULL):
        return HIDDEN
    kind, mask = PERSONAL_OF.get((label, field.name)) or PERSONAL.get(field.name) or (None, None)
    if kind and not getattr(sight, kind):
        return mask(str(value)) or "—"
    if field.is_relation:
        return names.get((field.related_model, value), value)
    value = field.to_python(value)
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    if isinstance(field, models.DateTimeField):
        return short_datetime(value)
    if isinstance(field, models.DateField):
        return date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(field, models.BooleanField):
        return gettext("yes") if value else gettext("no")
    return value


def archived_sections(archived: ArchivedOrder, *, sight: Sight) -> list[dict]:
    """Every kept row of an archived order but the order's own, a table per model (its name, its
    fields' names, the rows), models in the order the apps are installed. The people, products,
    warehouses and carriers the rows point at are named as they are now; links to other archived
    rows show their ids."""
    labels = sorted(
        (label for label in archived.rows if label not in SHOWN_ABOVE),
        key=lambda label: (list(apps.app_configs).index(label.split(".")[0]), label),
    )
    tables = []
    for label in labels:
        model = apps.get_model(label)
        fields = [field for field in model._meta.concrete_fields if field.name not in LEFT_OUT]
        tables.append((label, model, fields, archived.rows_of(label)))
    names = _names_of_live_rows(tables)
    return [
        {
            "title": model._meta.verbose_name_plural,
            "headers": [field.verbose_name for field in fields],
            "rows": [[_shown(label, field, row.get(field.attname), names, sight) for field in fields] for row in rows],
        }
        for label, model, fields, rows in tables
    ]


def _names_of_live_rows(tables):
    """{(model, id): name} of the live rows archived rows point at (people, products, warehouses,
    carriers), one query per model."""
    archived_models = {model for _label, model, _fields, _rows in tables} | {apps.get_model("orders.order")}
    wanted = {}
    for _label, _model, fields, rows in tables:
        for field in fields:
            if field.is_relation and field.related_model not in archived_models:
                wanted.setdefault(field.related_model, set()).update(
                    row.get(field.attname) for row in rows if row.get(field.attname) is not None
                )
    names = {}
    for model, ids in wanted.items():
        shown = "username" if model._meta.label == settings.AUTH_USER_MODEL else None
        for row in model._base_manager.filter(pk__in=ids):
            names[model, row.pk] = getattr(row, shown) if shown else str(row)
    return names
