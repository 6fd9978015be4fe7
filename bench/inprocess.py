"""`python -m bench.inprocess [--peer]`: CPU per request through Django's WSGI handler in this process, no server and no
client: what the AS's own code costs, free of HTTP parsing and of the load generator's noise. Prints JSON.

The environment names a prepared database (bench/run.py makes one); DJANGO_SETTINGS_MODULE is ours, or the peer's
with --peer. Each figure is the median of a few batches of `process_time` per request.
"""

import argparse
import base64
import hashlib
import io
import json
import secrets
import statistics
import sys
import time
from datetime import timedelta
from urllib.parse import urlencode

REDIRECT_URI = "http://127.0.0.1:33420/callback"


class Handler:
    def __init__(self, application):
        self.application = application

    def __call__(self, method: str, path: str, body: str = "", **headers: str) -> tuple[int, bytes, dict]:
        data = body.encode()
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path.split("?", 1)[0],
            "QUERY_STRING": path.split("?", 1)[1] if "?" in path else "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "HTTP_HOST": "127.0.0.1",
            "wsgi.input": io.BytesIO(data),
            "CONTENT_LENGTH": str(len(data)),
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "wsgi.url_scheme": "http",
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.errors": sys.stderr,
            **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
        }
        status: list[str] = []
        response_headers: dict = {}

        def start_response(line, headers_list, exc_info=None):
            status.append(line)
            response_headers.update(headers_list)

        answer = b"".join(self.application(environ, start_response))
        return int(status[0].split()[0]), answer, response_headers


def cpu_ms(run, items: list, batches: int = 5) -> float:
    """Median over `batches` of the CPU milliseconds per call of `run(item)`, each item used once."""
    per_batch = max(1, len(items) // batches)
    figures = []
    for start in range(0, per_batch * batches, per_batch):
        batch = items[start : start + per_batch]
        began = time.process_time()
        for item in batch:
            run(item)
        figures.append((time.process_time() - began) * 1000 / len(batch))
    return statistics.median(figures)


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def ours(count: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from oauth2_provider.models import get_application_model, get_grant_model

    from oauth_app.selectors import resource_default
    from project.wsgi import application

    call = Handler(application)
    credentials = json.loads(sys.stdin.read())  # {"client_id", "client_secret", "token"}
    user = get_user_model().objects.get()
    client = get_application_model().objects.create(
        name="in-process", client_type="public", authorization_grant_type="authorization-code",
        redirect_uris=REDIRECT_URI,
    )  # fmt: skip
    resource = resource_default().uri

    def grant() -> tuple[str, str]:
        verifier, challenge = pkce()
        code = secrets.token_urlsafe(24)
        get_grant_model().objects.create(
            application=client, user=user, code=code, expires=timezone.now() + timedelta(minutes=10),
            redirect_uri=REDIRECT_URI, scope="mcp", code_challenge=challenge, code_challenge_method="S256",
            resource=[resource], claims="{}",
        )  # fmt: skip
        return code, verifier

    def ok(answer):
        status, body, _ = answer
        assert status == 200, body[:300]
        return json.loads(body)

    authorization = basic(credentials["client_id"], credentials["client_secret"])
    introspect = urlencode({"token": credentials["token"], "token_type_hint": "access_token"})

    def exchange(pair):
        code, verifier = pair
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        data.update(client_id=client.client_id, code_verifier=verifier)
        return ok(call("POST", "/token/", urlencode(data)))

    def refresh(refresh_token):
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client.client_id}
        return ok(call("POST", "/token/", urlencode(data)))

    for _ in range(50):  # warm up: imports, caches, the prepared queries
        ok(call("GET", "/.well-known/oauth-authorization-server"))
        ok(call("POST", "/introspect/", introspect, authorization=authorization))
    refresh(exchange(grant())["refresh_token"])
    figures = {
        "metadata": cpu_ms(lambda _: ok(call("GET", "/.well-known/oauth-authorization-server")), [None] * count),
        "introspection": cpu_ms(
            lambda _: ok(call("POST", "/introspect/", introspect, authorization=authorization)), [None] * count
        ),  # fmt: skip
    }
    pairs = [grant() for _ in range(count // 4)]
    refresh_tokens = []
    figures["exchange"] = cpu_ms(lambda pair: refresh_tokens.append(exchange(pair)["refresh_token"]), pairs)
    figures["refresh"] = cpu_ms(refresh, refresh_tokens)
    return figures


def peer(count: int) -> dict:
    from allauth.idp.oidc.models import Client
    from django.contrib.auth import get_user_model
    from django.test import Client as Browser

    from bench.peer.wsgi import application

    call = Handler(application)
    clients = json.loads(sys.stdin.read())  # bench/peer/prepare.py's output
    public = Client.objects.get(id=clients["public"])
    browser = Browser(HTTP_HOST="127.0.0.1")  # the peer allows loopback hosts only
    browser.force_login(get_user_model().objects.get())  # codes are made untimed, through the authorization view

    def ok(answer):
        status, body, _ = answer
        assert status == 200, body[:300]
        return json.loads(body)

    def code() -> tuple[str, str]:
        verifier, challenge = pkce()
        params = {"response_type": "code", "client_id": public.id, "redirect_uri": REDIRECT_URI, "scope": "profile",
                  "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}  # fmt: skip
        location = browser.get(f"/identity/o/authorize?{urlencode(params)}")["Location"]
        return location.split("code=", 1)[1].split("&", 1)[0], verifier

    client_id, secret = clients["cheap"]
    authorization = basic(client_id, secret)
    cc = urlencode({"grant_type": "client_credentials", "scope": "profile"})
    token = ok(call("POST", "/identity/o/api/token", cc, authorization=authorization))["access_token"]
    introspect = urlencode({"token": token, "token_type_hint": "access_token"})

    def exchange(pair):
        code_value, verifier = pair
        data = {"grant_type": "authorization_code", "code": code_value, "redirect_uri": REDIRECT_URI,
                "client_id": public.id, "code_verifier": verifier}  # fmt: skip
        return ok(call("POST", "/identity/o/api/token", urlencode(data)))

    def refresh(refresh_token):
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": public.id}
        return ok(call("POST", "/identity/o/api/token", urlencode(data)))

    for _ in range(50):
        ok(call("POST", "/identity/o/api/introspect", introspect, authorization=authorization))
    refresh(exchange(code())["refresh_token"])
    figures = {
        "introspection": cpu_ms(
            lambda _: ok(call("POST", "/identity/o/api/introspect", introspect, authorization=authorization)),
            [None] * count,
        )
    }
    pairs = [code() for _ in range(count // 4)]
    refresh_tokens = []
    figures["exchange"] = cpu_ms(lambda pair: refresh_tokens.append(exchange(pair)["refresh_token"]), pairs)
    figures["refresh"] = cpu_ms(refresh, refresh_tokens)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", action="store_true")
    parser.add_argument("--count", type=int, default=400)
    args = parser.parse_args()
    import django

    django.setup()
    print(json.dumps(peer(args.count) if args.peer else ours(args.count)))


if __name__ == "__main__":
    main()
