"""The admin: clients with how they registered, their use and live tokens; resources, initial access tokens,
consents and the audit log. No page shows a secret or a token value (an initial access token is shown once, on
the page that answers its creation, and never stored). Machine and enterprise clients and trusted identity
providers are in grants/admin.py."""

from django.contrib import admin, messages
from django.db.models import Count, Max, Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from oauth2_provider import admin as dot_admin
from oauth2_provider.models import get_application_model

from . import services
from .grants import admin as grants_admin  # noqa: F401  (registers machine clients and trusted identity providers)
from .models import AuditEvent, ClientRegistration, Consent, DisabledClient, InitialAccessToken, ProtectedResource

Application = get_application_model()


class ClientRegistrationInline(admin.StackedInline):
    model = ClientRegistration
    can_delete = False
    extra = 0
    readonly_fields = [field.name for field in ClientRegistration._meta.fields if field.name != "id"]

    def has_add_permission(self, request, obj=None):
        return False


admin.site.unregister(Application)


@admin.register(Application)
class ApplicationAdmin(dot_admin.ApplicationAdmin):
    list_display = ("name", "client_id", "registration_source", "live_tokens", "last_used", "is_disabled", "created")
    list_filter = ("registration_source", "client_type", "created")
    search_fields = ("name", "client_id")
    inlines = [ClientRegistrationInline]
    actions = ["revoke_all_tokens", "disable_clients"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("disabled")
            .annotate(
                live_token_count=Count("accesstoken", filter=Q(accesstoken__expires__gt=timezone.now()), distinct=True),
                last_use=Max("consents__last_used"),
            )
        )

    def get_exclude(self, request, obj=None):
        # The stored secret is a hash, but it has no business on a page either; a new one is set by re-creating.
        exclude = tuple(super().get_exclude(request, obj) or ())
        return (*exclude, "client_secret") if obj is not None else exclude

    @admin.display(description="live tokens", ordering="live_token_count")
    def live_tokens(self, obj):
        return obj.live_token_count

    @admin.display(description="last used", ordering="last_use")
    def last_used(self, obj):
        return obj.last_use

    @admin.display(description="disabled", boolean=True)
    def is_disabled(self, obj):
        return hasattr(obj, "disabled")

    @admin.action(description="Revoke all tokens of the selected clients")
    def revoke_all_tokens(self, request, queryset):
        count = sum(services.client_tokens_revoke_all(application=app, by=request.user) for app in queryset)
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)

    @admin.action(description="Disable the selected clients (and revoke their tokens)")
    def disable_clients(self, request, queryset):
        for application in queryset:
            services.client_disable(application=application, by=request.user)
        self.message_user(request, f"Disabled {queryset.count()} client(s).", messages.SUCCESS)


def _application_link(application):
    if application is None:
        return "-"
    url = reverse(f"admin:{application._meta.app_label}_{application._meta.model_name}_change", args=[application.pk])
    return format_html('<a href="{}">{}</a>', url, application.client_id)


@admin.register(ProtectedResource)
class ProtectedResourceAdmin(admin.ModelAdmin):
    """Each MCP server: its URI, the scopes it offers in the words people see, and the one client that may
    introspect its tokens (`manage.py register_mcp_server` creates both; the scopes are validated on save)."""

    list_display = ("name", "uri", "scope_list", "introspection_client_link", "created")
    list_select_related = ("introspection_client",)
    search_fields = ("name", "uri", "introspection_client__client_id")
    raw_id_fields = ("introspection_client",)
    readonly_fields = ("scope_list", "introspection_client_link")
    fields = ("uri", "name", "scopes", "scope_list", "introspection_client", "introspection_client_link")

    @admin.display(description="scopes")
    def scope_list(self, obj):
        if not obj.scopes:
            return "-"
        items = format_html_join("", "<li><code>{}</code>: {}</li>", sorted(obj.scopes.items()))
        return format_html('<ul class="scope-list">{}</ul>', items)

    @admin.display(description="introspection client", ordering="introspection_client__client_id")
    def introspection_client_link(self, obj):
        return _application_link(obj.introspection_client)


@admin.register(InitialAccessToken)
class InitialAccessTokenAdmin(admin.ModelAdmin):
    """RFC 7591 initial access tokens for OAUTH_REGISTRATION_MODE=token. The value is shown once, at creation."""

    list_display = ("label", "created", "created_by", "expires_at", "uses", "max_uses")
    fields = ("label", "expires_at", "max_uses")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        else:
            obj._raw_token = services.initial_access_token_save(token=obj, created_by=request.user)

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "token": obj,
            "raw_token": obj._raw_token,
            "title": "Initial access token created",
        }
        return TemplateResponse(request, "oauth_app/admin/initial_access_token_created.html", context)


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "application",
        "resource",
        "scopes",
        "remembered_scopes",
        "identity_provider",
        "created",
        "last_used",
    )
    list_filter = ("resource", "identity_provider")
    search_fields = ("user__username", "application__name", "application__client_id")
    list_select_related = ("user", "application", "resource", "identity_provider")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DisabledClient)
class DisabledClientAdmin(admin.ModelAdmin):
    list_display = ("application", "disabled_at", "disabled_by")
    raw_id_fields = ("application",)
    readonly_fields = ("disabled_by",)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only."""

    list_display = ("created", "kind", "actor_name", "client_id", "server", "ip")
    list_filter = ("kind", "created")
    search_fields = ("actor_name", "client_id", "resource", "ip", "user_agent")
    date_hierarchy = "created"
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    @admin.display(description="server", ordering="resource")
    def server(self, obj):
        # The name is the one the server had when the event happened (audit.record keeps it in the detail), so
        # the log still reads right after a server is renamed or removed.
        name = obj.detail.get("resource_name") if isinstance(obj.detail, dict) else None
        if not obj.resource:
            return "-"
        return format_html("{}<br><code>{}</code>", name, obj.resource) if name else obj.resource

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
