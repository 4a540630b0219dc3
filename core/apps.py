from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """What every app shares and no app owns (docs/architecture.md, "The apps")."""

    name = "core"
    verbose_name = _("Core")

    def ready(self):
        from . import lookups
        from .roles import ensure_roles

        lookups.register()

        # The roles are auth's groups: made when auth hears that a migrate finished, which Django
        # says once per migrate, after every app's tables exist.
        post_migrate.connect(ensure_roles, sender=self.apps.get_app_config("auth"), dispatch_uid="core.ensure_roles")
