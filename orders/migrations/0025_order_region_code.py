from django.db import migrations, models


def provinces_by_their_official_names(apps, schema_editor):
    """Orders stored before regions were read against China's divisions keep their province as it
    was written; one update per way of writing it gives each its official name, so “广东” and
    “广东省” are one province in every count (docs/architecture.md, "Addresses")."""
    from core.regions import province_name

    Order = apps.get_model("orders", "Order")
    written = Order.objects.order_by().values_list("province", flat=True).distinct()
    for province in list(written):
        official = province_name(province)
        if official != province:
            Order.objects.filter(province=province).update(province=official)


class Migration(migrations.Migration):
    dependencies = [("orders", "0024_import_profiles")]

    operations = [
        migrations.AddField(
            model_name="order",
            name="region_code",
            field=models.CharField(blank=True, editable=False, max_length=6, null=True, verbose_name="region code"),
        ),
        migrations.RunPython(provinces_by_their_official_names, migrations.RunPython.noop),
    ]
