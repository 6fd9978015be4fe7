from django.contrib import admin

from .models import ProtectedResource


@admin.register(ProtectedResource)
class ProtectedResourceAdmin(admin.ModelAdmin):
    list_display = ("name", "uri", "introspection_client", "created")
    search_fields = ("name", "uri")
    raw_id_fields = ("introspection_client",)
