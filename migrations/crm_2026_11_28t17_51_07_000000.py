"""Table classes renamed (`Contact` -> `ContactTable`, ...): the SQL tables keep their names.

Only the classes' names change, in Piccolo's history (see `class_renames`).
"""

from migrations.class_renames import class_renames

ID = "2026-11-28T17:51:07:000000"
VERSION = "1.38.0"
DESCRIPTION = "contacts, contact phones, deals, tasks: table classes renamed"

forwards = class_renames(
    ID,
    DESCRIPTION,
    {
        "Contact": ("ContactTable", "contacts"),
        "ContactPhone": ("ContactPhoneTable", "contact_phones"),
        "Deal": ("DealTable", "deals"),
        "Task": ("TaskTable", "tasks"),
    },
)
