"""The stock console: products, warehouses, stock levels with their ledger, and the stock bookings
(receive, adjust, count, release from quarantine, write off) as pages of their own. Quantities
change only through inventory.services."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import F, OuterRef
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _

from core.console import ConsolePageMixin, ReadOnlyAdminMixin
from core.forms import add_service_error
from core.permissions import Inventory, require
from core.spreadsheets.console import SpreadsheetImportMixin

from .. import selectors, services
from ..forms import AdjustForm, CountForm, ReceiveForm, ReceiveNewForm
from ..importers import PRODUCT_IMPORT, STOCK_COUNT_IMPORT, product_template, stock_count_template
from ..models import BundleComponent, Product, StockLevel, StockMovement, Warehouse

LEDGER_LINES_SHOWN = 20


class QuarantineForm(forms.Form):
    """Units leaving quarantine: released for sale, or written off."""

    quantity = forms.IntegerField(label=_("Units"), min_value=1)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=255,
        help_text=_("Kept in the stock ledger, for example “repaired, box replaced” or “broken beyond repair”."),
        error_messages={"required": _("Give a reason; it is kept in the stock ledger.")},
    )
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)


def signed(number):
    return f"{number:+d}" if number else "0"


class StockLevelInline(admin.TabularInline):
    """A product's stock in each warehouse, for reading: bookings happen on the stock level page."""

    model = StockLevel
    fields = readonly_fields = (
        "warehouse",
        "bin_location",
        "on_hand",
        "reserved",
        "available",
        "quarantined",
        "in_transit",
        "reorder_point",
    )
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("available"))
    def available(self, level):
        return level.available

    @admin.display(description=_("in transit"))
    def in_transit(self, level):
        """Units sent to this warehouse by transfers not received yet."""
        return level.in_transit_qty or "—"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("warehouse")
            .annotate(
                in_transit_qty=Coalesce(selectors.in_transit_to(OuterRef("product_id"), OuterRef("warehouse_id")), 0)
            )
        )


class BaseBundleComponentFormSet(forms.BaseInlineFormSet):
    """A bundle's components: real products only (no bundle inside a bundle, not the bundle itself),
    each once, each with a positive quantity; and a product inside a bundle cannot become one."""

    def clean(self):
        super().clean()
        bundle = self.instance
        chosen = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.cleaned_data.get("component")
        ]
        if not chosen:
            return
        if bundle.pk and BundleComponent.objects.filter(component=bundle).exists():
            raise ValidationError(_("This product is a component of a bundle, so it cannot be a bundle itself."))
        seen = set()
        for data in chosen:
            component = data["component"]
            if bundle.pk and component.pk == bundle.pk:
                raise ValidationError(_("A bundle cannot be its own component."))
            if BundleComponent.objects.filter(bundle=component).exists():
                raise ValidationError(
                    _("%(sku)s is a bundle itself; a bundle holds real products only.") % {"sku": component.sku}
                )
            if component.pk in seen:
                raise ValidationError(_("%(sku)s is listed twice.") % {"sku": component.sku})
            seen.add(component.pk)


class BundleComponentForm(forms.ModelForm):
    class Meta:
        model = BundleComponent
        fields = ("component", "quantity")

    def clean_quantity(self):
        quantity = self.cleaned_data["quantity"]
        if quantity is None or quantity < 1:
            raise ValidationError(_("Enter a quantity of at least 1."))
        return quantity


BundleComponentFormSet = forms.inlineformset_factory(
    Product,
    BundleComponent,
    form=BundleComponentForm,
    formset=BaseBundleComponentFormSet,
    fk_name="bundle",
    extra=0,
)


class BundleComponentInline(admin.TabularInline):
    """A bundle's components: a product with components is a bundle, sold as one SKU and expanded
    into them at intake (docs/architecture.md, "Bundles, gifts and channel SKUs")."""

    model = BundleComponent
    fk_name = "bundle"
    form = BundleComponentForm
    formset = BaseBundleComponentFormSet
    autocomplete_fields = ("component",)
    extra = 0
    verbose_name = _("component of this bundle")
    verbose_name_plural = _("bundle components (leave empty for a product of its own)")


@admin.register(Product)
class ProductAdmin(SpreadsheetImportMixin, admin.ModelAdmin):
    spreadsheet_import = PRODUCT_IMPORT
    import_template = staticmethod(product_template)
    import_preview_columns = (_("SKU"), _("Changes"))
    import_intro = _(
        "One row per product. A new SKU adds a product, a known SKU updates it; columns the file "
        "leaves out keep their values. fragile and active take yes or no (是 / 否)."
    )
    change_list_template = "admin/inventory/product/change_list.html"
    list_display = ("sku", "name", "barcode", "unit_price", "weight_kg", "fragile", "active")
    list_filter = ("active", "fragile")
    search_fields = ("sku", "barcode", "name")
    readonly_fields = ("created_at", "bundle_available")
    inlines = [BundleComponentInline, StockLevelInline]

    @admin.display(description=_("bundles available"))
    def bundle_available(self, product):
        """For a bundle: how many could be sold now, from its components' stock."""
        available = selectors.bundle_availability([product.pk]) if product.pk else {}
        return available.get(product.pk, "—")


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "priority", "active", "picking_paused_because", "reservations_paused_because")
    list_filter = ("active",)
    search_fields = ("code", "name")
    # An incident pauses and resumes a warehouse's work (docs/architecture.md, "Incidents").
    readonly_fields = ("picking_paused_because", "reservations_paused_because")


class LowStockFilter(admin.SimpleListFilter):
    title = _("stock")
    parameter_name = "low_stock"

    def lookups(self, request, model_admin):
        return [("yes", _("Low stock (available at or below reorder point)"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=selectors.low_stock().values("pk"))
        return queryset


def low_stock_url():
    return reverse("admin:inventory_stocklevel_changelist") + "?" + urlencode({LowStockFilter.parameter_name: "yes"})


@admin.register(StockLevel)
class StockLevelAdmin(SpreadsheetImportMixin, ConsolePageMixin, admin.ModelAdmin):
    spreadsheet_import = STOCK_COUNT_IMPORT
    import_template = staticmethod(stock_count_template)
    import_preview_columns = (_("Warehouse"), _("SKU"), _("On hand"))
    import_intro = _(
        "One row per warehouse and SKU with the units counted on the shelf. Each difference to the "
        "books is booked as a stock count in the ledger; a product new to a warehouse gets its stock "
        "level. The reference is optional."
    )
    list_filter = ("warehouse", LowStockFilter)
    search_fields = ("product__sku", "product__barcode", "product__name", "bin_location")
    list_select_related = ("product", "warehouse")
    fieldsets = (
        (None, {"fields": ("product", "warehouse")}),
        (
            _("Quantities"),
            {
                "fields": ("on_hand", "reserved", "available_quantity", "quarantined", "in_transit"),
                "description": _(
                    "Quantities change only through receipts, adjustments, counts and orders, "
                    "so the stock ledger always adds up."
                ),
            },
        ),
        (_("Storage"), {"fields": ("bin_location", "reorder_point")}),
    )
    readonly_fields = ("product", "warehouse", "on_hand", "reserved", "available_quantity", "quarantined", "in_transit")
    change_form_template = "admin/inventory/stocklevel/change_form.html"
    change_list_template = "admin/inventory/stocklevel/change_list.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                available_qty=F("on_hand") - F("reserved"),
                in_transit_qty=Coalesce(selectors.in_transit_to(OuterRef("product_id"), OuterRef("warehouse_id")), 0),
            )
        )

    @admin.display(description=_("in transit"), ordering="in_transit_qty")
    def in_transit(self, level):
        """Units sent here by transfers not received yet: on hand nowhere meanwhile."""
        units = getattr(level, "in_transit_qty", 0)
        if not units:
            return "—"
        return format_html(
            '<a href="{}?{}">{}</a>',
            reverse("admin:inventory_transfer_changelist"),
            urlencode({"status__exact": "in_transit", "destination__id__exact": level.warehouse_id}),
            units,
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("available"), ordering="available_qty")
    def available_quantity(self, level):
        if level.available <= level.reorder_point:
            return format_html(
                '<span class="stock-low" title="{}">{}</span>', _("At or below the reorder point"), level.available
            )
        return level.available

    @admin.display(description=_("product"), ordering="product__sku")
    def product_display(self, level):
        return format_html(
            '<strong>{}</strong><br><span class="quiet">{}</span>', level.product.sku, level.product.name
        )

    @admin.display(description=_("warehouse"), ordering="warehouse__code")
    def warehouse_code(self, level):
        return level.warehouse.code

    def get_list_display(self, request):
        return (
            "product_display",
            "warehouse_code",
            "bin_location",
            "on_hand",
            "reserved",
            "available_quantity",
            "quarantined",
            "in_transit",
            "reorder_point",
            self._bookings_column(request),
        )

    def _bookings_column(self, request):
        back = urlencode({"next": request.get_full_path()})

        @admin.display(description=_("book"))
        def bookings(level):
            return format_html_join(
                " · ",
                '<a href="{}?{}">{}</a>',
                (
                    (reverse(f"admin:inventory_stocklevel_{name}", args=[level.pk]), back, label)
                    for name, label in self.allowed_bookings(request, level)
                ),
            )

        return bookings

    BOOKINGS = (
        ("receive", Inventory.RECEIVE_STOCK, _("Receive")),
        ("adjust", Inventory.ADJUST_STOCK, _("Adjust")),
        ("count", Inventory.COUNT_STOCK, _("Count")),
    )
    # Offered only while the level holds units in quarantine.
    QUARANTINE_BOOKINGS = (
        ("release", Inventory.ADJUST_STOCK, _("Release from quarantine")),
        ("write_off", Inventory.ADJUST_STOCK, _("Write off")),
    )

    def allowed_bookings(self, request, level):
        bookings = self.BOOKINGS + (self.QUARANTINE_BOOKINGS if level.quarantined else ())
        return [(name, label) for name, permission, label in bookings if request.user.has_perm(permission)]

    def save_model(self, request, obj, form, change):
        services.set_storage(
            stock_level_id=obj.pk,
            bin_location=form.cleaned_data["bin_location"],
            reorder_point=form.cleaned_data["reorder_point"],
            actor=request.user,
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["bookings"] = [
                (reverse(f"admin:inventory_stocklevel_{name}", args=[obj.pk]), label)
                for name, label in self.allowed_bookings(request, obj)
            ]
            if request.user.has_perm(Inventory.VIEW_STOCKMOVEMENT):
                context["ledger"] = obj.movements.select_related("actor")[:LEDGER_LINES_SHOWN]
                context["ledger_url"] = (
                    reverse("admin:inventory_stockmovement_changelist")
                    + "?"
                    + urlencode({"stock_level__id__exact": obj.pk})
                )
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_receive": request.user.has_perm(Inventory.RECEIVE_STOCK)}
        return super().changelist_view(request, extra_context=extra_context)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("receive/", view(self.receive_new_view), name="inventory_stocklevel_receive_new"),
            path("<int:stock_level_id>/receive/", view(self.receive_view), name="inventory_stocklevel_receive"),
            path("<int:stock_level_id>/adjust/", view(self.adjust_view), name="inventory_stocklevel_adjust"),
            path("<int:stock_level_id>/count/", view(self.count_view), name="inventory_stocklevel_count"),
            path("<int:stock_level_id>/release/", view(self.release_view), name="inventory_stocklevel_release"),
            path("<int:stock_level_id>/write-off/", view(self.write_off_view), name="inventory_stocklevel_write_off"),
        ] + super().get_urls()

    def _level(self, stock_level_id):
        return get_object_or_404(StockLevel.objects.select_related("product", "warehouse"), pk=stock_level_id)

    def _back_url(self, request, level):
        """Where a booking page returns to: the list it was opened from, else the stock level."""
        target = request.GET.get("next", "")
        if url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return target
        if level is None:
            return reverse("admin:inventory_stocklevel_changelist")
        return reverse("admin:inventory_stocklevel_change", args=[level.pk])

    def _done(self, request, level):
        return redirect(self._back_url(request, level))

    def _page(self, request, *, title, form, level=None, intro="", submit_label):
        context = {
            **self.page_context(request, title),
            "form": form,
            "level": level,
            "intro": intro,
            "submit_label": submit_label,
            "media": self.media + form.media,
            "cancel_url": self._back_url(request, level),
        }
        return TemplateResponse(request, "admin/inventory/stocklevel/booking.html", context)

    def receive_view(self, request, stock_level_id):
        require(request.user, Inventory.RECEIVE_STOCK)
        level = self._level(stock_level_id)
        form = ReceiveForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.receive(stock_level_id=level.pk, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(
                    request,
                    _("Received %(quantity)d × %(level)s.")
                    % {"quantity": form.cleaned_data["quantity"], "level": level},
                )
                return self._done(request, level)
        return self._page(
            request,
            title=_("Receive goods"),
            form=form,
            level=level,
            intro=_("Book goods that arrived at the warehouse."),
            submit_label=_("Book receipt"),
        )

    def receive_new_view(self, request):
        require(request.user, Inventory.RECEIVE_STOCK)
        form = ReceiveNewForm(request.POST or None, initial={"product": request.GET.get("product")})
        if request.method == "POST" and form.is_valid():
            data = dict(form.cleaned_data)
            product, warehouse = data.pop("product"), data.pop("warehouse")
            try:
                level = services.receive_at(product=product, warehouse=warehouse, actor=request.user, **data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(
                    request, _("Received %(quantity)d × %(level)s.") % {"quantity": data["quantity"], "level": level}
                )
                return redirect("admin:inventory_stocklevel_change", level.pk)
        return self._page(
            request,
            title=_("Receive goods"),
            form=form,
            intro=_(
                "Book goods for any product and warehouse; a product new to the warehouse gets its stock level here."
            ),
            submit_label=_("Book receipt"),
        )

    def adjust_view(self, request, stock_level_id):
        require(request.user, Inventory.ADJUST_STOCK)
        level = self._level(stock_level_id)
        form = AdjustForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.adjust(stock_level_id=level.pk, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(
                    request,
                    _("%(level)s adjusted by %(change)s: %(reason)s")
                    % {
                        "level": level,
                        "change": signed(form.cleaned_data["change"]),
                        "reason": form.cleaned_data["reason"],
                    },
                )
                return self._done(request, level)
        return self._page(
            request,
            title=_("Adjust stock"),
            form=form,
            level=level,
            intro=_("Correct the units on hand, for damage, loss or a booking error."),
            submit_label=_("Book adjustment"),
        )

    def count_view(self, request, stock_level_id):
        require(request.user, Inventory.COUNT_STOCK)
        level = self._level(stock_level_id)
        form = CountForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            counted = form.cleaned_data["counted"]
            try:
                services.record_count(stock_level_id=level.pk, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                difference = counted - level.on_hand
                messages.success(
                    request,
                    _("Count of %(level)s recorded: %(counted)d on the shelf (%(difference)s).")
                    % {"level": level, "counted": counted, "difference": signed(difference)},
                )
                return self._done(request, level)
        return self._page(
            request,
            title=_("Count stock"),
            form=form,
            level=level,
            intro=_("Enter what is on the shelf now; reserved units are included."),
            submit_label=_("Record count"),
        )

    def release_view(self, request, stock_level_id):
        return self._leave_quarantine(
            request,
            stock_level_id,
            services.release_from_quarantine,
            title=_("Release from quarantine"),
            intro=_("Quarantined units found fit to sell go back on hand, available for orders again."),
            submit_label=_("Release units"),
            done=_("%(quantity)d × %(level)s released from quarantine: %(reason)s"),
        )

    def write_off_view(self, request, stock_level_id):
        return self._leave_quarantine(
            request,
            stock_level_id,
            services.write_off_quarantined,
            title=_("Write off quarantined goods"),
            intro=_("Quarantined units that will never be sold leave the books."),
            submit_label=_("Write off units"),
            done=_("%(quantity)d × %(level)s written off: %(reason)s"),
        )

    def _leave_quarantine(self, request, stock_level_id, service, *, title, intro, submit_label, done):
        require(request.user, Inventory.ADJUST_STOCK)
        level = self._level(stock_level_id)
        form = QuarantineForm(request.POST or None, initial={"quantity": level.quarantined or None})
        if request.method == "POST" and form.is_valid():
            try:
                service(stock_level_id=level.pk, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(
                    request,
                    done
                    % {
                        "quantity": form.cleaned_data["quantity"],
                        "level": level,
                        "reason": form.cleaned_data["reason"],
                    },
                )
                return self._done(request, level)
        return self._page(request, title=title, form=form, level=level, intro=intro, submit_label=submit_label)


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The ledger, read-only: every line was written by a service and is never changed."""

    list_display = (
        "created_at",
        "stock_level_link",
        "product_name",
        "kind",
        "on_hand",
        "reserved",
        "quarantine",
        "reference_link",
        "reason",
        "actor",
    )
    list_filter = ("kind", "stock_level__warehouse")
    search_fields = ("reference", "stock_level__product__sku")
    list_select_related = (
        "stock_level__product",
        "stock_level__warehouse",
        "actor",
        "purchase_order_line__purchase_order",
    )
    show_full_result_count = False
    fields = (
        "created_at",
        "stock_level_link",
        "kind",
        "on_hand",
        "reserved",
        "quarantine",
        "reference_link",
        "reason",
        "actor",
    )
    readonly_fields = fields

    @admin.display(description=_("reference"), ordering="reference")
    def reference_link(self, movement):
        """The reference, and the purchase order a receipt was booked against, linked to its page."""
        line = movement.purchase_order_line
        if line is None:
            return movement.reference
        purchase_order = line.purchase_order
        page = reverse("admin:inventory_purchaseorder_page", args=[purchase_order.pk])
        if movement.reference == purchase_order.number:
            return format_html('<a href="{}">{}</a>', page, purchase_order)
        return format_html('{} · <a href="{}">{}</a>', movement.reference, page, purchase_order)

    @admin.display(description=_("stock level"), ordering="stock_level__product__sku")
    def stock_level_link(self, movement):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:inventory_stocklevel_change", args=[movement.stock_level_id]),
            movement.stock_level,
        )

    @admin.display(description=_("product"))
    def product_name(self, movement):
        return movement.stock_level.product.name

    @admin.display(description=_("on-hand change"), ordering="on_hand_change")
    def on_hand(self, movement):
        return signed(movement.on_hand_change)

    @admin.display(description=_("reserved change"), ordering="reserved_change")
    def reserved(self, movement):
        return signed(movement.reserved_change)

    @admin.display(description=_("quarantine change"), ordering="quarantined_change")
    def quarantine(self, movement):
        return signed(movement.quarantined_change)
