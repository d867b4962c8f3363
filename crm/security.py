"""Secrets: API key format and hashing, password hashing.

An API key looks like `crm_<id>_<secret><checksum>`:

- `crm_<id>` is the key record's `prefix`: public, unique, it finds the record
  and names the key in lists and logs;
- `<secret>` is 43 base62 characters, 256 random bits;
- `<checksum>` is 6 base62 characters of the CRC32 of everything before it, so
  a mistyped or truncated key is refused without a database lookup, and secret
  scanners can tell a real key from random text.

Only HMAC-SHA256(CRM_SECRET_KEY, key) is stored. A fast keyed hash is right for
a 256-bit random secret (nothing to brute-force) and costs microseconds per
request; argon2 is kept for passwords, which are guessable.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass, field

from argon2 import PasswordHasher

KEY_PREFIX = "crm_"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_LENGTH = 12
_SECRET_LENGTH = 43  # 62**43 > 2**256
_CHECKSUM_LENGTH = 6  # 62**6 > 2**32
_KEY_RE = re.compile(
    rf"^crm_([0-9A-Za-z]{{{_ID_LENGTH}}})_([0-9A-Za-z]{{{_SECRET_LENGTH + _CHECKSUM_LENGTH}}})$"
)
KEY_LENGTH = len(KEY_PREFIX) + _ID_LENGTH + 1 + _SECRET_LENGTH + _CHECKSUM_LENGTH


def _base62(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 62)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), _CHECKSUM_LENGTH)


@dataclass(frozen=True, slots=True)
class NewKey:
    prefix: str  # public part, stored and shown in lists
    key: str = field(repr=False)  # the full secret, shown once; never logged


def generate_api_key() -> NewKey:
    prefix = KEY_PREFIX + _random_base62(_ID_LENGTH)
    body = f"{prefix}_{_random_base62(_SECRET_LENGTH)}"
    return NewKey(prefix=prefix, key=body + _checksum(body))


def parse_api_key(key: str) -> str | None:
    """The key's prefix when `key` is well formed with a valid checksum, else None.

    Pure string work: no database, no secret needed.
    """
    if len(key) != KEY_LENGTH:
        return None
    match = _KEY_RE.match(key)
    if match is None:
        return None
    body, checksum = key[:-_CHECKSUM_LENGTH], key[-_CHECKSUM_LENGTH:]
    if not hmac.compare_digest(_checksum(body), checksum):
        return None
    return KEY_PREFIX + match.group(1)


def hash_api_key(secret_key: str, key: str) -> bytes:
    return hmac.new(secret_key.encode(), key.encode(), hashlib.sha256).digest()


def api_key_matches(secret_key: str, key: str, stored_hash: bytes) -> bool:
    return hmac.compare_digest(hash_api_key(secret_key, key), stored_hash)


_password_hasher = PasswordHasher()  # argon2id with the library's current defaults


async def hash_password(password: str) -> str:
    # argon2 is deliberately slow: keep it off the event loop.
    return await asyncio.to_thread(_password_hasher.hash, password)
