from django import template
from django.urls import reverse

from core.permissions import Planning

from .. import selectors

register = template.Library()


@register.inclusion_tag("admin/planning/run_out_alert.html", takes_context=True)
def run_out_alert(context):
    """The number of run-out warnings for the front page, linking to the replenishment page showing
    them; nothing for users who may not see replenishment."""
    user = context.get("user")
    if user is None or not user.has_perm(Planning.VIEW_REPLENISHMENT):
        return {"run_out_count": None}
    return {
        "run_out_count": selectors.run_out_warnings().count(),
        "replenishment_url": reverse("admin:planning_replenishmentsuggestion_changelist") + "?running_out=1",
    }
