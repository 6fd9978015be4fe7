"""The admin for sign-in: upstream providers (allauth's Social applications, the secret write-only), linked
identities, second factors (never their secrets), invitations, and how each user last signed in."""

import allauth.mfa.admin
import allauth.socialaccount.admin  # noqa: F401  (registers allauth's admins, replaced below)
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialApp, SocialToken
from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError

from oauth_app import audit

from . import selectors, services
from .models import Invitation, LastSignIn

User = get_user_model()


class ProviderForm(forms.ModelForm):
    """Same rules as `manage.py add_identity_provider` (identity/services.py). The secret is never sent to the page:
    left empty on a change, the stored one stays."""

    kind = forms.ChoiceField(choices=[(kind, kind) for kind in selectors.KINDS], initial="openid_connect")
    issuer = forms.URLField(
        required=False, assume_scheme="https", help_text="OpenID Connect only: the issuer URL (discovery)"
    )
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored for talking to the provider; never shown. Leave empty to keep the current one.",
    )

    class Meta:
        model = SocialApp
        fields = ("kind", "provider_id", "name", "client_id", "secret", "issuer")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider_id"].help_text = "Its id (part of the redirect URI); for GitHub and Google, the kind"
        if self.instance.pk:
            self.initial["kind"] = self.instance.provider
            self.initial["provider_id"] = self.instance.provider_id or self.instance.provider
            self.initial["issuer"] = self.instance.settings.get("server_url", "")

    def clean(self):
        cleaned = super().clean()
        self.spec = services.ProviderSpec(
            kind=cleaned.get("kind", ""),
            provider_id=cleaned.get("provider_id") or cleaned.get("kind", ""),
            name=cleaned.get("name", ""),
            client_id=cleaned.get("client_id", ""),
            issuer=cleaned.get("issuer") or "",
        )
        try:
            services.provider_spec_validate(self.spec)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc
        if not self.instance.pk and not cleaned.get("secret"):
            self.add_error("secret", "A new provider needs its client secret.")
        return cleaned


admin.site.unregister(SocialApp)
admin.site.unregister(SocialToken)  # SOCIALACCOUNT_STORE_TOKENS is off; no page lists provider tokens anyway
admin.site.unregister(Authenticator)


@admin.register(SocialApp)
class IdentityProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = ("name", "provider", "provider_id", "client_id", "redirect_uri")
    readonly_fields = ("redirect_uri",)

    def get_fields(self, request, obj=None):
        return [*ProviderForm.Meta.fields, "redirect_uri"]

    @admin.display(description="Redirect URI to register at the provider")
    def redirect_uri(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        return selectors.provider_redirect_uri(kind=obj.provider, provider_id=obj.provider_id or obj.provider)

    def save_model(self, request, obj, form, change):
        app, _ = services.provider_save(spec=form.spec, client_secret=form.cleaned_data.get("secret") or None)
        obj.pk = app.pk


@admin.register(Authenticator)
class AuthenticatorAdmin(admin.ModelAdmin):
    """People's second factors: staff see which exist and may delete one (a lost phone); the secrets inside
    (TOTP keys, recovery code seeds, credential data) are never on a page."""

    list_display = ("user", "type", "created_at", "last_used_at")
    list_filter = ("type", "created_at", "last_used_at")
    search_fields = ("user__username",)
    fields = ("user", "type", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        audit.record(audit.Kind.MFA_REMOVED, actor=request.user, type=obj.type, user=obj.user.get_username())
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for authenticator in queryset.select_related("user"):
            self.delete_model(request, authenticator)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """OAUTH_SIGNUP=closed: who may create an account on their first upstream sign-in."""

    list_display = ("email", "provider_id", "expires_at", "created_by", "accepted_by", "accepted_at")
    search_fields = ("email",)
    fields = ("email", "provider_id", "expires_at")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


admin.site.unregister(User)


@admin.register(User)
class UserWithSignInAdmin(UserAdmin):
    """Django's user admin, plus how each person last signed in."""

    list_display = (*UserAdmin.list_display, "signed_in_with")
    list_select_related = ("last_sign_in",)
    readonly_fields = (*UserAdmin.readonly_fields, "signed_in_with")
    fieldsets = (*UserAdmin.fieldsets, ("Last sign-in", {"fields": ("signed_in_with",)}))

    @admin.display(description="last signed in with")
    def signed_in_with(self, obj):
        try:
            return str(obj.last_sign_in)
        except LastSignIn.DoesNotExist:
            return "-"
