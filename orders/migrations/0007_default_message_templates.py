"""The shop's first message templates, in English and Simplified Chinese, for every event and
medium, so a new install tells its customers something sensible from the first order. Templates
a shop has already written or edited are left as they are."""

from django.db import migrations

CONFIRMED_EMAIL_EN = """Hello {{ order.customer.name }},

Thank you for your order. Order {{ order.number }} is confirmed and we are getting it ready to ship.

Total: {{ order.currency }} {{ order.total }}
Delivery to: {{ order.recipient }}, {{ order.province }} {{ order.city }} {{ order.district }} {{ order.address }}

Follow your order at {{ tracking_page_url }}
(you will be asked for the last four digits of your phone number).

{{ shop_name }}"""

CONFIRMED_EMAIL_ZH = """{{ order.customer.name }}，您好：

感谢您的订购！您的订单 {{ order.number }} 已确认，我们正在为您备货。

订单金额：{{ order.currency }} {{ order.total }}
收货信息：{{ order.recipient }}，{{ order.province }}{{ order.city }}{{ order.district }}{{ order.address }}

查看订单进度：{{ tracking_page_url }}
（查询时需输入手机号后四位）

{{ shop_name }}"""

HELD_EMAIL_EN = """Hello {{ order.customer.name }},

Thank you for your order {{ order.number }}. Before we can send it, we need your help:
{% if needs_address %}
- Your delivery address is incomplete. Please send us the full address: province, city and street.{% endif %}{% if needs_phone %}
- We could not read your phone number. Please send us a number the courier can call.{% endif %}{% if needs_payment %}
- The payment we received ({{ order.currency }} {{ order.amount_paid }}) does not match the order total ({{ order.currency }} {{ order.total }}). Please contact us to settle the difference.{% endif %}

Simply reply to this email. We will send your order as soon as we hear from you.

{{ shop_name }}"""

HELD_EMAIL_ZH = """{{ order.customer.name }}，您好：

感谢您的订购！您的订单 {{ order.number }} 还需要您补充以下信息，我们才能为您发货：
{% if needs_address %}
- 收货地址不完整，请告诉我们完整的省、市和详细地址。{% endif %}{% if needs_phone %}
- 您的手机号码无法识别，请提供一个快递员能联系到您的号码。{% endif %}{% if needs_payment %}
- 我们收到的付款（{{ order.currency }} {{ order.amount_paid }}）与订单金额（{{ order.currency }} {{ order.total }}）不符，请联系我们处理差额。{% endif %}

请直接回复本邮件，收到您的信息后我们会尽快为您发货。

{{ shop_name }}"""

SHIPPED_EMAIL_EN = """Hello {{ order.customer.name }},

Good news: your order {{ order.number }} has shipped{% if carrier %} with {{ carrier }}{% endif %}.
{% if tracking_number %}
Tracking number: {{ tracking_number }}{% endif %}{% if tracking_url %}
Track your parcel: {{ tracking_url }}{% endif %}{% if shipment.expected_delivery_on %}
Expected delivery: {{ shipment.expected_delivery_on|date:"l j F" }}{% endif %}

You can also follow your order at {{ tracking_page_url }}
(you will be asked for the last four digits of your phone number).

{{ shop_name }}"""

SHIPPED_EMAIL_ZH = """{{ order.customer.name }}，您好：

您的订单 {{ order.number }} 已发货{% if carrier %}，由{{ carrier }}承运{% endif %}。
{% if tracking_number %}
运单号：{{ tracking_number }}{% endif %}{% if tracking_url %}
物流查询：{{ tracking_url }}{% endif %}{% if shipment.expected_delivery_on %}
预计送达：{{ shipment.expected_delivery_on|date:"n月j日（l）" }}{% endif %}

您也可以在这里查看订单进度：{{ tracking_page_url }}
（查询时需输入手机号后四位）

{{ shop_name }}"""

OUT_FOR_DELIVERY_EMAIL_EN = """Hello {{ order.customer.name }},

Your order {{ order.number }} is out for delivery today{% if carrier %} with {{ carrier }}{% endif %}. Please keep your phone at hand so the courier can reach you.
{% if tracking_url %}
Track your parcel: {{ tracking_url }}
{% endif %}
{{ shop_name }}"""

OUT_FOR_DELIVERY_EMAIL_ZH = """{{ order.customer.name }}，您好：

您的订单 {{ order.number }} 今天正在派送{% if carrier %}（{{ carrier }}）{% endif %}，请保持电话畅通，以便快递员与您联系。
{% if tracking_url %}
物流查询：{{ tracking_url }}
{% endif %}
{{ shop_name }}"""

DELIVERED_EMAIL_EN = """Hello {{ order.customer.name }},

Your parcel for order {{ order.number }}{% if tracking_number %} (tracking number {{ tracking_number }}){% endif %} has been delivered. We hope you enjoy it!

If anything is missing or not right, simply reply to this email and we will sort it out.

{{ shop_name }}"""

DELIVERED_EMAIL_ZH = """{{ order.customer.name }}，您好：

您的订单 {{ order.number }} 的包裹{% if tracking_number %}（运单号 {{ tracking_number }}）{% endif %}已送达，祝您购物愉快！

如果商品有缺失或其他问题，请直接回复本邮件，我们会尽快为您处理。

{{ shop_name }}"""

CANCELLED_EMAIL_EN = """Hello {{ order.customer.name }},

Your order {{ order.number }} has been cancelled.
{% if order.refund_due %}
We will refund the {{ order.currency }} {{ order.refund_due }} you paid, and let you know when the refund is on its way.
{% endif %}
If you did not expect this or have any questions, simply reply to this email.

{{ shop_name }}"""

CANCELLED_EMAIL_ZH = """{{ order.customer.name }}，您好：

您的订单 {{ order.number }} 已取消。
{% if order.refund_due %}
您已支付的 {{ order.currency }} {{ order.refund_due }} 将退还给您，退款办理后我们会再通知您。
{% endif %}
如有疑问，请直接回复本邮件与我们联系。

{{ shop_name }}"""

# (event, medium, language): (subject, body)
DEFAULT_TEMPLATES = {
    ("order_confirmed", "email", "en"): ("Your order {{ order.number }} is confirmed", CONFIRMED_EMAIL_EN),
    ("order_confirmed", "email", "zh-hans"): ("您的订单 {{ order.number }} 已确认", CONFIRMED_EMAIL_ZH),
    ("order_confirmed", "sms", "en"): (
        "", "{{ shop_name }}: order {{ order.number }} is confirmed. We will text you when it ships.",
    ),
    ("order_confirmed", "sms", "zh-hans"): ("", "【{{ shop_name }}】您的订单{{ order.number }}已确认，发货后我们会短信通知您。"),
    ("order_held", "email", "en"): ("We need a few details for order {{ order.number }}", HELD_EMAIL_EN),
    ("order_held", "email", "zh-hans"): ("订单 {{ order.number }} 需要您补充信息", HELD_EMAIL_ZH),
    ("order_held", "sms", "en"): (
        "",
        "{{ shop_name }}: order {{ order.number }} is on hold until we hear from you"
        "{% if needs_address %} (delivery address incomplete){% elif needs_payment %} (payment does not match the total)"
        "{% endif %}. Please contact us.",
    ),
    ("order_held", "sms", "zh-hans"): (
        "",
        "【{{ shop_name }}】您的订单{{ order.number }}"
        "{% if needs_address %}收货地址不完整{% elif needs_payment %}付款金额与订单金额不符{% else %}需要补充信息{% endif %}"
        "，请尽快联系我们，以免耽误发货。",
    ),
    ("order_shipped", "email", "en"): ("Order {{ order.number }} is on its way", SHIPPED_EMAIL_EN),
    ("order_shipped", "email", "zh-hans"): ("您的订单 {{ order.number }} 已发货", SHIPPED_EMAIL_ZH),
    ("order_shipped", "sms", "en"): (
        "",
        "{{ shop_name }}: order {{ order.number }} has shipped{% if carrier %} with {{ carrier }}{% endif %}"
        "{% if tracking_number %}, tracking no. {{ tracking_number }}{% endif %}. "
        "Track it: {% firstof tracking_url tracking_page_url %}",
    ),
    ("order_shipped", "sms", "zh-hans"): (
        "",
        "【{{ shop_name }}】您的订单{{ order.number }}已发货"
        "{% if carrier %}（{{ carrier }}{% if tracking_number %} {{ tracking_number }}{% endif %}）{% endif %}"
        "，查看物流：{% firstof tracking_url tracking_page_url %}",
    ),
    ("out_for_delivery", "email", "en"): ("Order {{ order.number }} is out for delivery", OUT_FOR_DELIVERY_EMAIL_EN),
    ("out_for_delivery", "email", "zh-hans"): ("您的订单 {{ order.number }} 正在派送", OUT_FOR_DELIVERY_EMAIL_ZH),
    ("out_for_delivery", "sms", "en"): (
        "", "{{ shop_name }}: order {{ order.number }} is out for delivery today. Please keep your phone at hand.",
    ),
    ("out_for_delivery", "sms", "zh-hans"): (
        "", "【{{ shop_name }}】您的订单{{ order.number }}正在派送，请保持电话畅通，留意快递员来电。",
    ),
    ("delivered", "email", "en"): ("Order {{ order.number }} has been delivered", DELIVERED_EMAIL_EN),
    ("delivered", "email", "zh-hans"): ("您的订单 {{ order.number }} 已送达", DELIVERED_EMAIL_ZH),
    ("delivered", "sms", "en"): (
        "", "{{ shop_name }}: order {{ order.number }} has been delivered. Thank you for shopping with us!",
    ),
    ("delivered", "sms", "zh-hans"): (
        "", "【{{ shop_name }}】您的订单{{ order.number }}已签收，感谢您的惠顾！如有问题请随时联系我们。",
    ),
    ("order_cancelled", "email", "en"): ("Order {{ order.number }} has been cancelled", CANCELLED_EMAIL_EN),
    ("order_cancelled", "email", "zh-hans"): ("您的订单 {{ order.number }} 已取消", CANCELLED_EMAIL_ZH),
    ("order_cancelled", "sms", "en"): (
        "",
        "{{ shop_name }}: order {{ order.number }} has been cancelled."
        "{% if order.refund_due %} The {{ order.currency }} {{ order.refund_due }} you paid will be refunded.{% endif %}"
        " Questions? Please contact us.",
    ),
    ("order_cancelled", "sms", "zh-hans"): (
        "",
        "【{{ shop_name }}】您的订单{{ order.number }}已取消。"
        "{% if order.refund_due %}您已支付的{{ order.currency }} {{ order.refund_due }}将退还给您。{% endif %}"
        "如有疑问请联系我们。",
    ),
}


def add_default_templates(apps, schema_editor):
    NotificationTemplate = apps.get_model("orders", "NotificationTemplate")
    for (event, medium, language), (subject, body) in DEFAULT_TEMPLATES.items():
        NotificationTemplate.objects.using(schema_editor.connection.alias).get_or_create(
            event=event, medium=medium, language=language, defaults={"subject": subject, "body": body},
        )


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0006_notifications_api_tokens_bulk_jobs"),
    ]

    operations = [
        # Going back leaves the templates: a shop may have edited them since.
        migrations.RunPython(add_default_templates, migrations.RunPython.noop),
    ]
