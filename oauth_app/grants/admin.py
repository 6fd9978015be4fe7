"""The admin of machine and enterprise clients and of trusted identity providers (imported by oauth_app.admin).

Adding a machine client here does what `manage.py create_client` does: a new confidential client, enabled for one
grant, whose secret is shown once on the page that answers the creation. No page shows a secret afterwards.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from . import services
from .models import FederatedIdentity, MachineClient, TrustedIdentityProvider


def _jwks_uri_field():
    help_text = MachineClient._meta.get_field("jwks_uri").help_text
    return forms.URLField(max_length=500, required=False, assume_scheme="https", help_text=help_text)


class MachineClientCreationForm(forms.ModelForm):
    jwks_uri = _jwks_uri_field()
    name = forms.CharField(max_length=255, help_text="Shown in the admin and on people's connected apps page")
    scope = forms.CharField(
        max_length=1000, required=False, help_text="Space-separated; empty: every scope the chosen servers offer"
    )

    class Meta:
        model = MachineClient
        fields = ["name", "grant_type", "resources", "scope", "auth_method", "jwks_uri", "jwks"]

    def clean(self):
        cleaned = super().clean()
        resources = cleaned.get("resources")
        if resources:
            try:
                cleaned["scope"] = services.granted_scope(list(resources), cleaned.get("scope") or None)
            except services.Refused as refused:
                raise ValidationError({"scope": str(refused)}) from refused
            self.instance.scope = cleaned["scope"]
        return cleaned


class MachineClientChangeForm(forms.ModelForm):
    jwks_uri = _jwks_uri_field()

    class Meta:
        model = MachineClient
        fields = ["resources", "scope", "auth_method", "jwks_uri", "jwks"]

    def clean(self):
        cleaned = super().clean()
        resources = cleaned.get("resources")
        if resources:
            try:
                services.granted_scope(list(resources), cleaned.get("scope") or "")
            except services.Refused as refused:
                raise ValidationError({"scope": str(refused)}) from refused
        return cleaned


@admin.register(MachineClient)
class MachineClientAdmin(admin.ModelAdmin):
    """Machine clients (client credentials) and enterprise clients (ID-JAG), with their servers and last use."""

    list_display = ("client", "client_id", "grant_type", "auth_method", "servers", "scope", "live_tokens", "last_used")
    list_filter = ("grant_type", "auth_method")
    search_fields = ("application__name", "application__client_id")
    list_select_related = ("application",)
    readonly_fields = ("client_link", "grant_type", "created", "created_by", "last_used")

    def get_queryset(self, request):
        live = Q(application__accesstoken__expires__gt=timezone.now())
        return (
            super()
            .get_queryset(request)
            .annotate(live_token_count=Count("application__accesstoken", filter=live, distinct=True))
            .prefetch_related("resources")
        )

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = MachineClientCreationForm if obj is None else MachineClientChangeForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return MachineClientCreationForm.Meta.fields
        return ["client_link", "grant_type", *MachineClientChangeForm.Meta.fields, "created", "created_by", "last_used"]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    @admin.display(description="client", ordering="application__name")
    def client(self, obj):
        return obj.application.name or obj.application.client_id

    @admin.display(description="client id", ordering="application__client_id")
    def client_id(self, obj):
        return obj.application.client_id

    @admin.display(description="client")
    def client_link(self, obj):
        url = reverse("admin:oauth2_provider_application_change", args=[obj.application_id])
        return format_html('<a href="{}">{}</a> (<code>{}</code>)', url, obj.application, obj.application.client_id)

    @admin.display(description="MCP servers")
    def servers(self, obj):
        return ", ".join(resource.uri for resource in obj.resources.all())

    @admin.display(description="live tokens", ordering="live_token_count")
    def live_tokens(self, obj):
        return obj.live_token_count

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            services.machine_client_update(machine=obj, changed=form.changed_data, by=request.user)
            return
        obj.created_by = request.user
        obj._secret = services.machine_client_register(
            machine=obj, name=form.cleaned_data["name"], resources=form.cleaned_data["resources"], by="admin"
        )

    def delete_model(self, request, obj):
        services.machine_client_delete(machine=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for machine in queryset.select_related("application"):
            services.machine_client_delete(machine=machine, by=request.user)

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "machine": obj,
            "client_secret": obj._secret,
            "title": "Client created",
        }
        return TemplateResponse(request, "oauth_app/admin/machine_client_created.html", context)


class FederatedIdentityInline(admin.TabularInline):
    """The people of this IdP linked to local users; staff link one by hand here (a staff account, for one)."""

    model = FederatedIdentity
    extra = 0
    fields = ("subject", "user", "created", "last_used")
    readonly_fields = ("created", "last_used")
    raw_id_fields = ("user",)


@admin.register(TrustedIdentityProvider)
class TrustedIdentityProviderAdmin(admin.ModelAdmin):
    """Identity providers whose ID-JAGs are accepted, with each one's policy for people it names the first time."""

    list_display = (
        "name",
        "issuer",
        "enabled",
        "link_by_email",
        "provision_users",
        "allow_refresh",
        "people",
        "last_used",
    )
    list_filter = ("enabled", "link_by_email", "provision_users", "allow_refresh")
    search_fields = ("name", "issuer")
    readonly_fields = ("created", "last_used")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fields = (
        "issuer",
        "name",
        "jwks_uri",
        "jwks",
        "link_by_email",
        "provision_users",
        "allow_refresh",
        "enabled",
        "created",
        "last_used",
    )
    inlines = [FederatedIdentityInline]
    actions = ["disable_and_revoke"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(people_count=Count("identities"))

    @admin.display(description="linked people", ordering="people_count")
    def people(self, obj):
        return obj.people_count

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.identity_provider_recorded(identity_provider=obj, created=not change, by=request.user)

    @admin.action(description="Stop trusting the selected identity providers (and revoke the tokens they granted)")
    def disable_and_revoke(self, request, queryset):
        count = sum(services.identity_provider_disable(identity_provider=idp, by=request.user) for idp in queryset)
        self.message_user(request, f"Disabled {queryset.count()} identity provider(s); revoked {count} token(s).")
        messages.info(request, "Their ID-JAGs and refresh tokens are refused from now on.")
