import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from oauth2_provider.models import get_application_model

from oauth_app.models import ProtectedResource
from tests.oauth_app.introspection import introspect

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def debug_on(settings):
    settings.DEBUG = True  # what `make run` uses; pytest-django turns it off by default


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue().strip()


def test_bootstrap_registers_the_mcp_server_and_its_introspection_client(monkeypatch):
    monkeypatch.delenv("MCP_RS_CLIENT_SECRET", raising=False)

    lines = run("bootstrap_rs").splitlines()

    assert lines[0] == "export MCP_RS_CLIENT_ID=mcp-resource-server"
    assert lines[1].startswith("export MCP_RS_CLIENT_SECRET=")
    resource = ProtectedResource.objects.get()
    assert resource.uri == settings.MCP_SERVER_URL
    assert resource.introspection_client.client_id == "mcp-resource-server"


def test_bootstrap_is_idempotent_and_takes_the_secret_from_the_environment(client, monkeypatch, user):
    run("bootstrap_rs")
    monkeypatch.setenv("MCP_RS_CLIENT_SECRET", "operator-chosen-secret-" + "x" * 40)

    output = run("bootstrap_rs")

    assert "operator-chosen" not in output  # a secret given to it is never echoed
    assert ProtectedResource.objects.count() == 1
    assert get_application_model().objects.filter(client_id="mcp-resource-server").count() == 1
    token = run("issue_token", "alice")
    assert introspect(client, ("mcp-resource-server", "operator-chosen-secret-" + "x" * 40), token)["active"] is True


def test_issue_token_prints_a_token_the_resource_server_accepts(client, rs_credentials, user):
    token = run("issue_token", "alice")

    claims = introspect(client, rs_credentials, token)
    assert claims["active"] is True
    assert claims["username"] == "alice"
    assert claims["aud"] == settings.MCP_SERVER_URL


def test_issue_token_is_refused_outside_debug_unless_forced(settings, client, rs_credentials, user):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="refused"):
        run("issue_token", "alice")
    assert introspect(client, rs_credentials, run("issue_token", "alice", force=True))["active"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nobody",), "no user"),
        (("alice", "--resource", "https://unknown.example/mcp"), "not a registered resource"),
        (("alice", "--scope", "admin"), "does not accept"),
        (("alice", "--lifetime", "0"), "must be positive"),
    ],
)
def test_issue_token_rejects_bad_arguments(rs_credentials, user, args, message):
    with pytest.raises(CommandError, match=message):
        run("issue_token", *args)


def test_runserver_listens_where_the_issuer_says():
    from oauth_app.management.commands.runserver import Command

    assert (Command.default_addr, Command.default_port) == ("127.0.0.1", "8000")
