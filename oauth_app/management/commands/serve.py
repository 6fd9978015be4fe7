"""`manage.py serve`: the authorization server in production, Django's WSGI app under granian, N worker processes.

WSGI, not ASGI: the AS has no async views, and under ASGI Django runs each request in a new thread (a persistent
database connection is never reused) and hops threads around every sync middleware; under WSGI each worker thread
keeps its connection (DATABASE_CONN_MAX_AGE). granian rather than gunicorn, by measurement: `make bench` serves the
AS under both, side by side, and docs/benchmarks.md gives the figures. granian listens with TCP_NODELAY (no Nagle
delay on keep-alive connections) and keeps HTTP/1.1 connections alive, as the resource servers' pooled clients need.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ... import checks


def bind_address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise CommandError(f"--bind wants host:port, got {value!r}")
    return host.strip("[]"), int(port)


class Command(BaseCommand):
    help = "Serve the authorization server (WSGI, granian) with N worker processes of T threads each."

    def add_arguments(self, parser):
        parser.add_argument(
            "--workers",
            type=int,
            default=settings.AS_WORKERS,
            help="worker processes, about one per core (default: OAUTH_WORKERS, else 1); more than one needs "
            "PostgreSQL and REDIS_URL for shared rate limits",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=4,
            help="threads per worker, each with its own database connection (default 4)",
        )
        parser.add_argument(
            "--bind",
            default=f"{settings.AS_BIND_HOST}:{settings.AS_BIND_PORT}",
            help="host:port to listen on (default: OAUTH_BIND, else OAUTH_ISSUER's host and port)",
        )

    def handle(self, *args, workers, threads, bind, **options):
        from granian import Granian
        from granian.constants import HTTPModes, Interfaces
        from granian.log import LogLevels

        if workers < 1 or threads < 1:
            raise CommandError("--workers and --threads must be at least 1")
        if workers != settings.AS_WORKERS:  # the system checks looked at OAUTH_WORKERS; look at what will run
            for warning in checks.shared_limits(workers=workers):
                self.stderr.write(str(warning))
        host, port = bind_address(bind)
        module, _, attribute = settings.WSGI_APPLICATION.rpartition(".")
        self.stdout.write(
            f"Authorization server on http://{bind} (granian, WSGI): {workers} worker(s) x {threads} thread(s)"
        )
        self.stdout.flush()
        Granian(
            f"{module}:{attribute}",
            address=host,
            port=port,
            interface=Interfaces.WSGI,
            workers=workers,
            blocking_threads=threads,
            # A thread that exits takes its database connection with it: keep them as long as connections live.
            blocking_threads_idle_timeout=600,
            # No `backpressure` below granian's default: it bounds connections, not requests, and the resource
            # servers' pooled keep-alive connections would hold every slot while idle (others then time out).
            http=HTTPModes.http1,  # behind a TLS proxy, or loopback; no h2c
            websockets=False,
            log_level=LogLevels.warning,  # the AS logs one structured line per request itself
            log_access=False,
        ).serve()
