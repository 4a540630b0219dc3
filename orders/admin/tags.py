"""The tags staff put on orders (docs/architecture.md, "The order list at volume"): managers name
them and choose their colours here; putting them on orders is a bulk action of the order list."""

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.console import ConsolePageMixin

from .. import services
from ..models import OrderTag


class OrderTagForm(forms.ModelForm):
    class Meta:
        model = OrderTag
        fields = ("name", "colour")

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        taken = OrderTag.objects.filter(name__iexact=name)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(_("A tag of this name exists already."))
        return name


@admin.register(OrderTag)
class OrderTagAdmin(ConsolePageMixin, admin.ModelAdmin):
    form = OrderTagForm
    list_display = ("name", "colour_display", "order_count")
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(order_count=Count("taggings"))

    @admin.display(description=_("colour"))
    def colour_display(self, tag):
        return format_html('<span class="oc-tag oc-tag-{}">{}</span>', tag.colour, tag.get_colour_display())

    @admin.display(description=_("orders"), ordering="order_count")
    def order_count(self, tag):
        return tag.order_count

    def save_model(self, request, obj, form, change):
        if change:
            services.update_tag(obj.pk, name=obj.name, colour=obj.colour, actor=request.user)
        else:
            obj.pk = services.create_tag(obj.name, colour=obj.colour, actor=request.user).pk

    def delete_model(self, request, obj):
        services.delete_tag(obj.pk, actor=request.user)

    def delete_queryset(self, request, queryset):
        for tag_id in queryset.values_list("pk", flat=True):
            services.delete_tag(tag_id, actor=request.user)
