"""The idempotency store's table class renamed (`IdempotencyKey` -> `IdempotencyKeyTable`).

Like every table class, it is now named apart from what it stores; only the
class's name changes, in Piccolo's history (see `class_renames`).
"""

from migrations.class_renames import class_renames

ID = "2026-11-28T19:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "idempotency keys: table class renamed"

forwards = class_renames(
    ID, DESCRIPTION, {"IdempotencyKey": ("IdempotencyKeyTable", "idempotency_keys")}
)
