"""What this AS keeps about sign-in beyond django-allauth's own models (providers, linked accounts, authenticators):
how each person last signed in, and invitations for OAUTH_SIGNUP=closed."""

from django.conf import settings
from django.db import models


class LastSignIn(models.Model):
    """How a person last signed in: shown on their connected-apps page and in the admin's user list.

    One row per user, replaced at each sign-in; the audit log keeps the history.
    """

    class Method(models.TextChoices):
        PASSWORD = "password", "password"
        UPSTREAM = "upstream", "upstream provider"

    SECOND_FACTORS = {"totp": "authenticator app", "webauthn": "security key", "recovery_codes": "recovery code"}

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="last_sign_in")
    method = models.CharField(max_length=16, choices=Method.choices)
    second_factor = models.CharField(max_length=20, blank=True, help_text="totp, webauthn or recovery_codes")
    provider_id = models.CharField(max_length=200, blank=True)
    provider_name = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = "last sign-in"

    def __str__(self):
        return f"{self.description} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def description(self) -> str:
        if self.method == self.Method.UPSTREAM:
            how = f"{self.provider_name or self.provider_id} ({self.provider_id})"
        else:
            how = "password"
        if self.second_factor:
            how += f" and {self.SECOND_FACTORS.get(self.second_factor, self.second_factor)}"
        return how


class Invitation(models.Model):
    """With OAUTH_SIGNUP=closed, the first upstream sign-in with this email (verified by the provider) creates its
    user. It creates a new account only: it never links to an existing one (that is OAUTH_UPSTREAM_LINK_BY_EMAIL)."""

    email = models.EmailField(unique=True, help_text="Stored in lower case")
    provider_id = models.CharField(
        max_length=200, blank=True, help_text="Only through this provider (its id); empty: any configured provider"
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, editable=False, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self):
        return self.email

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)
