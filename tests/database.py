"""The PostgreSQL the tests run against: a fresh database per test session.

With `CRM_TEST_DATABASE_URL` set, a new database is created on that server and
dropped at the end; otherwise an embedded PostgreSQL is started in a temporary
folder. Either way the real migrations are applied once.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


async def create_database(server_url: str, name: str) -> str:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(server_url, name)


async def drop_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextmanager
def server_url(tmp: Path) -> Iterator[str]:
    """A URL of a PostgreSQL server the tests may create databases on."""
    configured = os.environ.get("CRM_TEST_DATABASE_URL", "").strip()
    if configured:
        yield configured
        return
    from crm.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(tmp)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


def new_database_name(prefix: str = "crm_test") -> str:
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
