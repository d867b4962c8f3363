"""Add each contact's tenant lexeme to its search document.

The lexeme (`_` and the company id's hex digits) lets the GIN index find a
company's matches by itself. Contacts written from now on get it from the
service; this adds it to those written before.
"""

from migrations.sql import sql_migration

ID = "2026-11-21T09:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "contacts: tenant lexeme in the search document"

SQL = """
UPDATE contacts
SET search = coalesce(search, ''::tsvector)
    || array_to_tsvector(ARRAY['_' || replace(company_id::text, '-', '')])
WHERE NOT coalesce(search, ''::tsvector)
    @@ ('''_' || replace(company_id::text, '-', '') || '''')::tsquery
"""


forwards = sql_migration(ID, DESCRIPTION, SQL)
