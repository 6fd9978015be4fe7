"""Several MCP servers behind one AS: `manage.py register_mcp_server`, each server's own introspection client,
and the server named wherever people and staff look (consent, connected apps, admin, audit log)."""

import io
import os
import shlex
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from oauth2_provider.models import get_application_model

from oauth_app.models import AuditEvent, ProtectedResource
from oauth_app.selectors import resource_default
from oauth_app.services import DEFAULT_SCOPES, resource_register, resource_server_bootstrap
from tests.oauth_app.flow import exchange_code, obtain_code
from tests.oauth_app.introspection import introspect

pytestmark = pytest.mark.django_db

NOTES = "https://notes.example.com/mcp"
CALENDAR = "https://calendar.example.com/mcp"


def register(*args) -> tuple[list[str], str]:
    """Run the command as `eval "$(...)"` would: (stdout lines, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    call_command("register_mcp_server", *args, stdout=out, stderr=err)
    return out.getvalue().splitlines(), err.getvalue()


def exports(lines: list[str]) -> dict[str, str]:
    """Parse `export NAME=value` lines the way a shell would (shlex), refusing anything else on stdout."""
    parsed = {}
    for line in lines:
        words = shlex.split(line)
        assert words[0] == "export" and len(words) == 2, line
        name, _, value = words[1].partition("=")
        parsed[name] = value
    return parsed


@pytest.fixture
def browser(client, user):
    client.force_login(user)
    return client


def test_a_new_server_gets_its_scopes_and_a_confidential_client_of_its_own():
    lines, err = register(
        "https://Notes.Example.com:443/mcp/",
        "--name",
        "Notes",
        "--scope",
        "notes:read=Read your notes",
        "--scope",
        "notes:write",
    )

    env = exports(lines)
    assert list(env) == ["MCP_RS_CLIENT_ID", "MCP_RS_CLIENT_SECRET"]
    assert env["MCP_RS_CLIENT_ID"] == "mcp-rs-notes-example-com-mcp"
    resource = ProtectedResource.objects.get(uri=NOTES)  # canonicalised
    assert resource.name == "Notes"
    assert resource.scopes == {"notes:read": "Read your notes", "notes:write": "notes:write"}
    application = resource.introspection_client
    assert application.client_id == env["MCP_RS_CLIENT_ID"] and application.client_type == "confidential"
    assert application.client_secret != env["MCP_RS_CLIENT_SECRET"]  # stored hashed
    assert "Registered Notes at https://notes.example.com/mcp" in err
    event = AuditEvent.objects.get(kind="resource.registered")
    assert event.resource == NOTES and event.client_id == env["MCP_RS_CLIENT_ID"]
    assert event.detail["resource_name"] == "Notes" and event.detail["secret_issued"] is True
    assert env["MCP_RS_CLIENT_SECRET"] not in str(event.detail)


def test_a_new_server_without_scopes_offers_mcp_and_a_chosen_client_id():
    env = exports(register(NOTES, "--name", "Notes", "--client-id", "notes-rs")[0])

    assert env["MCP_RS_CLIENT_ID"] == "notes-rs"
    assert ProtectedResource.objects.get(uri=NOTES).scopes == {"mcp": DEFAULT_SCOPES["mcp"]}


def test_re_registering_keeps_client_and_secret_and_says_so_on_stderr(client):
    first = exports(register(NOTES, "--name", "Notes", "--scope", "mcp=Use the notes server")[0])

    lines, err = register(NOTES)

    assert exports(lines) == {"MCP_RS_CLIENT_ID": first["MCP_RS_CLIENT_ID"]}  # no secret line
    assert "secret is unchanged" in err and "--rotate-secret" in err
    resource = ProtectedResource.objects.get(uri=NOTES)
    assert resource.name == "Notes" and resource.scopes == {"mcp": "Use the notes server"}  # kept
    assert get_application_model().objects.filter(client_id=first["MCP_RS_CLIENT_ID"]).count() == 1
    # The secret still works: introspection answers (inactive for a token it does not know).
    assert introspect(client, (first["MCP_RS_CLIENT_ID"], first["MCP_RS_CLIENT_SECRET"]), "x") == {"active": False}


def test_scopes_on_an_update_replace_the_stored_ones_and_the_name_can_change():
    register(NOTES, "--name", "Notes", "--scope", "mcp", "--scope", "notes:write=Add notes")

    register(NOTES, "--name", "Team notes", "--scope", "notes:read=Read notes")

    resource = ProtectedResource.objects.get(uri=NOTES)
    assert resource.scopes == {"notes:read": "Read notes"} and resource.name == "Team notes"
    assert resource.introspection_client.name == "Team notes (resource server)"


def test_rotate_secret_issues_a_new_one_and_the_old_one_stops_working_at_once(client):
    old = exports(register(NOTES, "--name", "Notes")[0])

    new = exports(register(NOTES, "--rotate-secret")[0])

    assert (
        new["MCP_RS_CLIENT_ID"] == old["MCP_RS_CLIENT_ID"]
        and new["MCP_RS_CLIENT_SECRET"] != old["MCP_RS_CLIENT_SECRET"]
    )
    refused = client.post(
        "/introspect/",
        {"token": "x", "client_id": old["MCP_RS_CLIENT_ID"], "client_secret": old["MCP_RS_CLIENT_SECRET"]},
    )
    assert refused.status_code == 401
    assert introspect(client, (new["MCP_RS_CLIENT_ID"], new["MCP_RS_CLIENT_SECRET"]), "x") == {"active": False}


def test_tokens_of_one_server_are_inactive_for_the_other(browser, client, public_client, pkce):
    notes = exports(register(NOTES, "--name", "Notes", "--scope", "mcp=Use notes")[0])
    calendar = exports(register(CALENDAR, "--name", "Calendar", "--scope", "mcp=Use calendar")[0])
    notes_creds = (notes["MCP_RS_CLIENT_ID"], notes["MCP_RS_CLIENT_SECRET"])
    calendar_creds = (calendar["MCP_RS_CLIENT_ID"], calendar["MCP_RS_CLIENT_SECRET"])
    tokens = {}
    for uri in (NOTES, CALENDAR):
        code = obtain_code(browser, public_client.client_id, pkce, resource=uri, scope="mcp")
        response = exchange_code(client, public_client.client_id, code, pkce, resource=uri)
        assert response.status_code == 200, response.content
        tokens[uri] = response.json()["access_token"]

    assert introspect(client, notes_creds, tokens[NOTES])["aud"] == NOTES
    assert introspect(client, calendar_creds, tokens[CALENDAR])["aud"] == CALENDAR
    assert introspect(client, notes_creds, tokens[CALENDAR]) == {"active": False}
    assert introspect(client, calendar_creds, tokens[NOTES]) == {"active": False}


def test_two_servers_whose_slugs_collide_get_distinct_client_ids():
    first = exports(register("https://a.b.example/mcp", "--name", "One")[0])
    second = exports(register("https://a-b.example/mcp", "--name", "Two")[0])

    assert first["MCP_RS_CLIENT_ID"] == "mcp-rs-a-b-example-mcp"
    assert second["MCP_RS_CLIENT_ID"].startswith("mcp-rs-a-b-example-mcp-")
    assert second["MCP_RS_CLIENT_ID"] != first["MCP_RS_CLIENT_ID"]


def test_a_server_registered_again_after_deletion_gets_its_client_id_back():
    first = exports(register(NOTES, "--name", "Notes")[0])
    ProtectedResource.objects.filter(uri=NOTES).delete()

    lines, err = register(NOTES, "--name", "Notes")

    assert exports(lines) == {"MCP_RS_CLIENT_ID": first["MCP_RS_CLIENT_ID"]}
    assert "secret is unchanged" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ftp://notes.example.com", "--name", "x"), "not an absolute http"),
        (("https://user@notes.example.com/mcp", "--name", "x"), "not an absolute http"),
        (("https://notes.example.com/mcp#frag", "--name", "x"), "not an absolute http"),
        ((NOTES,), "give it a name"),
        ((NOTES, "--name", "x", "--scope", "offline_access"), "reserved"),
        ((NOTES, "--name", "x", "--scope", "introspection=Read tokens"), "reserved"),
        ((NOTES, "--name", "x", "--scope", "oauth2_provider:registration"), "reserved"),
        ((NOTES, "--name", "x", "--scope", "two words=x"), "not a scope name"),
        ((NOTES, "--name", "x", "--scope", 'quo"te=x'), "not a scope name"),
        ((NOTES, "--name", "x", "--scope", "=words only"), "not a scope name"),
        ((NOTES, "--name", "x", "--scope", "mcp="), "no words"),
        ((NOTES, "--name", "x", "--scope", "mcp", "--scope", "mcp=again"), "given twice"),
        ((NOTES, "--name", "x", "--client-id", "has space"), "--client-id"),
        ((NOTES, "--name", "x", "--client-id", "https://evil.example/client.json"), "--client-id"),
    ],
)
def test_bad_input_is_a_clear_command_error_and_changes_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        register(*args)

    assert not ProtectedResource.objects.exists()
    assert not get_application_model().objects.exists()


def test_a_server_keeps_its_client_id_and_never_takes_another_applications(public_client):
    register(NOTES, "--name", "Notes")

    with pytest.raises(CommandError, match="keeps its client id"):
        register(NOTES, "--client-id", "something-else")
    with pytest.raises(CommandError, match="already belongs to another application"):
        register(CALENDAR, "--name", "Calendar", "--client-id", public_client.client_id)
    public_client.refresh_from_db()
    assert public_client.client_type == "public"


def test_the_command_runs_as_a_real_process_and_its_output_evals(tmp_path):
    """`eval "$(manage.py register_mcp_server ...)"` in a shell: the variables it sets are the RS's credentials."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    manage = f"{shlex.quote(sys.executable)} manage.py"
    check = (
        "import os; from oauth_app.introspection import client_authenticate as auth; "
        "c = auth(client_id=os.environ['MCP_RS_CLIENT_ID'], secret=os.environ['MCP_RS_CLIENT_SECRET']); "
        "print(c is not None and c.resource_uris == {'https://notes.example.com/mcp'})"
    )
    command = f"{manage} register_mcp_server {NOTES} --name 'Notes & co' --scope 'notes:write=Add \"quoted\" notes'"
    script = (
        f'{manage} migrate -v0 && eval "$({command})" '
        f"&& printf 'id=%s\\n' \"$MCP_RS_CLIENT_ID\" && {manage} shell --no-imports -c {shlex.quote(check)}"
    )
    result = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, cwd=settings.BASE_DIR, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["id=mcp-rs-notes-example-com-mcp", "True"]
    assert "Registered Notes & co at https://notes.example.com/mcp" in result.stderr


# --- The demo server offers notes:write -------------------------------------------------------------------------


def test_bootstrap_offers_the_default_scopes_and_adds_missing_ones_without_rewriting(rs_credentials):
    resource = resource_default()
    assert resource.scopes == DEFAULT_SCOPES and "notes:write" in resource.scopes
    resource.scopes = {"mcp": "Operator's own words", "extra": "Something the operator added"}
    resource.save()

    resource_server_bootstrap()

    resource.refresh_from_db()
    assert resource.scopes == {
        "mcp": "Operator's own words",
        "extra": "Something the operator added",
        "notes:write": DEFAULT_SCOPES["notes:write"],
    }


# --- Staff and people see which server ----------------------------------------------------------------------


@pytest.fixture
def staff(client, rs_credentials):
    admin_user = get_user_model().objects.create_superuser(username="root", password="pw-for-tests")
    client.force_login(admin_user)
    return client


def test_admin_lists_each_server_with_its_scopes_and_introspection_client(staff):
    env = exports(register(NOTES, "--name", "Notes", "--scope", "notes:read=Read your notes")[0])
    application = get_application_model().objects.get(client_id=env["MCP_RS_CLIENT_ID"])

    html = staff.get("/admin/oauth_app/protectedresource/").content.decode()

    assert "Notes" in html and NOTES in html and "Demo MCP server" in html
    assert "<code>notes:read</code>: Read your notes" in html
    assert "<code>notes:write</code>: Add notes in your name" in html
    assert f'href="/admin/oauth2_provider/application/{application.pk}/change/">{application.client_id}</a>' in html
    assert env["MCP_RS_CLIENT_SECRET"] not in html
    assert staff.get("/admin/oauth_app/protectedresource/add/").status_code == 200


def test_admin_refuses_a_reserved_or_malformed_scope(staff):
    resource = ProtectedResource.objects.get()
    page = f"/admin/oauth_app/protectedresource/{resource.pk}/change/"
    form = {"uri": resource.uri, "name": resource.name, "introspection_client": resource.introspection_client_id}

    reserved = staff.post(page, {**form, "scopes": '{"mcp": "x", "offline_access": "y"}'})
    malformed = staff.post(page, {**form, "scopes": '{"two words": "x"}'})
    fine = staff.post(page, {**form, "scopes": '{"mcp": "x", "notes:read": "Read notes"}'})

    assert reserved.status_code == 200 and "reserved by the authorization server" in reserved.content.decode()
    assert malformed.status_code == 200 and "is not a scope name" in malformed.content.decode()
    assert fine.status_code == 302
    resource.refresh_from_db()
    assert resource.scopes == {"mcp": "x", "notes:read": "Read notes"}


def test_connected_apps_and_audit_log_name_the_server(browser, client, public_client, pkce, staff_user):
    resource_register(uri=NOTES, name="Team notes", scopes={"mcp": "Use the team's notes"})
    code = obtain_code(browser, public_client.client_id, pkce, resource=NOTES, scope="mcp")
    assert exchange_code(client, public_client.client_id, code, pkce, resource=NOTES).status_code == 200

    apps = browser.get("/account/").content.decode()
    assert "Team notes" in apps and NOTES in apps

    events = AuditEvent.objects.filter(kind__in=["consent.granted", "token.issued"], resource=NOTES)
    assert events.count() == 2 and {event.detail["resource_name"] for event in events} == {"Team notes"}
    client.force_login(staff_user)
    audit_page = client.get("/admin/oauth_app/auditevent/").content.decode()
    assert f"Team notes<br><code>{NOTES}</code>" in audit_page


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_superuser(username="root", password="pw-for-tests")
