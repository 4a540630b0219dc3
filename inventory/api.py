"""Products as the channel API shows them: what is on sale and how much of it can still be sold.

The viewset carries no authentication of its own: `orders.api` puts it behind the channels' tokens
(inventory knows nothing of channels)."""

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from rest_framework import mixins, serializers, viewsets

from .models import Product
from .selectors import products_with_available_stock


class ProductSerializer(serializers.ModelSerializer):
    available = serializers.IntegerField(
        read_only=True,
        help_text=_(
            "Units that can still be ordered: on hand minus reserved, over all active warehouses, less the "
            "stock kept back from the one asking; for a bundle, as many as its components make."
        ),
    )

    class Meta:
        model = Product
        fields = ("sku", "name", "barcode", "unit_price", "weight_kg", "fragile", "available")
        read_only_fields = fields


class SkuListFilter(filters.BaseInFilter, filters.CharFilter):
    pass


class ProductFilter(filters.FilterSet):
    sku = SkuListFilter(field_name="sku", help_text=_("One SKU or several, separated by commas."))

    class Meta:
        model = Product
        fields = ("sku",)


class ProductViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Products on sale with their available stock."""

    serializer_class = ProductSerializer
    filterset_class = ProductFilter

    def get_queryset(self):
        return products_with_available_stock()
