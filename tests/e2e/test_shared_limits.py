"""With REDIS_URL, rate limits hold across AS processes: two workers share one budget per client IP."""

import secrets
import subprocess
import sys

import httpx
import redis

from tests.e2e.stack import ROOT, free_port, running_stack, wait_until_up
from tests.services import REDIS_URL, needs_redis


@needs_redis
def test_registration_limit_is_shared_by_two_as_processes(tmp_path):
    prefix = f"test-{secrets.token_hex(4)}"
    settings = {"REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": prefix, "OAUTH_REGISTRATION_RATE": "3/h"}
    with running_stack(tmp_path, separately=True, **settings) as stack:
        port = free_port()
        second = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=stack.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/.well-known/oauth-authorization-server")
            workers = [stack.issuer, f"http://127.0.0.1:{port}"]
            statuses = [
                httpx.post(
                    f"{workers[i % 2]}/register/",
                    json={"client_name": f"c{i}", "redirect_uris": ["http://127.0.0.1:9/cb"]},
                ).status_code
                for i in range(4)
            ]
        finally:
            second.terminate()
            second.wait(timeout=10)
            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(f"{prefix}:*"):
                client.delete(key)

    assert statuses == [201, 201, 201, 429]
