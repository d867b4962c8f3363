"""The Piccolo app: every table of the domain, and where its migrations live."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from crm.agents.tables import Agent
from crm.api_keys.tables import ApiKey
from crm.billing.tables import BillingEvent
from crm.companies.tables import Company
from crm.contacts.tables import ContactPhoneTable, ContactTable
from crm.deals.tables import DealTable
from crm.idempotency.tables import IdempotencyKey
from crm.tasks.tables import TaskTable
from crm.teams.tables import Team

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

TABLES = [
    Company,
    Team,
    Agent,
    ApiKey,
    ContactTable,
    ContactPhoneTable,
    DealTable,
    TaskTable,
    IdempotencyKey,
    BillingEvent,
]

APP_CONFIG = AppConfig(
    app_name="crm",
    migrations_folder_path=str(MIGRATIONS_DIR),
    table_classes=TABLES,
)
