"""Signal receivers: how this app hears about what django-oauth-toolkit did."""

from django.dispatch import receiver
from oauth2_provider.signals import app_authorized

from . import services


@receiver(app_authorized)
def token_issued(sender, request, token, **kwargs):
    if token.application_id is not None:
        services.client_first_token_record(application=token.application)
