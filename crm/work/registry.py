"""Handlers: what a worker does with each kind of job, and how it may say it failed.

A handler is `async def handle(job: Job) -> None`, registered for one kind with
the kind of effect it has:

- `database`: its effect is writes to our database. It runs inside the
  transaction that also marks the job succeeded (`crm.db.connection()` is that
  transaction), so the effect happens exactly once: both commit, or a crash or
  an error rolls both back and the job runs again. Jobs it enqueues (the next
  step of a sequence) commit with it.
- `external`: its effect leaves the process (SMTP, an HTTP delivery). It runs
  outside any transaction, after the attempt's start is committed and before
  its outcome is: at least once, with `job.id` as the idempotency key the
  receiver can use (Message-ID, webhook-id). A repeat happens only when the
  worker dies between the effect and recording it.

A handler raises `RetryLater` to be run again after a given delay (an SMTP 4xx,
a 429 with Retry-After), `Failed` to give up at once (a 5xx bounce), and any
other exception to be retried with exponential backoff, until the job's
`max_attempts`; the error is kept on the job either way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from crm.work.schemas import Job

HandlerFunction = Callable[[Job], Coroutine[Any, Any, None]]

# Modules whose import registers the handlers every worker runs. A part of the
# application with work of its own adds its module here.
HANDLER_MODULES: tuple[str, ...] = ("crm.work.housekeeping",)


class Effect(StrEnum):
    DATABASE = "database"
    EXTERNAL = "external"


@dataclass(frozen=True, slots=True)
class Handler:
    kind: str
    effect: Effect
    function: HandlerFunction


class RetryLater(Exception):
    """Run the job again in `seconds`; `error` is kept on the job meanwhile."""

    def __init__(self, seconds: float, error: str) -> None:
        super().__init__(error)
        self.seconds = max(0.0, float(seconds))
        self.error = error


class Failed(Exception):
    """Give the job up now (a permanent error): it ends `failed` with `error`."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


_handlers: dict[str, Handler] = {}


def handler(
    kind: str, *, effect: Literal["database", "external"]
) -> Callable[[HandlerFunction], HandlerFunction]:
    """Register the decorated function as the handler of jobs of `kind`."""

    def register(function: HandlerFunction) -> HandlerFunction:
        existing = _handlers.get(kind)
        if existing is not None and existing.function is not function:
            raise ValueError(f"kind {kind!r} has a handler already: {existing.function!r}")
        _handlers[kind] = Handler(kind, Effect(effect), function)
        return function

    return register


def unregister(kind: str) -> None:
    """Forget a kind's handler (a test that plays a deploy which removed it)."""
    _handlers.pop(kind, None)


def get(kind: str) -> Handler | None:
    return _handlers.get(kind)


def matches(kind: str, pattern: str) -> bool:
    """Whether `kind` matches `pattern`, where `*` stands for any text (`email.*`)."""
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), kind) is not None


def kinds_matching(patterns: Iterable[str]) -> list[str]:
    """The registered kinds that match any of `patterns`."""
    patterns = list(patterns)
    return sorted(k for k in _handlers if any(matches(k, p) for p in patterns))


def like_pattern(pattern: str) -> str:
    """A kinds pattern (`email.*`) as SQL LIKE (`email.%`), its other characters literal."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")
