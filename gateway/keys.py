"""Verified API keys, cached per process and dropped the moment they change anywhere.

A request presents a key; the cache answers from memory when it holds that
key's credential, so the hot path costs an HMAC and no database round trip.
Correctness rests on one rule: **the cache is used only while this process is
listening** to `crm.auth_changes.AUTH_CHANNEL`. Every revocation, role, team or
activity change of an agent and every company change sends a notification in
its transaction; the listener drops the matching entries. If the listening
connection is lost, the cache is emptied and bypassed until it is back, so a
revoked key is never served from memory, whatever process revoked it and on
whatever host.

`last_used_at` is kept without a write per request: uses are gathered in
memory and written in one statement every `FLUSH_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from datetime import UTC, datetime

import asyncpg

from crm import db
from crm.api_keys.service import Credential, load_credential, record_use
from crm.auth_changes import AUTH_CHANNEL
from crm.errors import Unauthenticated
from crm.security import parse_api_key

log = logging.getLogger("gateway.keys")

MAX_ENTRIES = 50_000
ENTRY_SECONDS = 300.0  # an upper bound on any entry's life, belt and braces
FLUSH_SECONDS = 30.0
RECONNECT_SECONDS = 1.0
ECHO_SECONDS = 1.0
PING_SECONDS = 2.0
MAX_HEARD = 10_000


class KeyCache:
    def __init__(self, pool: asyncpg.Pool, dsn: str) -> None:
        self._pool = pool
        self._dsn = dsn
        self._entries: OrderedDict[str, tuple[float, Credential]] = OrderedDict()
        self._listening = False
        self._uses: dict[str, tuple[str, datetime]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._connection: asyncpg.Connection | None = None
        self._ready = asyncio.Event()
        self._echoes: dict[str, asyncio.Future[None]] = {}
        self._stopping = False
        self._epoch = 0
        self._heard: OrderedDict[str, None] = OrderedDict()

    @property
    def listening(self) -> bool:
        return self._listening

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="crm-auth-listener"),
            asyncio.create_task(self._flush_periodically(), name="crm-key-uses"),
        ]
        # Give the listener a moment so the first requests can use the cache.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=2)

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._stop_listening()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
        with contextlib.suppress(Exception):
            await self.flush_uses()

    def cached(self, key: str) -> Credential | None:
        """The credential of `key` from memory, when it was verified and is still valid.

        Entries are keyed by the whole key, so a hit costs a dictionary lookup and
        no HMAC: the key was checked against its stored hash, in constant time,
        when it entered the cache. None means "ask `authenticate`".
        """
        if not self._listening:
            return None
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] >= ENTRY_SECONDS:
            return None
        credential = entry[1]
        if credential.expires_at is not None and credential.expires_at <= datetime.now(UTC):
            return None
        self._note_use(credential)
        return credential

    def _note_use(self, credential: Credential) -> None:
        actor = credential.actor
        if actor.api_key_id is not None:
            self._uses[actor.api_key_id] = (actor.company_id, datetime.now(UTC))

    async def authenticate(self, key: str, conn: db.Connection) -> Credential:
        """The credential of a presented key, checked in constant time; 401 otherwise."""
        prefix = parse_api_key(key)
        if prefix is None:
            raise Unauthenticated("The API key is malformed.")
        # Any change heard while the database is read may concern this key: an
        # answer read before it is used for this request, but not remembered.
        epoch = self._epoch
        with db.bound(conn):
            credential = await load_credential(prefix)
        credential.check(key, datetime.now(UTC))
        if self._listening and epoch == self._epoch:
            self._entries[key] = (time.monotonic(), credential)
            if len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)
        self._note_use(credential)
        return credential

    def forget(self, event: str) -> None:
        """Drop what an event names: `key:<prefix>`, `agent:<id>` or `company:<id>`
        (each followed by `:<nonce>`)."""
        self._epoch += 1
        kind, _, rest = event.partition(":")
        ident = rest.split(":", 1)[0]
        if kind == "key":
            stale = [k for k, (_, c) in self._entries.items() if c.prefix == ident]
        elif kind in ("agent", "company"):
            attribute = "agent_id" if kind == "agent" else "company_id"
            stale = [
                k for k, (_, c) in self._entries.items() if getattr(c.actor, attribute) == ident
            ]
        else:
            self._entries.clear()  # an event we do not know: be safe
            return
        for k in stale:
            self._entries.pop(k, None)

    def _on_notification(self, connection: object, pid: int, channel: str, payload: object) -> None:
        event = str(payload)
        self.forget(event)
        self._heard[event] = None
        if len(self._heard) > MAX_HEARD:
            self._heard.popitem(last=False)
        waiter = self._echoes.pop(event, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def committed(self, events: list[str]) -> None:
        """Apply a committed transaction's events here, then wait (briefly) for their echo.

        Dropping them locally makes this process's next request see the change; the
        echo on our own listener shows PostgreSQL has dispatched the notification to
        every listening process before the client hears that the change is done.
        """
        for event in events:
            self.forget(event)
        if not self._listening or not events:
            return
        loop = asyncio.get_running_loop()
        # No await between this check and registering the waiters: an echo that is
        # already here is in `_heard`, one still to come will find its waiter.
        waiters = [
            self._echoes.setdefault(e, loop.create_future())
            for e in set(events)
            if e not in self._heard
        ]
        if not waiters:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*waiters), timeout=ECHO_SECONDS)
        for event in events:
            self._echoes.pop(event, None)

    def _stop_listening(self) -> None:
        self._epoch += 1
        self._listening = False
        self._entries.clear()

    def _on_termination(self, connection: object) -> None:
        if not self._stopping:
            log.warning("lost the auth listener connection; verifying keys in the database")
        self._stop_listening()

    async def _listen(self) -> None:
        """Keep one LISTEN connection open; the cache is live only while it is."""
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn, timeout=PING_SECONDS)
                conn.add_termination_listener(self._on_termination)
                await conn.add_listener(AUTH_CHANNEL, self._on_notification)
                self._connection = conn
                self._entries.clear()  # whatever happened while deaf is forgotten
                self._epoch += 1
                self._listening = True
                self._ready.set()
                while not conn.is_closed():
                    await asyncio.sleep(RECONNECT_SECONDS)
                    # An idle socket can die silently; a ping finds out.
                    await conn.execute("SELECT 1", timeout=PING_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: retry, cache bypassed meanwhile
                if self._listening:
                    log.warning("auth listener failed (%s); retrying", exc.__class__.__name__)
                self._stop_listening()
                self._ready.set()
                if conn is not None:
                    conn.terminate()
                await asyncio.sleep(RECONNECT_SECONDS)

    async def flush_uses(self) -> None:
        uses, self._uses = self._uses, {}
        if not uses:
            return
        async with db.transaction(self._pool):
            await record_use(uses)

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            try:
                await self.flush_uses()
            except Exception as exc:  # lost uses only delay last_used_at
                log.warning("could not record key uses (%s)", exc.__class__.__name__)
