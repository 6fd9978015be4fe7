"""`make run`: bootstrap the RS's credentials, then serve the AS (`manage.py serve`: WSGI under granian) and the RS
(`python -m mcp_rs`: ASGI under uvicorn, since MCP streams)."""

import contextlib
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from oauth_app.services import resource_server_bootstrap


class Command(BaseCommand):
    help = "Run the authorization server and the MCP resource server in the foreground; Ctrl-C stops both."

    def handle(self, *args, **options):
        client_id, secret = resource_server_bootstrap(client_secret=os.environ.get("MCP_RS_CLIENT_SECRET") or None)
        if not settings.DEBUG:
            call_command("collectstatic", interactive=False, verbosity=0)
        self._offer_first_user()
        # The RS gets its credentials through its environment only: they are never printed or written down.
        env = {**os.environ, "MCP_RS_CLIENT_ID": client_id, "MCP_RS_CLIENT_SECRET": secret}
        auth_server = [sys.executable, str(settings.BASE_DIR / "manage.py"), "serve"]  # OAUTH_WORKERS, default 1
        # The AS in a process group of its own: a Ctrl-C in the terminal reaches this command only, which then stops
        # granian's supervisor, and it its workers, in order (a worker interrupted directly, while its supervisor
        # was being stopped, could outlive both).
        children = [
            subprocess.Popen(auth_server, env=env, start_new_session=True),
            subprocess.Popen([sys.executable, "-m", "mcp_rs"], env=env),
        ]
        self.stdout.write(
            self.style.SUCCESS(
                f"\nAuthorization server: {settings.OAUTH_ISSUER}  (admin: {settings.OAUTH_ISSUER}/admin/)\n"
                f"MCP server:           {settings.MCP_SERVER_URL}\n"
                f"Point your MCP client at {settings.MCP_SERVER_URL}. Ctrl-C stops both.\n"
            )
        )
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self._stop(children)
        return None

    def _offer_first_user(self):
        if get_user_model().objects.exists():
            return
        if sys.stdin.isatty():
            self.stdout.write("No user exists yet: create the first one (an administrator) to log in with.")
            call_command("createsuperuser")
        else:
            self.stdout.write("No user exists yet: run `.venv/bin/python manage.py createsuperuser` to log in.")

    @staticmethod
    def _stop(children):
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(children[0].pid, signal.SIGKILL)  # whatever is left of the AS's group: never a stray worker
