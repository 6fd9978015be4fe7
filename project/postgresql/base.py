"""Django's PostgreSQL backend, with the health check of a reused connection made without a round trip.

With persistent connections and CONN_HEALTH_CHECKS (project/settings.py), Django checks a connection before the
first query of every request with `SELECT 1`: a round trip to the server on every AS request, which on the
introspection path cost about a sixth of the request's CPU and as much wall time as its one real query.

A connection the server has dropped has said so: PostgreSQL sends an ErrorResponse (a restart, an idle timeout,
`pg_terminate_backend`) and closes the socket, a broken link resets it. Between requests an idle connection has
nothing to read, so a readable or hung-up socket means the connection is gone, and anything else means it is in the
state the last request left it. That is the check redis-py makes of a pooled connection before lending it
(`Connection.can_read`). A connection found unusable is closed and the request opens a new one, as with Django's
own check. After a failed query (`errors_occurred`) Django's `SELECT 1` still decides.
"""

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self):
        if self.connection is None or not self.health_check_enabled or self.health_check_done or self.pool:
            return
        if not self._idle_connection_alive():
            self.close()
        self.health_check_done = True

    def _idle_connection_alive(self) -> bool:
        connection = self.connection
        if connection.closed or connection.broken:
            return False
        if connection.info.transaction_status != pq.TransactionStatus.IDLE:
            return False  # a request left a transaction open, or the link is in an unknown state
        try:
            return not _has_news(connection.pgconn.socket)
        except (OSError, ValueError, base.Database.Error):
            return False


def _has_news(fd: int) -> bool:
    """Whether the socket has something to read, or hung up or failed, without waiting."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))  # POLLHUP and POLLERR are reported whatever was asked for
    readable, _, failed = select.select([fd], [], [fd], 0)  # Windows has no poll()
    return bool(readable or failed)
