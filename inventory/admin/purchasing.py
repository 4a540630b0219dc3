"""The buyer's console (docs/architecture.md, "Suppliers and purchase orders"): suppliers and what
they supply, the purchasing settings, and purchase orders with their page, steps, receiving by form
or scan and the printable order. Purchase orders change only through inventory.services."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.console import ConsolePageMixin, badge, money, refusal_message, short_datetime
from core.forms import add_service_error
from core.permissions import Inventory, require
from core.spreadsheets.console import ExportMixin
from core.transitions import TransitionRefused

from .. import selectors, services
from ..exports import PURCHASE_ORDER_LINES
from ..models import (
    Product,
    PurchaseOrder,
    PurchasingSettings,
    Supplier,
    SupplierProduct,
    Warehouse,
    shop_currency,
)

Status = PurchaseOrder.Status
REFUSALS = (ValidationError, PermissionDenied, TransitionRefused)
LINE = re.compile(r"^\s*(?P<sku>[^\s,;:×x]+)\s*[\s,;:×x]\s*(?P<quantity>-?\d+)\s*$")


class SupplierProductInline(admin.TabularInline):
    model = SupplierProduct
    fields = ("product", "supplier_sku", "unit_cost", "pack_size", "minimum_quantity", "preferred")
    autocomplete_fields = ("product",)
    extra = 0


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "contact_name", "currency", "lead_time_days", "minimum_order_value", "active")
    list_filter = ("active", "currency")
    search_fields = ("code", "name", "contact_name", "email")
    inlines = (SupplierProductInline,)


@admin.register(SupplierProduct)
class SupplierProductAdmin(admin.ModelAdmin):
    list_display = ("product", "supplier", "supplier_sku", "unit_cost", "pack_size", "minimum_quantity", "preferred")
    list_filter = ("preferred", "supplier")
    search_fields = ("product__sku", "product__name", "supplier_sku", "supplier__code")
    autocomplete_fields = ("product",)
    list_select_related = ("product", "supplier")


@admin.register(PurchasingSettings)
class PurchasingSettingsAdmin(admin.ModelAdmin):
    """One row. Its list is skipped: the section opens the settings themselves."""

    fields = ("approval_threshold",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return redirect("admin:inventory_purchasingsettings_change", PurchasingSettings.current().pk)


def parse_lines(text: str) -> list[tuple[Product, int]]:
    """ "SKU quantity" per line, as the buyer typed them; each bad line is named."""
    rows, problems = [], []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        if not raw.strip():
            continue
        match = LINE.match(raw)
        if not match:
            problems.append(gettext("Line %(line)d: write the SKU, then the quantity.") % {"line": number})
            continue
        rows.append((number, match["sku"], int(match["quantity"])))
    products = selectors.products_by_sku(sku for _number, sku, _quantity in rows)
    lines = []
    for number, sku, quantity in rows:
        if sku not in products:
            problems.append(gettext("Line %(line)d: no product has the SKU “%(sku)s”.") % {"line": number, "sku": sku})
        elif quantity <= 0:
            problems.append(gettext("Line %(line)d: the quantity must be greater than zero.") % {"line": number})
        else:
            lines.append((products[sku], quantity))
    if problems:
        raise ValidationError(problems)
    if not lines:
        raise ValidationError(gettext("Add at least one product."))
    return lines


class DraftForm(forms.Form):
    supplier = forms.ModelChoiceField(label=_("supplier"), queryset=Supplier.objects.filter(active=True))
    warehouse = forms.ModelChoiceField(label=_("deliver to"), queryset=Warehouse.objects.filter(active=True))
    expected_on = forms.DateField(
        label=_("expected on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: after the supplier's lead time."),
    )
    exchange_rate = forms.DecimalField(
        label=_("exchange rate"),
        required=False,
        min_value=Decimal("0.000001"),
        max_digits=14,
        decimal_places=6,
        help_text=_("Only for a supplier that invoices in another currency than the shop's."),
    )
    lines = forms.CharField(
        label=_("products"),
        widget=forms.Textarea(attrs={"rows": 6, "class": "vLargeTextField"}),
        help_text=_("One product per line: its SKU, then the quantity (SKU-001 24)."),
    )
    notes = forms.CharField(label=_("notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_lines(self):
        return parse_lines(self.cleaned_data["lines"])


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=255)


class ScanForm(forms.Form):
    code = forms.CharField(
        label=_("barcode or SKU"),
        max_length=64,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )
    damaged = forms.BooleanField(label=_("damaged: into quarantine"), required=False)


def status_badge(purchase_order):
    return badge("po", purchase_order.status, purchase_order.get_status_display())


class OverdueFilter(admin.SimpleListFilter):
    title = _("arrival")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Overdue"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=selectors.overdue_purchase_orders().values("pk"))
        return queryset


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(ExportMixin, ConsolePageMixin, admin.ModelAdmin):
    list_display = ("number_link", "supplier", "warehouse", "state", "expected_on", "value", "created_at")
    list_display_links = None
    list_filter = (OverdueFilter, "status", "supplier", "warehouse")
    search_fields = ("number", "supplier__code", "supplier__name", "lines__product__sku")
    list_select_related = ("supplier", "warehouse")
    exports = (PURCHASE_ORDER_LINES,)
    change_list_template = "admin/inventory/purchaseorder/change_list.html"

    def has_add_permission(self, request):
        return request.user.has_perm(Inventory.ADD_PURCHASEORDER)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).distinct()

    @admin.display(description=_("purchase order number"), ordering="number")
    def number_link(self, purchase_order):
        return format_html('<a href="{}">{}</a>', self.admin_view_url("page", purchase_order.pk), purchase_order)

    @admin.display(description=_("status"), ordering="status")
    def state(self, purchase_order):
        return status_badge(purchase_order)

    @admin.display(description=_("value"))
    def value(self, purchase_order):
        return money(selectors.purchase_order_total(purchase_order), purchase_order.currency)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "overdue_url": self.changelist_url("overdue=yes"),
            "overdue_count": selectors.overdue_purchase_orders().count(),
        }
        return super().changelist_view(request, extra_context=extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        return redirect(self.admin_view_url("draft"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        try:
            return redirect(self.admin_view_url("page", int(object_id)))
        except ValueError:
            raise Http404 from None

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("draft/", view(self.draft_view), name=self.admin_view_name("draft")),
            path("<int:po_id>/page/", view(self.page_view), name=self.admin_view_name("page")),
            path("<int:po_id>/edit/", view(self.edit_view), name=self.admin_view_name("edit")),
            path("<int:po_id>/approve/", view(self.approve_view), name=self.admin_view_name("approve")),
            path("<int:po_id>/send/", view(self.send_view), name=self.admin_view_name("send")),
            path("<int:po_id>/cancel/", view(self.cancel_view), name=self.admin_view_name("cancel")),
            path("<int:po_id>/close/", view(self.close_view), name=self.admin_view_name("close")),
            path("<int:po_id>/receive/", view(self.receive_view), name=self.admin_view_name("receive")),
            path("<int:po_id>/scan/", view(self.scan_view), name=self.admin_view_name("scan")),
            path("<int:po_id>/print/", view(self.print_view), name=self.admin_view_name("print")),
        ] + super().get_urls()

    # Reading ------------------------------------------------------------------------------------

    def purchase_order_or_404(self, request, po_id):
        require(request.user, Inventory.VIEW_PURCHASEORDER, gettext("Your role may not see purchase orders."))
        try:
            return PurchaseOrder.objects.select_related("supplier", "warehouse", "created_by", "approved_by").get(
                pk=po_id
            )
        except PurchaseOrder.DoesNotExist:
            raise Http404(gettext("There is no purchase order %(number)s.") % {"number": po_id}) from None

    def lines_of(self, purchase_order):
        return list(purchase_order.lines.select_related("product").order_by("product__sku"))

    def page_view(self, request, po_id):
        purchase_order = self.purchase_order_or_404(request, po_id)
        return self.render_page(request, purchase_order)

    def render_page(self, request, purchase_order, cancel_form=None):
        user = request.user
        draft = purchase_order.status == Status.DRAFT
        awaiting = purchase_order.status in PurchaseOrder.AWAITING_GOODS
        try:
            shop_value = services.value_in_shop_currency(purchase_order)
            currency_problem = ""
        except ValidationError as error:
            shop_value, currency_problem = None, refusal_message(error)
        needs_approval = draft and shop_value is not None and services.needs_approval(purchase_order)
        may_send = user.has_perm(Inventory.SEND_PURCHASE_ORDER)
        context = self.page_context(
            request,
            gettext("Purchase order %(number)s") % {"number": purchase_order},
            purchase_order=purchase_order,
            lines=self.lines_of(purchase_order),
            status_badge=status_badge(purchase_order),
            total=selectors.purchase_order_total(purchase_order),
            shop_currency=shop_currency(),
            shop_value=shop_value,
            currency_problem=currency_problem,
            needs_approval=needs_approval,
            threshold=PurchasingSettings.current().approval_threshold,
            events=purchase_order.events.select_related("actor"),
            overdue=selectors.overdue_purchase_orders().filter(pk=purchase_order.pk).exists(),
            edit_url=self.admin_view_url("edit", purchase_order.pk)
            if draft and user.has_perm(Inventory.ADD_PURCHASEORDER)
            else "",
            approve_url=self.admin_view_url("approve", purchase_order.pk)
            if needs_approval and user.has_perm(Inventory.APPROVE_PURCHASE_ORDER)
            else "",
            send_url=self.admin_view_url("send", purchase_order.pk) if draft and may_send else "",
            close_url=self.admin_view_url("close", purchase_order.pk)
            if purchase_order.status == Status.RECEIVED and may_send
            else "",
            cancel_form=cancel_form
            or (CancelForm() if purchase_order.status in (Status.DRAFT, Status.SENT) and may_send else None),
            cancel_url=self.admin_view_url("cancel", purchase_order.pk),
            receive_url=self.admin_view_url("receive", purchase_order.pk)
            if awaiting and user.has_perm(Inventory.RECEIVE_STOCK)
            else "",
            scan_url=self.admin_view_url("scan", purchase_order.pk)
            if awaiting and user.has_perm(Inventory.RECEIVE_STOCK)
            else "",
            print_url=self.admin_view_url("print", purchase_order.pk),
            created_at=short_datetime(purchase_order.created_at),
        )
        return TemplateResponse(request, "admin/inventory/purchaseorder/page.html", context)

    # Drafting -----------------------------------------------------------------------------------

    def form_page(self, request, *, title, form, submit_label, cancel_url, intro=""):
        context = self.page_context(
            request, title, form=form, submit_label=submit_label, cancel_url=cancel_url, intro=intro
        )
        return TemplateResponse(request, "admin/inventory/purchaseorder/form.html", context)

    def draft_view(self, request):
        require(request.user, Inventory.ADD_PURCHASEORDER, gettext("Your role may not draft purchase orders."))
        form = DraftForm(request.POST or None, initial={"supplier": request.GET.get("supplier")})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                purchase_order = services.create_purchase_order(
                    supplier_id=data["supplier"].pk,
                    warehouse_id=data["warehouse"].pk,
                    lines=[(product.pk, quantity) for product, quantity in data["lines"]],
                    expected_on=data["expected_on"],
                    exchange_rate=data["exchange_rate"],
                    notes=data["notes"],
                    actor=request.user,
                )
            except REFUSALS as error:
                add_service_error(form, error)
            else:
                messages.success(request, gettext("Purchase order %(number)s drafted.") % {"number": purchase_order})
                return redirect(self.admin_view_url("page", purchase_order.pk))
        return self.form_page(
            request,
            title=gettext("Draft a purchase order"),
            form=form,
            submit_label=gettext("Save the draft"),
            cancel_url=self.changelist_url(),
            intro=gettext("Costs come from what the supplier supplies; the order is in the supplier's currency."),
        )

    def edit_view(self, request, po_id):
        purchase_order = self.purchase_order_or_404(request, po_id)
        require(request.user, Inventory.ADD_PURCHASEORDER, gettext("Your role may not change purchase orders."))
        initial = {
            "supplier": purchase_order.supplier_id,
            "warehouse": purchase_order.warehouse_id,
            "expected_on": purchase_order.expected_on,
            "exchange_rate": purchase_order.exchange_rate,
            "notes": purchase_order.notes,
            "lines": "\n".join(f"{line.product.sku} {line.quantity}" for line in self.lines_of(purchase_order)),
        }
        form = DraftForm(request.POST or None, initial=initial)
        form.fields["supplier"].disabled = True
        form.fields["warehouse"].disabled = True
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                services.update_purchase_order(
                    purchase_order.pk,
                    lines=[services.DraftLine(product.pk, quantity) for product, quantity in data["lines"]],
                    expected_on=data["expected_on"],
                    exchange_rate=data["exchange_rate"],
                    notes=data["notes"],
                    actor=request.user,
                )
            except REFUSALS as error:
                add_service_error(form, error)
            else:
                messages.success(request, gettext("Purchase order %(number)s saved.") % {"number": purchase_order})
                return redirect(self.admin_view_url("page", purchase_order.pk))
        return self.form_page(
            request,
            title=gettext("Change purchase order %(number)s") % {"number": purchase_order},
            form=form,
            submit_label=gettext("Save the draft"),
            cancel_url=self.admin_view_url("page", purchase_order.pk),
            intro=gettext("Changing an approved draft withdraws the approval."),
        )

    # Steps --------------------------------------------------------------------------------------

    def step(self, request, po_id, take, done):
        purchase_order = self.purchase_order_or_404(request, po_id)
        if request.method != "POST":
            return redirect(self.admin_view_url("page", purchase_order.pk))
        try:
            take(purchase_order.pk, actor=request.user)
        except REFUSALS as error:
            messages.error(request, refusal_message(error))
        else:
            messages.success(request, done % {"number": purchase_order})
        return redirect(self.admin_view_url("page", purchase_order.pk))

    def approve_view(self, request, po_id):
        return self.step(
            request, po_id, services.approve_purchase_order, gettext("Purchase order %(number)s approved.")
        )

    def send_view(self, request, po_id):
        return self.step(request, po_id, services.send_purchase_order, gettext("Purchase order %(number)s sent."))

    def close_view(self, request, po_id):
        return self.step(request, po_id, services.close_purchase_order, gettext("Purchase order %(number)s closed."))

    def cancel_view(self, request, po_id):
        purchase_order = self.purchase_order_or_404(request, po_id)
        form = CancelForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.cancel_purchase_order(
                    purchase_order.pk, reason=form.cleaned_data["reason"], actor=request.user
                )
            except REFUSALS as error:
                add_service_error(form, error)
            else:
                messages.success(request, gettext("Purchase order %(number)s cancelled.") % {"number": purchase_order})
                return redirect(self.admin_view_url("page", purchase_order.pk))
        return self.render_page(request, purchase_order, cancel_form=form)

    # Receiving ----------------------------------------------------------------------------------

    def require_receiving(self, request, purchase_order):
        require(request.user, Inventory.RECEIVE_STOCK, gettext("Your role may not book goods received."))
        if purchase_order.status not in PurchaseOrder.AWAITING_GOODS:
            messages.error(
                request,
                gettext("Purchase order %(number)s is %(status)s: nothing is received against it.")
                % {"number": purchase_order, "status": purchase_order.get_status_display()},
            )
            return redirect(self.admin_view_url("page", purchase_order.pk))
        return None

    def receive_view(self, request, po_id):
        """One row per line: good and damaged units that arrived, whether no more will come, and
        why the line's total differs from what was ordered."""
        purchase_order = self.purchase_order_or_404(request, po_id)
        refused = self.require_receiving(request, purchase_order)
        if refused:
            return refused
        lines = self.lines_of(purchase_order)
        rows, errors = [], []
        for line in lines:
            prefix = f"line-{line.pk}"
            rows.append(
                {
                    "line": line,
                    "prefix": prefix,
                    "good": request.POST.get(f"{prefix}-good", ""),
                    "damaged": request.POST.get(f"{prefix}-damaged", ""),
                    "reason": request.POST.get(f"{prefix}-reason", line.difference_reason),
                    "short": bool(request.POST.get(f"{prefix}-short")),
                }
            )
        if request.method == "POST":
            receipts = []
            for row in rows:
                numbers = {}
                for field in ("good", "damaged"):
                    text = row[field].strip() or "0"
                    try:
                        numbers[field] = int(text)
                    except ValueError:
                        errors.append(
                            gettext("%(sku)s: enter a whole number of units.") % {"sku": row["line"].product.sku}
                        )
                        numbers[field] = 0
                reason = row["reason"].strip() if row["reason"].strip() != row["line"].difference_reason else ""
                receipts.append(
                    services.LineReceipt(
                        row["line"].pk,
                        good=numbers["good"],
                        damaged=numbers["damaged"],
                        reason=reason,
                        no_more_to_come=row["short"],
                    )
                )
            if not errors:
                try:
                    services.receive_purchase_order(
                        purchase_order.pk, receipts, actor=request.user, reference=request.POST.get("reference", "")
                    )
                except REFUSALS as error:
                    errors.append(refusal_message(error))
                else:
                    messages.success(
                        request, gettext("Goods booked against purchase order %(number)s.") % {"number": purchase_order}
                    )
                    return redirect(self.admin_view_url("page", purchase_order.pk))
        context = self.page_context(
            request,
            gettext("Receive purchase order %(number)s") % {"number": purchase_order},
            purchase_order=purchase_order,
            rows=rows,
            errors=errors,
            reference=request.POST.get("reference", ""),
            page_url=self.admin_view_url("page", purchase_order.pk),
            scan_url=self.admin_view_url("scan", purchase_order.pk),
        )
        return TemplateResponse(request, "admin/inventory/purchaseorder/receive.html", context)

    def scan_view(self, request, po_id):
        """The receiving station: each scan books one unit of the line it finds."""
        purchase_order = self.purchase_order_or_404(request, po_id)
        refused = self.require_receiving(request, purchase_order)
        if refused:
            return refused
        form = ScanForm(request.POST or None)
        scanned = None
        if request.method == "POST" and form.is_valid():
            try:
                scanned = services.receive_scanned(
                    purchase_order.pk,
                    code=form.cleaned_data["code"],
                    damaged=form.cleaned_data["damaged"],
                    actor=request.user,
                )
            except REFUSALS as error:
                add_service_error(form, error)
            else:
                purchase_order.refresh_from_db()
                if purchase_order.status == Status.RECEIVED:
                    messages.success(
                        request, gettext("Purchase order %(number)s is received in full.") % {"number": purchase_order}
                    )
                    return redirect(self.admin_view_url("page", purchase_order.pk))
                form = ScanForm()
        context = self.page_context(
            request,
            gettext("Scan goods for purchase order %(number)s") % {"number": purchase_order},
            purchase_order=purchase_order,
            lines=self.lines_of(purchase_order),
            form=form,
            scanned=scanned,
            page_url=self.admin_view_url("page", purchase_order.pk),
            receive_url=self.admin_view_url("receive", purchase_order.pk),
        )
        return TemplateResponse(request, "admin/inventory/purchaseorder/scan.html", context)

    # Printing -----------------------------------------------------------------------------------

    def print_view(self, request, po_id):
        """The purchase order as the supplier receives it, in the reader's language."""
        purchase_order = self.purchase_order_or_404(request, po_id)
        lines = self.lines_of(purchase_order)
        context = {
            "title": gettext("Purchase order %(number)s") % {"number": purchase_order},
            "purchase_order": purchase_order,
            "lines": [
                {"line": line, "offer": offer, "total": line.quantity * line.unit_cost}
                for line, offer in zip(lines, self.offers_for(purchase_order, lines), strict=True)
            ],
            "total": selectors.purchase_order_total(purchase_order),
            "shop_name": settings.SHOP_NAME,
            "page_url": self.admin_view_url("page", purchase_order.pk),
        }
        return TemplateResponse(request, "admin/inventory/purchaseorder/print.html", context)

    @staticmethod
    def offers_for(purchase_order, lines):
        offers = {
            offer.product_id: offer
            for offer in SupplierProduct.objects.filter(
                supplier=purchase_order.supplier, product_id__in=[line.product_id for line in lines]
            )
        }
        return [offers.get(line.product_id) for line in lines]
