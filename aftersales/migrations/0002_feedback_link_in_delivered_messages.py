"""The "delivered" messages ask the customer to rate the order through the feedback link. A template
that already uses {{ feedback_url }} (a shop wrote its own) is left as it is."""

from django.db import migrations

LINK_LINES = {
    "en": "How was it? Rate your order: {{ feedback_url }}",
    "zh-hans": "给本次购物打个分：{{ feedback_url }}",
}
SIGNATURE = "{{ shop_name }}"
# A text message stays one paragraph; English sentences are set apart by a space, Chinese ones not.
SMS_SEPARATOR = {"en": " ", "zh-hans": ""}


def with_link(body, medium, language):
    line = LINK_LINES[language]
    if medium == "sms":
        return body.rstrip() + SMS_SEPARATOR[language] + line
    text = body.rstrip()
    # In an email the request comes before the shop's signature, when the message ends with it.
    if text.endswith(SIGNATURE):
        return f"{text[: -len(SIGNATURE)].rstrip()}\n\n{line}\n\n{SIGNATURE}"
    return f"{text}\n\n{line}"


def without_link(body, medium, language):
    line = LINK_LINES[language]
    if medium == "sms":
        return body.replace(SMS_SEPARATOR[language] + line, "")
    return body.replace(f"\n\n{line}", "")


def _delivered_templates(apps, schema_editor):
    NotificationTemplate = apps.get_model("orders", "NotificationTemplate")
    return NotificationTemplate.objects.using(schema_editor.connection.alias).filter(
        event="delivered", medium__in=["email", "sms"], language__in=LINK_LINES,
    )


def add_feedback_link(apps, schema_editor):
    for template in _delivered_templates(apps, schema_editor):
        if "feedback_url" in template.body:
            continue
        template.body = with_link(template.body, template.medium, template.language)
        template.save(update_fields=["body"])


def remove_feedback_link(apps, schema_editor):
    for template in _delivered_templates(apps, schema_editor):
        template.body = without_link(template.body, template.medium, template.language)
        template.save(update_fields=["body"])


class Migration(migrations.Migration):

    dependencies = [
        ("aftersales", "0001_initial"),
        ("orders", "0007_default_message_templates"),
    ]

    operations = [
        migrations.RunPython(add_feedback_link, remove_feedback_link),
    ]
