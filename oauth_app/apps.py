from django.apps import AppConfig


class OAuthAppConfig(AppConfig):
    name = "oauth_app"
    verbose_name = "MCP authorization server"

    def ready(self):
        from . import checks, receivers  # noqa: F401  (registers the system checks and signal receivers)
