"""The embedded PostgreSQL: a real server from the `pgserver` wheel, kept under a folder.

Used when `CRM_DATABASE_URL` is unset, so a new user needs nothing installed.
The server is shared by every process that opens the same folder and stops when
the last of them closes its handle (or exits).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the server and return its connection URL."""
        # pgserver keeps its lock under the user's runtime folder; where XDG_RUNTIME_DIR
        # is unset (containers, CI) it falls back to /tmp with a warning we don't need.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        import pgserver  # imported here: only the embedded mode needs it

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        log.info("starting the embedded PostgreSQL in %s", self.pgdata)
        self._server = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        return str(self._server.get_uri())

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.cleanup()
