from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self):
        from core.events import EXPORTS_OFFERED

        from .exports import offered_exports
        from .roles import ensure_roles

        post_migrate.connect(ensure_roles, sender=self, dispatch_uid="orders.ensure_roles")
        EXPORTS_OFFERED.subscribe(offered_exports)
