"""The Piccolo app: every table of the domain, and where its migrations live."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from crm.agents.tables import AgentTable
from crm.api_keys.tables import ApiKeyTable
from crm.billing.tables import BillingEventTable
from crm.companies.tables import CompanyTable
from crm.contacts.tables import ContactPhoneTable, ContactTable
from crm.deals.tables import DealTable
from crm.email.tables import EmailSuppressionTable, EmailTemplateTable
from crm.idempotency.tables import IdempotencyKeyTable
from crm.tasks.tables import TaskTable
from crm.teams.tables import TeamTable
from crm.work.tables import JobTable

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

TABLES = [
    CompanyTable,
    TeamTable,
    AgentTable,
    ApiKeyTable,
    ContactTable,
    ContactPhoneTable,
    DealTable,
    TaskTable,
    IdempotencyKeyTable,
    BillingEventTable,
    JobTable,
    EmailTemplateTable,
    EmailSuppressionTable,
]

APP_CONFIG = AppConfig(
    app_name="crm",
    migrations_folder_path=str(MIGRATIONS_DIR),
    table_classes=TABLES,
)
