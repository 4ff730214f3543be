"""Admin pages: admins tune the follow-up rules and define cadences here."""

from django.contrib import admin

from .models import Cadence, CadenceEnrolment, CadenceStep, FollowUpRule, Task


@admin.register(FollowUpRule)
class FollowUpRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "enabled", "days", "priority", "last_run_at", "last_created")
    list_editable = ("enabled", "days")
    readonly_fields = ("kind", "last_run_at", "last_created")

    def save_model(self, request, obj, form, change):
        # Through the service: settings are checked and the change is audited.
        from .services.rules import update_rule

        update_rule(actor=request.user, rule=obj, data={name: getattr(obj, name) for name in
                                                        ("enabled", "days", "settings", "priority")}, source="web")

    def has_add_permission(self, request):
        return False  # one row per kind, shipped by the migration

    def has_delete_permission(self, request, obj=None):
        return False


class CadenceStepInline(admin.TabularInline):
    model = CadenceStep
    extra = 1


@admin.register(Cadence)
class CadenceAdmin(admin.ModelAdmin):
    list_display = ("name", "active", "created_at")
    inlines = [CadenceStepInline]


@admin.register(CadenceEnrolment)
class CadenceEnrolmentAdmin(admin.ModelAdmin):
    list_display = ("contact", "cadence", "status", "next_position", "next_step_at", "stop_reason")
    list_filter = ("status", "cadence")
    raw_id_fields = ("contact", "owner", "enrolled_by")


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("title", "assignee", "status", "due_at", "origin", "rule")
    list_filter = ("status", "origin", "rule")
    raw_id_fields = ("assignee", "contact", "company", "deal", "lead", "previous", "created_by", "completed_by",
                     "enrolment")
