"""Verified API keys, cached per process and dropped the moment they change anywhere.

A request presents a key; the cache answers from memory when it holds that
key's credential, so the hot path costs a dictionary lookup and a share of one
small round trip on the listening connection, and no query on the pool.
Correctness rests on two rules.

**The cache is used only while this process is listening** to
`crm.auth_changes.AUTH_CHANNEL`. Every revocation, role, team or activity
change of an agent and every company change sends a notification in its
transaction; the listener drops the matching entries. If the listening
connection is lost, the cache is emptied and bypassed until it is back.

**An entry is served only once the listener has caught up** with every change
committed before the request asked for it. Hearing a notification is not
instant: PostgreSQL signals the listening backends when a transaction commits,
and each backend sends its notifications to its client when it is next
scheduled and idle, so another process may serve its next request before its
own listener has heard. But a listening backend that has been signalled sends
the pending notifications before the ReadyForQuery of the next command it runs,
and asyncpg hands each notification to the event loop (`call_soon`) as it
parses it, before it completes that command on ReadyForQuery. So one `SELECT 1`
on the listening connection, sent after the request arrived, returns only
after every notification committed before it has been applied here. Requests
share that round trip: all those that arrive while one is in flight wait for
the next, so the listening connection carries at most one at a time. A request
waits at most `BARRIER_SECONDS` for its round trip, then verifies its key in the
database, so a stalled listener never holds a request longer than that; a
round trip unanswered after `PING_SECONDS` counts as a lost listener.

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
PING_SECONDS = 2.0
BARRIER_SECONDS = 0.25  # a request waits this long for the listener, then asks the database


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
        self._stopping = False
        self._epoch = 0
        # The round trip that requests arriving now will share, and the task
        # sending round trips while some are wanted.
        self._next_round: asyncio.Future[bool] | None = None
        self._rounds: asyncio.Task[None] | None = None

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
        tasks = [*self._tasks, *([self._rounds] if self._rounds is not None else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._stop_listening()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
        with contextlib.suppress(Exception):
            await self.flush_uses()

    async def cached(self, key: str) -> Credential | None:
        """The credential of `key` from memory, when it was verified and is still valid.

        Entries are keyed by the whole key, so a hit costs a dictionary lookup and
        no HMAC: the key was checked against its stored hash, in constant time,
        when it entered the cache. Before answering, the listener catches up with
        every change committed until now (see the module's notes). None means
        "ask `authenticate`".
        """
        if not self._listening or key not in self._entries:
            return None
        if not await self.caught_up():
            return None
        entry = self._entries.get(key)  # again: what was heard meanwhile may drop it
        if entry is None or time.monotonic() - entry[0] >= ENTRY_SECONDS:
            return None
        credential = entry[1]
        if credential.expires_at is not None and credential.expires_at <= datetime.now(UTC):
            return None
        self._note_use(credential)
        return credential

    async def caught_up(self) -> bool:
        """True once every notification committed before this call has been applied
        here; False when the listener is away or slow to show it has caught up."""
        if not self._listening:
            return False
        if self._next_round is None:
            # A round trip already in flight was sent before this call: it proves
            # nothing about what committed since. Join (or open) the next one.
            self._next_round = asyncio.get_running_loop().create_future()
        round_trip = self._next_round
        if self._rounds is None:
            self._rounds = asyncio.create_task(self._send_rounds(), name="crm-auth-barrier")
        # Shielded: a request that gives up must not cancel the others' answer.
        try:
            return await asyncio.wait_for(asyncio.shield(round_trip), BARRIER_SECONDS)
        except TimeoutError:
            return False

    async def _send_rounds(self) -> None:
        """Send one round trip on the listening connection for each batch of waiters."""
        waiting: asyncio.Future[bool] | None = None
        try:
            while self._next_round is not None:
                waiting, self._next_round = self._next_round, None
                done = await self._round_trip()
                waiting.set_result(done)
                waiting = None
        finally:
            self._rounds = None
            # Cancelled (the process is stopping): whoever waits verifies in the database.
            for left in (waiting, self._next_round):
                if left is not None and not left.done():
                    left.set_result(False)
            self._next_round = None

    async def _round_trip(self) -> bool:
        conn = self._connection
        if not self._listening or conn is None or conn.is_closed():
            return False
        listening: asyncpg.Connection = conn
        try:
            # Its ReadyForQuery follows every notification the backend had to send;
            # asyncpg has scheduled their callbacks before it completes the query,
            # and they run before whoever awaits the result.
            await listening.execute("SELECT 1", timeout=PING_SECONDS)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # stalled or broken: as good as lost
            if self._connection is listening and self._listening:
                log.warning(
                    "the auth listener did not answer (%s); verifying keys in the database",
                    exc.__class__.__name__,
                )
                self._stop_listening()
            listening.terminate()  # the listening loop connects again
            return False
        return self._listening and self._connection is listening

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
        self.forget(str(payload))

    async def committed(self, events: list[str]) -> None:
        """Apply a committed transaction's events here at once.

        Other processes need no wait: each catches up with its listener before
        it serves a key from memory, so the change holds for them too from the
        moment the commit returned.
        """
        for event in events:
            self.forget(event)

    def _stop_listening(self) -> None:
        self._epoch += 1
        self._listening = False
        self._entries.clear()

    def _on_termination(self, connection: object) -> None:
        if not self._stopping and self._listening and connection is self._connection:
            log.warning("lost the auth listener connection; verifying keys in the database")
        if connection is self._connection:
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
                    # An idle socket can die silently; a round trip finds out (and
                    # shares the connection with the requests' own round trips).
                    await self.caught_up()
                await asyncio.sleep(RECONNECT_SECONDS)
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
