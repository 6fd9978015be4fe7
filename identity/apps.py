from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = "Sign-in: upstream providers and MFA"

    def ready(self):
        from . import checks, receivers  # noqa: F401  (registers the system checks and signal receivers)
