from django.contrib import admin

from .models import Company, Contact, CustomField, Tag


@admin.register(CustomField)
class CustomFieldAdmin(admin.ModelAdmin):
    list_display = ("label", "entity", "key", "field_type", "required", "position")
    list_filter = ("entity", "field_type")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)


# Contacts and companies are edited in Rapport's own pages, where the services audit every
# change; the admin shows them read-only for support.
class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "email", "lifecycle_stage", "owner", "deleted_at")
    show_full_result_count = False


@admin.register(Company)
class CompanyAdmin(ReadOnlyAdmin):
    list_display = ("name", "domain", "owner", "deleted_at")
    show_full_result_count = False
