"""The Piccolo tables and the migrations describe the same schema."""

import asyncpg
from piccolo.apps.migrations.commands.new import AutoMigrationManager

from crm.piccolo_app import APP_CONFIG, TABLES

# Piccolo column classes and the PostgreSQL types they create.
PG_TYPES = {
    "UUID": "uuid",
    "Varchar": "character varying",
    "Text": "text",
    "Integer": "integer",
    "SmallInt": "smallint",
    "Boolean": "boolean",
    "Timestamptz": "timestamp with time zone",
    "Date": "date",
    "Numeric": "numeric",
    "Bytea": "bytea",
    "Array": "ARRAY",
    "TSVector": "tsvector",
    "JSONB": "jsonb",
}


async def test_every_table_matches_the_migrated_database(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            """SELECT table_name, column_name, data_type, is_nullable
               FROM information_schema.columns WHERE table_schema = 'public'"""
        )
    finally:
        await conn.close()
    database = {(r["table_name"], r["column_name"]): r for r in rows}
    for table in TABLES:
        name = table._meta.tablename
        declared = {c._meta.db_column_name for c in table._meta.columns}
        migrated = {column for (t, column) in database if t == name}
        assert declared == migrated, f"{name}: columns differ"
        for column in table._meta.columns:
            row = database[(name, column._meta.db_column_name)]
            assert row["data_type"] == PG_TYPES[type(column).__name__], (name, row["column_name"])
            assert (row["is_nullable"] == "YES") == column._meta.null, (name, row["column_name"])


async def test_piccolo_sees_no_change_to_migrate() -> None:
    statements = await AutoMigrationManager().get_alter_statements(app_config=APP_CONFIG)
    assert sum(len(s.statements) for s in statements) == 0
