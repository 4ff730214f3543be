"""Django admin for the leads app's lists that admins keep (each part registers its own here)."""

from django.contrib import admin

from .models import DisqualifyReason


@admin.register(DisqualifyReason)
class DisqualifyReasonAdmin(admin.ModelAdmin):
    """The reasons a seller picks from when dropping a lead. A reason in use cannot be deleted
    (leads keep it); untick `active` to take it off the list instead."""

    list_display = ("label", "position", "active")
    list_editable = ("position", "active")
    search_fields = ("label",)
