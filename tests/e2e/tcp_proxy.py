"""A loopback TCP proxy the tests can cut and restore, to take a dependency (PostgreSQL) away and back."""

import asyncio
import contextlib
import threading


class TcpProxy:
    def __init__(self, upstream_port: int, listen_port: int = 0):
        self.upstream_port = upstream_port
        self.port = listen_port
        self.loop = asyncio.new_event_loop()
        self.server = None
        self.writers: set[asyncio.StreamWriter] = set()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def start(self) -> "TcpProxy":
        self.server = asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(5)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def cut(self) -> None:
        """Stop listening and drop every open connection: the database is gone."""
        asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(5)

    async def _serve(self):
        return await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def _close(self):
        self.server.close()
        await self.server.wait_closed()
        for writer in list(self.writers):
            writer.close()

    async def _handle(self, reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        self.writers.update({writer, up_writer})
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader, writer):
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()
        self.writers.discard(writer)
