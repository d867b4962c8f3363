"""The embedded PostgreSQL: a real server from the `pgserver` wheel, kept under a folder.

Used when `CRM_DATABASE_URL` is unset, so a new user needs nothing installed.
The server is shared by every process that opens the same folder and stops when
the last of them closes its handle (or exits). pgserver lists the processes
holding a handle in the folder; one that died without closing its own (killed,
or stopped by a signal it did not handle) would keep the server running for
ever, so the dead are dropped from that list before a handle is taken or closed.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self._server: PostgresServer | None = None

    def start(self) -> str:
        """Start (or join) the server and return its connection URL."""
        # pgserver keeps its lock under the user's runtime folder; where XDG_RUNTIME_DIR
        # is unset (containers, CI) it falls back to /tmp with a warning we don't need.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        # Imported here: only the embedded mode needs it.
        from pgserver.postgres_server import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._prune_dead_handles()
        log.info("starting the embedded PostgreSQL in %s", self.pgdata)
        self._server = get_server(self.pgdata, cleanup_mode="stop")
        return self._server.get_uri()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            self._prune_dead_handles()
            server.cleanup()

    def _prune_dead_handles(self) -> None:
        from pgserver.postgres_server import PostgresServer

        handles = self.pgdata / ".handle_pids.json"  # pgserver's list of handle holders
        with PostgresServer._lock:  # the lock pgserver takes to change that list
            if not handles.exists():
                return
            pids = json.loads(handles.read_text())
            alive = [pid for pid in pids if pid == os.getpid() or _running(pid)]
            if alive != pids:
                log.info("dropping the handles of exited processes %s", set(pids) - set(alive))
                handles.write_text(json.dumps(alive))


def _running(pid: int) -> bool:
    import psutil  # a dependency of pgserver

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
