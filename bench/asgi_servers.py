"""Which ASGI server `crm serve` should run: uvicorn (uvloop + httptools) or granian.

    ./dev bench asgi_servers [--rounds 5] [--seconds 4] [--concurrency 8]

Both serve the same app (one worker each) against the same database, driven in
alternating rounds: an authenticated `GET /v1/me` (key from the cache, rate
limit, three small queries) and `GET /health/live` (the server's own overhead).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys

from bench import loadgen
from bench.common import (
    SECRET_KEY,
    free_port,
    fresh_database,
    postgres_server,
    server,
    uvicorn_command,
)
from bench.gateway_overhead import seed


async def main(args: argparse.Namespace) -> None:
    with postgres_server() as server_url:
        async with fresh_database(server_url) as url:
            _, key = await seed(url, 0)
            env = {
                "CRM_DATABASE_URL": url,
                "CRM_SECRET_KEY": SECRET_KEY,
                "CRM_RATE_LIMIT_ENTERPRISE": "1000000/second",
            }
            ports = {"uvicorn": free_port(), "granian": free_port()}
            commands = {
                "uvicorn": uvicorn_command("gateway.app:app_from_env", ports["uvicorn"]),
                "granian": [
                    sys.executable,
                    "-m",
                    "granian",
                    "--interface",
                    "asgi",
                    "--factory",
                    "gateway.app:app_from_env",
                    "--port",
                    str(ports["granian"]),
                    "--workers",
                    "1",
                    "--loop",
                    "uvloop",
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
            }
            me = loadgen.request_bytes("GET", "/v1/me", {"Authorization": f"Bearer {key}"})
            live = loadgen.request_bytes("GET", "/health/live", {})
            with (
                server(commands["uvicorn"], env, ports["uvicorn"]),
                server(commands["granian"], env, ports["granian"]),
            ):
                rates: dict[tuple[str, str], list[float]] = {}
                for port in ports.values():  # warm up
                    await loadgen.run("127.0.0.1", port, lambda i: me, seconds=2, concurrency=4)
                for _ in range(args.rounds):
                    for path, payload in (("/v1/me", me), ("/health/live", live)):
                        for name, port in ports.items():
                            result = await loadgen.run(
                                "127.0.0.1",
                                port,
                                loadgen.repeat(payload),
                                seconds=args.seconds,
                                concurrency=args.concurrency,
                            )
                            assert set(result.statuses) == {200}, (name, result.statuses)
                            rates.setdefault((name, path), []).append(result.rate)
    for path in ("/v1/me", "/health/live"):
        uv = statistics.median(rates[("uvicorn", path)])
        gr = statistics.median(rates[("granian", path)])
        print(
            f"{path:14} uvicorn {uv:7.0f} req/s   granian {gr:7.0f} req/s   "
            f"granian/uvicorn {gr / uv:.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=8)
    asyncio.run(main(parser.parse_args()))
