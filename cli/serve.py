"""`crm serve`: check the options, bind, start the database, migrate, then serve.

The port is bound before anything else, so a port in use is one line and a
non-zero exit, and the banner is printed only once the server holds its port.
SIGTERM stops everything as Ctrl-C does, the embedded PostgreSQL included.

Unless `--no-worker`, every server process also runs a worker of background
jobs (`IN_PROCESS_CONCURRENCY` at once), started and stopped with the app: with
`--workers N`, N of them, sharing the work through PostgreSQL like separate
`crm worker` processes would.
"""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import signal
import socket
from typing import TYPE_CHECKING

from cli.common import database, fail, migrate
from crm.errors import ConfigError
from crm.settings import Settings
from gateway.server import MAX_HEAD_BYTES, HttpProtocol

if TYPE_CHECKING:
    from litestar import Litestar

# Each option stands for its setting, and is checked by the setting's own parser.
OPTIONS = {"host": "CRM_HOST", "port": "CRM_PORT", "workers": "CRM_WORKERS"}

# Jobs each server process runs at once beside its requests; more throughput
# comes from `crm worker` processes.
IN_PROCESS_CONCURRENCY = 4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        help="address to listen on; 0.0.0.0 for every address (CRM_HOST, default 127.0.0.1)",
    )
    parser.add_argument(
        "--port", help="port to listen on, 0-65535; 0 picks a free one (CRM_PORT, default 8000)"
    )
    parser.add_argument(
        "--workers",
        help="server processes, 1-256, each also running background jobs unless "
        "--no-worker (CRM_WORKERS, default 1)",
        metavar="N",
    )
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="run no background jobs in the server's processes: run `crm worker` "
        f"processes instead (default: each server process runs {IN_PROCESS_CONCURRENCY} "
        "jobs at once)",
    )


def cmd_serve(args: argparse.Namespace) -> None:
    overrides = {
        env: str(getattr(args, name))
        for name, env in OPTIONS.items()
        if getattr(args, name) is not None
    }
    settings = _settings(overrides)
    listener = bind(settings.host, settings.port)
    # Worker processes read their settings from the environment: give them the options too.
    os.environ.update(overrides)
    # SIGTERM (`kill`, a service manager) takes the path of Ctrl-C: the server
    # stops its workers, then the embedded PostgreSQL stops with it.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with database(settings) as ready:
            assert ready.database_url is not None
            assert ready.secret_key is not None
            applied = migrate(ready.database_url)
            if applied:
                print(f"Applied {len(applied)} migration(s).")
            os.environ["CRM_DATABASE_URL"] = ready.database_url
            os.environ["CRM_SECRET_KEY"] = ready.secret_key
            print(
                banner(settings, listener.getsockname()[1], worker=not args.no_worker),
                flush=True,
            )
            run(ready, listener, worker=not args.no_worker)
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
    print("Stopped.")


def _settings(overrides: dict[str, str]) -> Settings:
    try:
        return Settings.from_env({**os.environ, **overrides})
    except ConfigError as exc:
        message = str(exc)
        for name, env in OPTIONS.items():
            if env in overrides and message.startswith(env + " "):
                message = f"--{name}{message[len(env) :]}"
        fail(message, 2)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket's address, taken now: a clear line if it cannot be."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            fail(
                f"port {port} on {host} is in use by another program; "
                "stop it or choose another port with --port (or CRM_PORT)"
            )
        fail(f"cannot listen on {host} port {port}: {exc.strerror or exc}")
    sock.set_inheritable(True)
    return sock


def banner(settings: Settings, port: int, *, worker: bool = True) -> str:
    host = settings.host if settings.host not in ("0.0.0.0", "::") else "127.0.0.1"
    base = f"http://{host}:{port}"
    where = (
        f"embedded PostgreSQL in {settings.data_dir / 'postgres'}"
        if settings.embedded
        else "PostgreSQL"
    )
    # From a clone the command is `./dev crm`; installed, `crm` is on the PATH.
    crm = "crm" if shutil.which("crm") else "./dev crm"
    jobs = (
        f"{IN_PROCESS_CONCURRENCY} at once in each server process"
        if worker
        else "none here (--no-worker): run `crm worker`"
    )
    return (
        f"CRM API listening on http://{settings.host}:{port} "
        f"({settings.workers} worker(s), {where})\n"
        f"  API reference: {base}/docs\n"
        f"  Ready check:   {base}/health/ready\n"
        f"  Background jobs: {jobs}\n"
        "First API key (in another terminal):\n"
        f"  {crm} bootstrap --company 'Acme' --owner-email you@example.com --default-region US\n"
        "  --default-region is the country that phone numbers written without +country\n"
        "  code belong to (ISO code: US, GB, FR...); without it they must start with +.\n"
        "Press Ctrl-C to stop."
    )


def app_with_worker() -> Litestar:
    """Factory for the server's processes: the app, with a worker of background jobs."""
    from crm.work.worker import WorkerOptions
    from gateway.app import app_from_env

    return app_from_env(worker=WorkerOptions(concurrency=IN_PROCESS_CONCURRENCY))


def run(settings: Settings, listener: socket.socket, *, worker: bool = True) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    trusted = tuple(getattr(settings, "trusted_proxies", ()))
    config = uvicorn.Config(
        "cli.serve:app_with_worker" if worker else "gateway.app:app_from_env",
        factory=True,
        workers=settings.workers,
        loop="uvloop",
        http=HttpProtocol,
        log_level="warning",
        access_log=False,
        server_header=False,
        # An idle kept-alive connection is closed after 5 s (uvicorn's default, kept deliberately).
        timeout_keep_alive=5,
        # Used should the protocol ever be h11; the httptools one bounds its head itself.
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise:
        # only the configured proxies are believed, and none by default.
        proxy_headers=bool(trusted),
        forwarded_allow_ips=list(trusted) if trusted else "",
    )
    if settings.workers > 1:
        Multiprocess(config, sockets=[listener]).run()
    else:
        uvicorn.Server(config).run(sockets=[listener])
