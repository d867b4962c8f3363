"""Real server processes (`crm serve`), for what one process cannot show."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(extra)
    return env


@dataclass(frozen=True)
class Server:
    base: str
    log: Path
    pid: int

    def errors_since(self, offset: int) -> list[str]:
        """The last lines (the exceptions) of the tracebacks logged after `offset`."""
        text = self.log.read_text(encoding="utf-8", errors="replace")[offset:]
        errors, in_traceback = [], False
        for line in text.splitlines():
            if line.startswith("Traceback (most recent call last):"):
                in_traceback = True
            elif in_traceback and line and not line.startswith(" "):
                errors.append(line)
                in_traceback = False
        return errors

    def log_size(self) -> int:
        return len(self.log.read_text(encoding="utf-8", errors="replace"))


@contextmanager
def running_server(env: dict[str, str]) -> Iterator[Server]:
    """Start `crm serve` with `env`; yield it once ready; stop it.

    Its output goes to a file (a pipe nobody reads would fill up and block it).
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="crm-server-") as folder:
        log = Path(folder) / "server.log"
        with log.open("w", encoding="utf-8") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            try:
                deadline = time.monotonic() + 60
                while True:
                    if process.poll() is not None:
                        raise RuntimeError(f"server exited: {log.read_text(encoding='utf-8')}")
                    try:
                        if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError("server did not become ready in 60 s")
                    time.sleep(0.1)
                yield Server(base=base, log=log, pid=process.pid)
            finally:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
