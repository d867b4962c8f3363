"""A TCP proxy that can freeze or stop what it stands in front of (PostgreSQL, Redis).

It runs its own event loop in a thread, so it keeps forwarding while a test
blocks (starting a server process) or runs its own loop.

- `freeze()`: connections stay open, nothing is forwarded either way, new
  connections are accepted and left hanging: a server that stopped answering.
- `stop()`: every connection is cut and new ones are refused: a server that
  went away. `start()` brings it back on the same port.

It listens on a loopback TCP port and forwards to a TCP address, or to a Unix
socket (`unix_socket=`: an embedded PostgreSQL listens on nothing else).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


class FaultProxy:
    def __init__(
        self, target_host: str, target_port: int, *, unix_socket: str | None = None
    ) -> None:
        self.target = (target_host, target_port)
        self.unix_socket = unix_socket
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self._flowing = self._call(self._make_event)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.start()

    @staticmethod
    async def _make_event() -> asyncio.Event:
        event = asyncio.Event()
        event.set()
        return event

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine(), self.loop).result(timeout=10)

    def start(self) -> None:
        async def start() -> None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

        self._call(start)

    def stop(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
                self._server = None
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()

        self._call(stop)

    def freeze(self) -> None:
        self.loop.call_soon_threadsafe(self._flowing.clear)

    def thaw(self) -> None:
        self.loop.call_soon_threadsafe(self._flowing.set)

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        await self._flowing.wait()
        try:
            if self.unix_socket is not None:
                up_reader, up_writer = await asyncio.open_unix_connection(self.unix_socket)
            else:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        await asyncio.gather(
            self._pump(reader, up_writer), self._pump(up_reader, writer), return_exceptions=True
        )

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.transport.abort()


@contextmanager
def fault_proxy(host: str, port: int, *, unix_socket: str | None = None) -> Iterator[FaultProxy]:
    proxy = FaultProxy(host, port, unix_socket=unix_socket)
    try:
        yield proxy
    finally:
        proxy.close()


# Where PostgreSQL or Redis is, and the same URL through a proxy


def upstream(url: str, default_port: int) -> tuple[str, int, str | None]:
    """Host, port and Unix socket path (for a URL like `...?host=/socket/dir`) of `url`."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    host = parts.hostname or query.get("host") or "127.0.0.1"
    port = parts.port or int(query.get("port") or default_port)
    if host.startswith("/"):
        return host, port, f"{host}/.s.PGSQL.{port}"
    return host, port, None


@contextmanager
def proxy_for(url: str, default_port: int) -> Iterator[FaultProxy]:
    host, port, unix_socket = upstream(url, default_port)
    with fault_proxy(host, port, unix_socket=unix_socket) as proxy:
        yield proxy


def through(proxy: FaultProxy, url: str) -> str:
    """`url` with its address replaced by the proxy's (a socket folder in the query too)."""
    parts = urlsplit(url)
    user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in ("host", "port")])
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}", query=query))
