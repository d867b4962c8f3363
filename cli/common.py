"""What every `crm` command shares: failing in one line, the settings, the database."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import NoReturn

import asyncpg

from crm.errors import ConfigError
from crm.settings import Settings

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line to stderr and exit with `code` (2: the command was used wrongly)."""
    print(f"crm: {message}", file=sys.stderr)
    sys.exit(code)


def settings_from_env(overrides: dict[str, str] | None = None) -> Settings:
    """The settings from the environment, with `overrides` (`CRM_*` names) applied first."""
    try:
        return Settings.from_env(None if overrides is None else {**os.environ, **overrides})
    except ConfigError as exc:
        fail(str(exc), 2)


@contextmanager
def database(settings: Settings) -> Iterator[Settings]:
    """The settings with a database URL and secret key: starts the embedded server if needed."""
    try:
        settings = settings.with_secret_key()
    except ConfigError as exc:
        fail(str(exc), 2)
    if not settings.embedded:
        yield settings
        return
    from crm.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(settings.data_dir)
    url = server.start()
    try:
        yield replace(settings, database_url=url)
    finally:
        # A second Ctrl-C must not leave PostgreSQL running half-stopped.
        handlers = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
        try:
            server.stop()
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)


def migrate(url: str) -> list[str]:
    from crm.migrations import migrate as apply

    try:
        return asyncio.run(apply(url))
    except (OSError, asyncpg.PostgresError) as exc:
        fail(f"cannot reach the database to migrate it: {exc.__class__.__name__}: {exc}")
