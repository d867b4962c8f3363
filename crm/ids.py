"""Record identifiers: time-ordered UUIDs (version 7), exposed as opaque strings.

Time order keeps inserts at the right edge of every index led by
`(company_id, created_at)`, and the random tail makes ids unguessable.
"""

from __future__ import annotations

import os
import time
import uuid


def new_id() -> str:
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & 0xFFFF_FFFF_FFFF) << 80 | rand
    value &= ~(0xF << 76)
    value |= 0x7 << 76  # version 7
    value &= ~(0x3 << 62)
    value |= 0x2 << 62  # RFC 4122 variant
    return str(uuid.UUID(int=value))


def parse_id(text: str) -> str | None:
    """The canonical form of an id, or None when `text` cannot be one of ours."""
    if len(text) != 36:
        return None
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None
