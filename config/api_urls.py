"""The channel REST API under /api/: version 1 of the endpoints, its OpenAPI schema and the
interactive docs (Swagger UI from drf-spectacular-sidecar, served by the app itself). Each app
serves its own resources; they are put together here."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from aftersales import api as aftersales_api
from logistics import api as logistics_api
from orders.api import views as order_views

router = SimpleRouter()
router.register("orders", order_views.OrderViewSet, basename="order")
router.register("products", order_views.ProductViewSet, basename="product")
router.register("returns", aftersales_api.ReturnViewSet, basename="return")

v1 = [
    *router.urls,
    path("tracking-events/", logistics_api.TrackingEventsView.as_view(), name="tracking-events"),
]

urlpatterns = [
    path("v1/", include(v1)),
    # The schema documents the API alone, under its full path (not the console or the public pages).
    path(
        "schema/",
        SpectacularAPIView.as_view(patterns=[path("api/v1/", include(v1))]),
        name="api-schema",
    ),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^", order_views.not_found),
]
