"""The classification's thresholds, one row a manager edits; saving goes through the service."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from .. import services
from ..models import ClassificationSettings


@admin.register(ClassificationSettings)
class ClassificationSettingsAdmin(admin.ModelAdmin):
    """One row of thresholds. Its list is skipped: the section opens the settings themselves."""

    fields = ("period_days", "a_share", "b_share", "dead_after_days")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return redirect("admin:planning_classificationsettings_change", ClassificationSettings.current().pk)

    def save_model(self, request, obj, form, change):
        services.update_classification_settings(
            period_days=obj.period_days,
            a_share=obj.a_share,
            b_share=obj.b_share,
            dead_after_days=obj.dead_after_days,
            actor=request.user,
        )
