"""Changes other processes must hear of at once, sent with PostgreSQL NOTIFY.

A notification is sent only when its transaction commits, so a listener never
acts on a change that was rolled back. The gateway listens on `AUTH_CHANNEL` and
drops what it cached about a key, an agent or a company when told to.

The boundary that commits can also collect the events of its transaction
(`collecting()`), to apply them in its own process before it answers, rather
than when its own notification comes back.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from crm import db

AUTH_CHANNEL = "crm_auth"

_collected: ContextVar[list[str] | None] = ContextVar("crm_auth_events", default=None)


async def auth_changed(kind: str, ident: str) -> None:
    """`kind` is `key` (a key's prefix), `agent` or `company` (an id).

    The payload ends with a nonce, so the committing process can tell its own
    notification from an earlier one about the same record.
    """
    event = f"{kind}:{ident}:{secrets.token_hex(6)}"
    await db.connection().execute("SELECT pg_notify($1, $2)", AUTH_CHANNEL, event)
    collected = _collected.get()
    if collected is not None:
        collected.append(event)


@contextmanager
def collecting() -> Iterator[list[str]]:
    """Gather the auth events sent inside this block (apply them only once committed)."""
    events: list[str] = []
    token = _collected.set(events)
    try:
        yield events
    finally:
        _collected.reset(token)
