"""Table classes named apart from the records they store (`AgentTable` beside `Agent`).

Only the classes' names change, in Piccolo's history: every table keeps its name.
"""

from migrations.class_renames import class_renames

ID = "2026-11-28T17:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "table classes renamed apart from records"

forwards = class_renames(
    ID,
    DESCRIPTION,
    {
        "Agent": ("AgentTable", "agents"),
        "ApiKey": ("ApiKeyTable", "api_keys"),
        "BillingEvent": ("BillingEventTable", "billing_events"),
        "Company": ("CompanyTable", "companies"),
        "Team": ("TeamTable", "teams"),
    },
)
