"""Constraints and indexes that Piccolo's table definitions cannot express.

Every tenant table gets a unique `(company_id, id)`, and every reference between
tenant records is a composite foreign key `(company_id, x_id)`: the database
itself refuses a task that points at another company's contact. Indexes are led
by `company_id`, so the schema can be distributed by tenant (Citus).
"""

from migrations.sql import sql_migration

ID = "2026-11-21T08:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "tenant keys, constraints and indexes"

SQL = """
ALTER TABLE companies
    ADD CONSTRAINT companies_plan_check CHECK (plan IN ('free', 'pro', 'enterprise')),
    ADD CONSTRAINT companies_subscription_status_check
        CHECK (subscription_status IN ('trialing', 'active', 'past_due', 'cancelled'));

ALTER TABLE teams
    ADD CONSTRAINT teams_company_fk FOREIGN KEY (company_id)
        REFERENCES companies (id) ON DELETE CASCADE,
    ADD CONSTRAINT teams_company_id_key UNIQUE (company_id, id);
CREATE UNIQUE INDEX teams_company_name_key ON teams (company_id, lower(name));
CREATE INDEX teams_company_created_idx ON teams (company_id, created_at, id);

ALTER TABLE agents
    ADD CONSTRAINT agents_company_fk FOREIGN KEY (company_id)
        REFERENCES companies (id) ON DELETE CASCADE,
    ADD CONSTRAINT agents_company_id_key UNIQUE (company_id, id),
    ADD CONSTRAINT agents_team_fk FOREIGN KEY (company_id, team_id)
        REFERENCES teams (company_id, id),
    ADD CONSTRAINT agents_role_check CHECK (role IN ('owner', 'team_leader', 'agent'));
CREATE UNIQUE INDEX agents_company_email_key ON agents (company_id, lower(email));
CREATE INDEX agents_company_created_idx ON agents (company_id, created_at, id);
CREATE INDEX agents_company_team_idx ON agents (company_id, team_id);

ALTER TABLE api_keys
    ADD CONSTRAINT api_keys_company_fk FOREIGN KEY (company_id)
        REFERENCES companies (id) ON DELETE CASCADE,
    ADD CONSTRAINT api_keys_agent_fk FOREIGN KEY (company_id, agent_id)
        REFERENCES agents (company_id, id);
CREATE INDEX api_keys_company_created_idx ON api_keys (company_id, created_at, id);
CREATE INDEX api_keys_company_agent_idx ON api_keys (company_id, agent_id, created_at, id);

ALTER TABLE contacts
    ADD CONSTRAINT contacts_company_fk FOREIGN KEY (company_id)
        REFERENCES companies (id) ON DELETE CASCADE,
    ADD CONSTRAINT contacts_company_id_key UNIQUE (company_id, id),
    ADD CONSTRAINT contacts_owner_fk FOREIGN KEY (company_id, owner_id)
        REFERENCES agents (company_id, id);
CREATE INDEX contacts_company_created_idx ON contacts (company_id, created_at, id);
CREATE INDEX contacts_company_updated_idx ON contacts (company_id, updated_at, id);
CREATE INDEX contacts_company_next_task_idx ON contacts (company_id, next_task_due_at, id);
CREATE INDEX contacts_company_owner_created_idx
    ON contacts (company_id, owner_id, created_at, id);
CREATE INDEX contacts_tags_idx ON contacts USING gin (tags);
CREATE INDEX contacts_search_idx ON contacts USING gin (search);

ALTER TABLE contact_phones
    ADD CONSTRAINT contact_phones_contact_fk FOREIGN KEY (company_id, contact_id)
        REFERENCES contacts (company_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT contact_phones_position_key UNIQUE (contact_id, position);
CREATE INDEX contact_phones_company_number_idx ON contact_phones (company_id, number);

ALTER TABLE deals
    ADD CONSTRAINT deals_company_fk FOREIGN KEY (company_id)
        REFERENCES companies (id) ON DELETE CASCADE,
    ADD CONSTRAINT deals_company_id_key UNIQUE (company_id, id),
    ADD CONSTRAINT deals_owner_fk FOREIGN KEY (company_id, owner_id)
        REFERENCES agents (company_id, id),
    ADD CONSTRAINT deals_contact_fk FOREIGN KEY (company_id, contact_id)
        REFERENCES contacts (company_id, id) ON DELETE SET NULL (contact_id),
    ADD CONSTRAINT deals_stage_check
        CHECK (stage IN ('lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost')),
    ADD CONSTRAINT deals_amount_check CHECK (amount >= 0);
CREATE INDEX deals_company_created_idx ON deals (company_id, created_at, id);
CREATE INDEX deals_company_owner_created_idx ON deals (company_id, owner_id, created_at, id);
CREATE INDEX deals_company_stage_created_idx ON deals (company_id, stage, created_at, id);
CREATE INDEX deals_company_contact_idx ON deals (company_id, contact_id);
CREATE INDEX deals_company_amount_idx ON deals (company_id, amount, id);
CREATE INDEX deals_company_close_date_idx ON deals (company_id, expected_close_date, id);

ALTER TABLE tasks
    ADD CONSTRAINT tasks_company_fk FOREIGN KEY (company_id)
        REFERENCES companies (id) ON DELETE CASCADE,
    ADD CONSTRAINT tasks_company_id_key UNIQUE (company_id, id),
    ADD CONSTRAINT tasks_assignee_fk FOREIGN KEY (company_id, assignee_id)
        REFERENCES agents (company_id, id),
    ADD CONSTRAINT tasks_contact_fk FOREIGN KEY (company_id, contact_id)
        REFERENCES contacts (company_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT tasks_deal_fk FOREIGN KEY (company_id, deal_id)
        REFERENCES deals (company_id, id) ON DELETE SET NULL (deal_id);
CREATE INDEX tasks_company_created_idx ON tasks (company_id, created_at, id);
CREATE INDEX tasks_company_assignee_created_idx
    ON tasks (company_id, assignee_id, created_at, id);
CREATE INDEX tasks_company_due_idx ON tasks (company_id, due_at, id);
CREATE INDEX tasks_company_deal_idx ON tasks (company_id, deal_id);
-- The earliest open task of a contact: what keeps next_task_due_at exact.
CREATE INDEX tasks_open_by_contact_idx ON tasks (company_id, contact_id, due_at)
    WHERE NOT done;
"""


forwards = sql_migration(ID, DESCRIPTION, SQL)
