"""Signal receivers: how this app hears about what Django and django-oauth-toolkit did.

Tokens issued and refreshed are recorded by the validator itself, inside the transaction that issued them
(oauth_app/validator.py), not on DOT's app_authorized signal, which comes after the commit.
"""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from oauth2_provider.models import get_application_model

from . import audit, introspection, selectors
from .models import DisabledClient, ProtectedResource


@receiver(user_logged_in)
def login_succeeded(sender, request, user, **kwargs):
    audit.record(audit.Kind.LOGIN_SUCCEEDED, actor=user)


@receiver(user_login_failed)
def login_failed(sender, credentials, request=None, **kwargs):
    audit.record(audit.Kind.LOGIN_FAILED, actor_name=str(credentials.get("username", ""))[:150])


@receiver(post_save, sender=get_application_model())
def client_registered(sender, instance, created, **kwargs):
    if created:
        audit.record(audit.Kind.CLIENT_REGISTERED, client_id=instance.client_id, source=instance.registration_source)


@receiver([post_save, post_delete], sender=get_application_model())
@receiver([post_save, post_delete], sender=DisabledClient)
@receiver([post_save, post_delete], sender=ProtectedResource)
def introspection_clients_changed(sender, **kwargs):
    # A secret rotated, a client disabled or a resource moved, renamed or deleted in this process counts here at once;
    # other processes see it when their cached entry expires (OAUTH_INTROSPECTION_CLIENT_CACHE_SECONDS).
    introspection.forget_clients()
    if sender is ProtectedResource:
        selectors.forget_resources()
