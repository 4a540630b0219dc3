"""Console pieces every app's admin shares (inventory is the app all others may import)."""


class ReadOnlyAdminMixin:
    """A ModelAdmin whose rows change only through services: nothing is added, edited or deleted
    through Django's own forms; custom views on the admin call the services instead."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
