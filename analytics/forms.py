from datetime import timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from . import selectors

RANGES = [
    ("today", _("Today")),
    ("7d", _("7 days")),
    ("30d", _("30 days")),
    ("month", _("This month")),
    ("custom", _("Custom")),
]
DEFAULT_RANGE = "30d"
# A longer span would draw more bars than a screen or a printed page can show.
MAX_DAYS = 366


class DashboardFilterForm(forms.Form):
    """The dashboard's filters, read from the query string."""

    range = forms.ChoiceField(label=_("Period"), choices=RANGES, required=False, widget=forms.RadioSelect)
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    channel = forms.ModelChoiceField(
        label=_("Channel"),
        queryset=selectors.channels(),
        required=False,
        empty_label=_("All channels"),
    )
    warehouse = forms.ModelChoiceField(
        label=_("Warehouse"),
        queryset=selectors.warehouses(),
        required=False,
        empty_label=_("All warehouses"),
    )

    def __init__(self, data=None, **kwargs):
        data = data.copy() if data is not None else {}
        if not data.get("range"):
            data["range"] = "custom" if data.get("start") or data.get("end") else DEFAULT_RANGE
        super().__init__(data, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("range") != "custom":
            return cleaned
        start, end = cleaned.get("start"), cleaned.get("end")
        if "start" not in self.errors and not start:
            self.add_error("start", _("Enter the first day of the period."))
        if "end" not in self.errors and not end:
            self.add_error("end", _("Enter the last day of the period."))
        if start and end and end < start:
            self.add_error("end", _("The last day cannot be before the first day."))
        elif start and end and (end - start).days + 1 > MAX_DAYS:
            self.add_error("end", _("Choose at most %(days)s days.") % {"days": MAX_DAYS})
        return cleaned

    def filters(self):
        """The chosen Filters; call after is_valid()."""
        data = self.cleaned_data
        channel, warehouse = data.get("channel"), data.get("warehouse")
        return selectors.Filters(
            period_for(data["range"], start=data.get("start"), end=data.get("end")),
            channel_id=channel.pk if channel else None,
            warehouse_id=warehouse.pk if warehouse else None,
        )


def period_for(range_key, *, start=None, end=None, today=None):
    today = today or selectors.shop_today()
    if range_key == "custom":
        return selectors.Period(start, end)
    if range_key == "month":
        return selectors.Period(today.replace(day=1), today)
    days = {"today": 1, "7d": 7, "30d": 30}[range_key]
    return selectors.Period(today - timedelta(days=days - 1), today)


def default_filters():
    return selectors.Filters(period_for(DEFAULT_RANGE))
