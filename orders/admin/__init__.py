"""The operator console for orders: the order list and page, the review queue, pick lists and
packing slips, refunds and the reconciliation of payments (`settlement`). The order setup models
(channels, customers, blocklist, intake settings) are in `setup`."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from . import archive, catalogue, notifications, order, review, settlement, setup, stock_buffers, tags  # noqa: F401

admin.site.site_header = _("OrderCycle")
admin.site.site_title = _("OrderCycle console")
admin.site.index_title = _("Back office")
# The console is the whole site ("/" only redirects here), so the header offers no "View site".
admin.site.site_url = None
# Order and stock lists are wide tables; the sections are reached from the header's menu instead.
admin.site.enable_nav_sidebar = False
