"""Machine and enterprise clients, the identity providers trusted for ID-JAGs, linked identities, used assertions.

Defined here, next to the grants that use them, and imported by `oauth_app.models`, so they belong to `oauth_app`
and migrate with it.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from . import CLIENT_CREDENTIALS, CLIENT_SECRET_BASIC, JWT_BEARER, PRIVATE_KEY_JWT


class MachineClient(models.Model):
    """A pre-registered confidential client that staff enabled for one grant with no browser step.

    The switch that opens `client_credentials` or `jwt-bearer` for a client: without a row here, both are refused
    (`unauthorized_client`). Only staff create these (`manage.py create_client`, the admin); never DCR or CIMD.
    """

    class Grant(models.TextChoices):
        CLIENT_CREDENTIALS = CLIENT_CREDENTIALS, "Client credentials (the client acts on its own behalf)"
        JWT_BEARER = JWT_BEARER, "Enterprise-Managed Authorization (ID-JAG, jwt-bearer)"

    class AuthMethod(models.TextChoices):
        CLIENT_SECRET_BASIC = CLIENT_SECRET_BASIC, "Client secret (HTTP Basic, or client_secret_post)"
        PRIVATE_KEY_JWT = PRIVATE_KEY_JWT, "private_key_jwt (RFC 7523 client assertion, keys in a JWKS)"

    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="machine_client"
    )
    grant_type = models.CharField(max_length=64, choices=Grant.choices)
    auth_method = models.CharField(max_length=32, choices=AuthMethod.choices, default=AuthMethod.CLIENT_SECRET_BASIC)
    jwks_uri = models.URLField(
        max_length=500, blank=True, help_text="private_key_jwt: where the client publishes its public keys (JWKS)"
    )
    jwks = models.JSONField(
        null=True, blank=True, help_text="private_key_jwt: the client's public keys (a JWKS), instead of a URI"
    )
    resources = models.ManyToManyField(
        "oauth_app.ProtectedResource",
        related_name="machine_clients",
        help_text="The MCP servers its tokens may be bound to (RFC 8707)",
    )
    scope = models.CharField(
        max_length=1000, help_text="Space-separated scopes it may be given, at most; the servers' scopes limit it too"
    )
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used = models.DateTimeField(null=True, blank=True, help_text="Last token issued")

    class Meta:
        verbose_name = "machine or enterprise client"

    def __str__(self):
        return f"{self.application} ({self.get_grant_type_display()})"

    @property
    def scopes(self) -> set[str]:
        return set(self.scope.split())

    def clean(self):
        from .jwks import JWKSProblem, jwks_problem, jwks_uri_problem

        if self.auth_method == self.AuthMethod.PRIVATE_KEY_JWT:
            if bool(self.jwks_uri) == bool(self.jwks):
                raise ValidationError("private_key_jwt needs the client's keys: a JWKS URI or a JWKS, not both")
            try:
                if self.jwks_uri:
                    jwks_uri_problem(self.jwks_uri)
                else:
                    jwks_problem(self.jwks)
            except JWKSProblem as problem:
                raise ValidationError({"jwks_uri" if self.jwks_uri else "jwks": str(problem)}) from problem
        elif self.jwks_uri or self.jwks:
            raise ValidationError("keys are for private_key_jwt clients; a client secret client has none")


class TrustedIdentityProvider(models.Model):
    """An enterprise identity provider whose ID-JAGs this AS accepts (MCP Enterprise-Managed Authorization).

    Who the person is comes from the (issuer, `sub`) pair; how an unknown pair becomes a local user is this
    provider's policy, off unless staff switched it on.
    """

    issuer = models.CharField(max_length=255, unique=True, help_text="The IdP's issuer identifier, byte for byte")
    name = models.CharField(max_length=200, help_text="Shown to people on their connected apps page")
    jwks_uri = models.URLField(max_length=500, blank=True, help_text="Where the IdP publishes its signing keys")
    jwks = models.JSONField(null=True, blank=True, help_text="The IdP's signing keys (a JWKS), instead of a URI")
    link_by_email = models.BooleanField(
        default=False,
        help_text="The first time a person comes, link them to the one local user with the ID-JAG's email "
        "(never a staff or superuser account: link those in the admin)",
    )
    provision_users = models.BooleanField(
        default=False, help_text="Create a local user for a person this AS does not know yet"
    )
    allow_refresh = models.BooleanField(
        default=False, help_text="Issue refresh tokens; otherwise the client comes back with a new ID-JAG"
    )
    enabled = models.BooleanField(default=True, help_text="Off: its ID-JAGs are refused, and so are refreshes")
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True, help_text="Last token issued on one of its ID-JAGs")

    class Meta:
        ordering = ["name"]
        verbose_name = "trusted identity provider"

    def __str__(self):
        return f"{self.name} ({self.issuer})"

    def clean(self):
        from .jwks import JWKSProblem, issuer_problem, jwks_problem, jwks_uri_problem

        try:
            issuer_problem(self.issuer)
        except JWKSProblem as problem:
            raise ValidationError({"issuer": str(problem)}) from problem
        if bool(self.jwks_uri) == bool(self.jwks):
            raise ValidationError("give the IdP's keys: a JWKS URI or a JWKS, not both")
        try:
            if self.jwks_uri:
                jwks_uri_problem(self.jwks_uri)
            else:
                jwks_problem(self.jwks)
        except JWKSProblem as problem:
            raise ValidationError({"jwks_uri" if self.jwks_uri else "jwks": str(problem)}) from problem


class FederatedIdentity(models.Model):
    """A person as an identity provider knows them (issuer and `sub`), linked to a local user."""

    identity_provider = models.ForeignKey(TrustedIdentityProvider, on_delete=models.CASCADE, related_name="identities")
    subject = models.CharField(max_length=255, help_text="The ID-JAG's `sub`")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="federated_identities")
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["identity_provider", "subject"], name="one_user_per_idp_subject")
        ]
        verbose_name_plural = "federated identities"

    def __str__(self):
        return f"{self.subject} at {self.identity_provider.name} → {self.user}"


class UsedAssertion(models.Model):
    """The replay store: one row per assertion `jti` accepted, kept until the assertion expires (RFC 7523 §3 item 7).

    In the database every AS worker shares, so an assertion is accepted once across all of them: the unique
    key makes the second insert fail, whichever worker it reaches. Only a digest of (kind, issuer, jti) is kept.
    """

    key = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"assertion {self.key[:12]}… (until {self.expires_at:%Y-%m-%d %H:%M:%S})"
