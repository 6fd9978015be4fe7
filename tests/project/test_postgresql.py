"""project/postgresql: the health check of a reused PostgreSQL connection reads the socket, with no round trip, and
still replaces a connection the server dropped or a request left in a transaction."""

import select
import tempfile

import psycopg
import pytest
from django.db import connections
from django.db.utils import ConnectionHandler

from tests.services import POSTGRES_SERVER, needs_postgres

pytestmark = needs_postgres


@pytest.fixture
def database(django_db_blocker):
    """A wrapper of our backend on the server's `postgres` database, with persistent connections and health checks
    (the settings the AS runs with), apart from the AS's own database."""
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "project.postgresql",
                "NAME": "postgres",
                "USER": "postgres",
                "HOST": "127.0.0.1",
                "PORT": "5432",
                "CONN_MAX_AGE": 600,
                "CONN_HEALTH_CHECKS": True,
            }
        }
    )
    wrapper = handler["default"]
    with django_db_blocker.unblock():  # not the test database: a connection of its own, closed here
        wrapper.ensure_connection()
        yield wrapper
        wrapper.close()


def next_request(wrapper) -> int:
    """What Django does around a request (request_finished, then the first query of the next one); the backend
    process that answered."""
    wrapper.close_if_unusable_or_obsolete()
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_live_connection_is_reused_and_checked_without_a_message_to_the_server(database):
    first = next_request(database)
    database.close_if_unusable_or_obsolete()
    with tempfile.TemporaryFile() as trace:  # libpq's protocol trace: every message sent or received
        database.connection.pgconn.trace(trace.fileno())
        database.close_if_health_check_failed()
        database.connection.pgconn.untrace()
        trace.seek(0)
        assert trace.read() == b""
    assert database.health_check_done and database.connection is not None
    assert next_request(database) == first


def test_a_connection_the_server_terminated_is_replaced_before_the_next_query(database):
    first = next_request(database)
    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (first,))
    poller = select.poll()  # the server's goodbye (an ErrorResponse, then EOF) reaches the socket
    poller.register(database.connection.pgconn.socket, select.POLLIN)
    assert poller.poll(5000)
    second = next_request(database)  # no OperationalError: the check closed it, the query opened a new one
    assert second != first


def test_a_connection_left_inside_a_transaction_is_not_reused(database):
    first = next_request(database)
    database.close_if_unusable_or_obsolete()
    database.connection.execute("BEGIN")  # as if a request had left a transaction open on the raw connection
    database.close_if_health_check_failed()
    assert database.connection is None
    assert next_request(database) != first


def test_the_as_runs_on_this_backend_when_its_database_is_postgresql():
    if connections["default"].vendor != "postgresql":
        pytest.skip("the AS's database is SQLite (DATABASE_URL)")
    assert type(connections["default"]).__module__ == "project.postgresql.base"


def test_without_poll_the_socket_is_read_with_select(database, monkeypatch):
    first = next_request(database)
    monkeypatch.delattr(select, "poll")  # as on Windows
    database.close_if_unusable_or_obsolete()
    database.close_if_health_check_failed()
    assert database.connection is not None
    assert next_request(database) == first
    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (first,))
    readable, _, _ = select.select([database.connection.pgconn.socket], [], [], 5)
    assert readable
    assert next_request(database) != first
