"""Excel/CSV imports of the catalogue and of stock counts, through django-import-export in the
console: a dry run shows every row as new, changed, unchanged or in error (with the column), and
confirming imports all rows or, if any fails, none (one transaction). Headers may be English or
Chinese. Stock counts are booked through `services.record_count`, so each one is a line in the
stock ledger; a count is never written to a stock level directly."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from . import services
from .models import Product, StockLevel, Warehouse
from .spreadsheets import cell_number, cell_text, comparable_header

# How people write yes and no in a spreadsheet.
YES = {"1", "true", "yes", "y", "是", "√", "✓", "x"}
NO = {"0", "false", "no", "n", "否", "×"}


class TextWidget(widgets.CharWidget):
    """Text as typed: whole numbers without “.0”, full-width characters folded, spaces trimmed;
    an empty cell is None where `blank_is_none` (a unique column that may be empty)."""

    def __init__(self, *, blank_is_none=False):
        super().__init__(allow_blank=not blank_is_none)
        self.blank_is_none = blank_is_none

    def clean(self, value, row=None, **kwargs):
        text = cell_text(value)
        if not text:
            return None if self.blank_is_none else ""
        return text


class AmountWidget(widgets.DecimalWidget):
    """An amount, with the float noise of Excel formulas (59.699999999999996) rounded to the cent."""

    def clean(self, value, row=None, **kwargs):
        return super().clean(cell_number(value), row, **kwargs)


class YesNoWidget(widgets.BooleanWidget):
    """Yes or no, in English or Chinese (是/否) or as 1/0; empty keeps the product's default."""

    def clean(self, value, row=None, **kwargs):
        text = cell_text(value).casefold()
        if not text:
            return None
        if text in YES:
            return True
        if text in NO:
            return False
        raise ValueError(_("Write yes or no (是 / 否)."))


class WholeNumberWidget(widgets.IntegerWidget):
    def clean(self, value, row=None, **kwargs):
        text = cell_number(value)
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            raise ValueError(_("Enter a whole number.")) from None
        if not number.is_integer():
            raise ValueError(_("Enter a whole number."))
        return int(number)


class BilingualHeadersMixin:
    """Renames a file's headers to the resource's columns: each column may be headed by its English
    name or its Chinese one, in any case and with spaces around it."""

    chinese_headers = {}

    def before_import(self, dataset, **kwargs):
        names = {}
        for column in self.get_user_visible_fields():
            names[comparable_header(column.column_name)] = column.column_name
            if column.column_name in self.chinese_headers:
                names[comparable_header(self.chinese_headers[column.column_name])] = column.column_name
        dataset.headers = [names.get(comparable_header(header), header) for header in dataset.headers]
        super().before_import(dataset, **kwargs)


class ProductResource(BilingualHeadersMixin, resources.ModelResource):
    """Products by SKU: a new SKU adds a product, a known one updates it; unchanged rows are
    skipped. The model's own validation applies (unique barcode, amounts zero or more)."""

    sku = fields.Field(attribute="sku", column_name="sku", widget=TextWidget())
    name = fields.Field(attribute="name", column_name="name", widget=TextWidget())
    barcode = fields.Field(attribute="barcode", column_name="barcode", widget=TextWidget(blank_is_none=True))
    unit_price = fields.Field(attribute="unit_price", column_name="unit_price", widget=AmountWidget())
    cost = fields.Field(attribute="cost", column_name="cost", widget=AmountWidget(), default=None)
    weight_kg = fields.Field(attribute="weight_kg", column_name="weight_kg", widget=AmountWidget())
    fragile = fields.Field(attribute="fragile", column_name="fragile", widget=YesNoWidget(), default=False)
    active = fields.Field(attribute="active", column_name="active", widget=YesNoWidget(), default=True)

    chinese_headers = {
        "sku": "SKU",
        "name": "名称",
        "barcode": "条码",
        "unit_price": "单价",
        "cost": "成本",
        "weight_kg": "重量",
        "fragile": "易碎",
        "active": "在售",
    }

    class Meta:
        model = Product
        fields = ("sku", "name", "barcode", "unit_price", "cost", "weight_kg", "fragile", "active")
        import_id_fields = ("sku",)
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
        use_transactions = True

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        # A column the file does not have leaves the product's value as it is.
        if field.column_name in row:
            super().import_field(field, instance, row, is_m2m=is_m2m, **kwargs)


class StockCountResource(BilingualHeadersMixin, resources.ModelResource):
    """What a stock count found on the shelf, per warehouse and SKU. Each row is booked with
    `services.record_count` (the difference goes into the ledger as a count); the preview shows
    on hand before and after. A product the warehouse never held gets its stock level."""

    warehouse = fields.Field(
        attribute="warehouse", column_name="warehouse", widget=widgets.ForeignKeyWidget(Warehouse, "code")
    )
    sku = fields.Field(attribute="product", column_name="sku", widget=widgets.ForeignKeyWidget(Product, "sku"))
    # Shown as the stock level's on-hand quantity, so the preview reads "12 → 10"; the row is
    # never saved as it is: save_instance books the count through the ledger.
    counted = fields.Field(attribute="on_hand", column_name="counted", widget=WholeNumberWidget())
    reference = fields.Field(column_name="reference", widget=TextWidget())

    chinese_headers = {"warehouse": "仓库", "sku": "SKU", "counted": "盘点数量", "reference": "盘点单号"}

    class Meta:
        model = StockLevel
        fields = ("warehouse", "sku", "counted", "reference")
        import_id_fields = ("warehouse", "sku")
        skip_unchanged = True
        report_skipped = True
        use_transactions = True

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self.warehouses = {w.code.casefold(): w for w in Warehouse.objects.all()}
        self.products = {p.sku: p for p in Product.objects.all()}

    def before_import_row(self, row, **kwargs):
        """Name what is wrong with a row's keys and count in its columns, before anything is looked up."""
        errors = {}
        warehouse = self.warehouses.get(cell_text(row.get("warehouse")).casefold())
        if warehouse is None:
            errors["warehouse"] = [_("Unknown warehouse “%(code)s”.") % {"code": cell_text(row.get("warehouse"))}]
        else:
            row["warehouse"] = warehouse.code
        sku = cell_text(row.get("sku"))
        if sku not in self.products:
            errors["sku"] = [_("Unknown SKU “%(sku)s”.") % {"sku": sku}]
        else:
            row["sku"] = sku
        try:
            counted = WholeNumberWidget().clean(row.get("counted"))
        except ValueError as error:
            errors["counted"] = [str(error)]
        else:
            if counted is None or counted < 0:
                errors["counted"] = [_("Enter the units counted: a whole number, zero or more.")]
        if errors:
            raise ValidationError(errors)

    def save_instance(self, instance, is_create, row, **kwargs):
        level = services.stock_level_for(instance.product, instance.warehouse) if is_create else instance
        reference = cell_text(row.get("reference")) or (
            _("Count import %(file)s") % {"file": kwargs.get("file_name", "")}
        )
        services.record_count(
            stock_level_id=level.pk, counted=instance.on_hand, actor=kwargs.get("user"), reference=reference[:100]
        )
