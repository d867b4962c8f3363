"""What the benchmarks share: a database to fill, servers to start, figures to print."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from crm.migrations import migrate

if TYPE_CHECKING:
    from crm.embedded import EmbeddedPostgres

SECRET_KEY = "bench-secret-key-" + "0" * 32
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server() -> Iterator[str]:
    """CRM_DATABASE_URL's server when set, else an embedded PostgreSQL in a temporary folder."""
    url = os.environ.get("CRM_DATABASE_URL", "").strip()
    if url:
        yield url
        return
    with embedded_postgres() as (_, url):
        yield url


@contextmanager
def embedded_postgres() -> Iterator[tuple[EmbeddedPostgres, str]]:
    """An embedded PostgreSQL in a temporary folder, and its URL; stopped afterwards.

    The server itself is yielded too, for a benchmark that stops and starts it.
    """
    from crm.embedded import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="crm-bench-") as folder:
        server = EmbeddedPostgres(Path(folder))
        try:
            yield server, server.start()
        finally:
            server.stop()


@asynccontextmanager
async def fresh_database(server_url: str, *, keep: bool = False) -> AsyncIterator[str]:
    """A new, migrated database on `server_url`, dropped afterwards unless `keep`."""
    name = f"crm_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = urlunsplit(urlsplit(server_url)._replace(path="/" + name))
    try:
        await migrate(url)
        yield url
    finally:
        if keep:
            print(f"kept the database: {url}")
        else:
            admin = await asyncpg.connect(server_url)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


@contextmanager
def server(command: list[str], env: dict[str, str], port: int) -> Iterator[subprocess.Popen[str]]:
    """A server process, ready on `port` (its /health/live or any answer), then stopped."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    full_env.update(env)
    process = subprocess.Popen(
        command,
        env=full_env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{command[0]} exited: {process.stderr.read() if process.stderr else ''}"
                )
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{' '.join(command)} did not start")
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    import psutil

    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 1e6


def uvicorn_command(app: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]
