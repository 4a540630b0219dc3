"""Personal data in templates as the person looking may see it (docs/architecture.md, "Personal data")."""

from django import template

from ..privacy import sight_of

register = template.Library()


def _sight(context):
    if "_privacy_sight" not in context.render_context:
        context.render_context["_privacy_sight"] = sight_of(context["request"].user)
    return context.render_context["_privacy_sight"]


@register.simple_tag(takes_context=True)
def shown_name(context, name):
    return _sight(context).shown_name(name or "")


@register.simple_tag(takes_context=True)
def shown_email(context, email):
    return _sight(context).shown_email(email or "")
