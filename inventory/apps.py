from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("Inventory")

    def ready(self):
        """Inventory offers its purchase-order export through core's event (docs/architecture.md, "Events")."""
        from core.events import EXPORTS_OFFERED

        from .exports import offered_exports

        EXPORTS_OFFERED.subscribe(offered_exports)
