from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from core.admin import two_factor_view

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/two-factor/", admin.site.admin_view(two_factor_view), name="two-factor"),
    path("admin/", admin.site.urls),
    path("api/", include("config.api_urls")),
    path("", include("logistics.public_urls")),
    path("feedback/", include("aftersales.public_urls")),
]

# Errors Django answers itself: problem details under /api/ and /webhooks/, the usual pages elsewhere.
handler400 = "orders.api.views.bad_request"
handler403 = "orders.api.views.permission_denied"
handler404 = "orders.api.views.page_not_found"
handler500 = "orders.api.views.server_error"
