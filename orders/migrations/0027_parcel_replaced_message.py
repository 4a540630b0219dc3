"""The message that tells customers a lost parcel's goods are being sent again
(docs/architecture.md, "Lost parcels"), with its first templates in English and Simplified
Chinese, by email and text. Templates a shop has already written are left as they are."""

from django.db import migrations, models

REPLACED_EMAIL_EN = """Hello {{ order.customer.name }},

We are sorry: the carrier has lost parcel {{ tracking_number }} of your order {{ order.number }}.
We are sending the same goods to you again, at no cost to you. You will receive the new tracking
number as soon as the parcel leaves our warehouse.

Follow your order at {{ tracking_page_url }}
(you will be asked for the last four digits of your phone number).

{{ shop_name }}"""

REPLACED_EMAIL_ZH = """{{ order.customer.name }}，您好：

很抱歉，您订单 {{ order.number }} 的包裹 {{ tracking_number }} 已被承运商遗失。
我们将免费为您重新寄出相同的商品，包裹出库后会立即将新的运单号告知您。

查看订单进度：{{ tracking_page_url }}
（查询时需输入手机号后四位）

{{ shop_name }}"""

REPLACED_TEMPLATES = {
    ("parcel_replaced", "email", "en"): ("Your order {{ order.number }}: we are sending it again", REPLACED_EMAIL_EN),
    ("parcel_replaced", "email", "zh-hans"): ("您的订单 {{ order.number }} 将重新寄出", REPLACED_EMAIL_ZH),
    ("parcel_replaced", "sms", "en"): (
        "",
        "{{ shop_name }}: the carrier lost a parcel of order {{ order.number }}. We are sending it again at no cost; a new tracking number follows.",
    ),
    ("parcel_replaced", "sms", "zh-hans"): (
        "",
        "【{{ shop_name }}】很抱歉，订单 {{ order.number }} 的包裹被承运商遗失，我们将免费重新寄出，新运单号随后告知。",
    ),
}


def add_replaced_templates(apps, schema_editor):
    NotificationTemplate = apps.get_model("orders", "NotificationTemplate")
    for (event, medium, language), (subject, body) in REPLACED_TEMPLATES.items():
        NotificationTemplate.objects.using(schema_editor.connection.alias).get_or_create(
            event=event, medium=medium, language=language, defaults={"subject": subject, "body": body}
        )


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0026_order_returned'),
    ]

    operations = [
        migrations.AlterField(
            model_name='notification',
            name='event',
            field=models.CharField(choices=[('order_confirmed', 'Order confirmed'), ('order_held', 'Order held: information needed'), ('order_shipped', 'Order shipped'), ('out_for_delivery', 'Out for delivery'), ('delivered', 'Delivered'), ('order_cancelled', 'Order cancelled'), ('disruption', 'Delivery disruption notice'), ('order_changed', 'Order changed'), ('parcel_replaced', 'Lost parcel sent again')], max_length=24, verbose_name='event'),
        ),
        migrations.AlterField(
            model_name='notificationtemplate',
            name='event',
            field=models.CharField(choices=[('order_confirmed', 'Order confirmed'), ('order_held', 'Order held: information needed'), ('order_shipped', 'Order shipped'), ('out_for_delivery', 'Out for delivery'), ('delivered', 'Delivered'), ('order_cancelled', 'Order cancelled'), ('disruption', 'Delivery disruption notice'), ('order_changed', 'Order changed'), ('parcel_replaced', 'Lost parcel sent again')], max_length=24, verbose_name='event'),
        ),
        migrations.RunPython(add_replaced_templates, migrations.RunPython.noop),
    ]
