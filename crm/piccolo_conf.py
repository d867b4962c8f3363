"""Piccolo's configuration: the engine its migrations run on, and the one app.

The server itself talks to PostgreSQL through its own asyncpg pool
(`crm.db`); Piccolo is used for table definitions and migrations. The DSN is
set by `crm.migrations.migrate` before any migration runs.
"""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine


class _Engine(PostgresEngine):
    async def check_version(self) -> None:
        # Piccolo connects at import to read the server version; there is no
        # database to ask yet at that point. `crm check` verifies the server.
        return None


DB = _Engine(config={"dsn": "postgresql:///crm-not-configured"}, extensions=())

APP_REGISTRY = AppRegistry(apps=["crm.piccolo_app"])
