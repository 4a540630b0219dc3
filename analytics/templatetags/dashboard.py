"""The console's front page: every role's work queues, and for managers the dashboard."""

from django import template
from django.urls import reverse

from orders import selectors as order_selectors

from .. import dashboard, selectors
from ..forms import DashboardFilterForm, default_filters

register = template.Library()


@register.inclusion_tag("admin/analytics/work_queues.html", takes_context=True)
def all_work_queues(context):
    """The queues that are this user's work, from every app."""
    return {"queues": selectors.work_queues(context["request"].user), "cap": order_selectors.QUEUE_CAP}


@register.inclusion_tag("admin/analytics/dashboard.html", takes_context=True)
def manager_dashboard(context):
    request = context["request"]
    form = DashboardFilterForm(request.GET)
    filters = form.filters() if form.is_valid() else default_filters()
    board = dashboard.build(filters)
    return {
        "request": request,
        "user": request.user,
        "form": form,
        "filters": filters,
        "previous": filters.period.previous(),
        "figures": board.figures,
        "sections": board.sections,
    }


@register.simple_tag(takes_context=True)
def export_url(context, table_key):
    """The Excel download of a dashboard table, made with the filters the page shows."""
    url = reverse("admin:analytics_dashboard_export", args=[table_key])
    query = context["request"].GET.urlencode()
    return f"{url}?{query}" if query else url


@register.filter
def as_text(value, kind):
    """A dashboard value as the page shows it (counts, money, rates, durations; "—" for none)."""
    return dashboard.text(value, kind)
