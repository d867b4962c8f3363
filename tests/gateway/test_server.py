"""The bounded HTTP protocol (`gateway.server`) in a real uvicorn server.

Heads that never finish, heads too large and requests the parser refuses are
answered as problems with a request id, and the connection is closed.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from tests.conftest import ADMIN_TOKEN, SECRET_KEY
from tests.factories import make_company
from tests.servers import clean_env, free_port

HEAD_SECONDS = 1.0
LAUNCH = f"""
import uvicorn
import gateway.server
gateway.server.HEAD_SECONDS = {HEAD_SECONDS}
uvicorn.run("gateway.app:app_from_env", factory=True, host="127.0.0.1", port=int(__import__("sys").argv[1]),
            http="gateway.server:HttpProtocol", loop="uvloop", log_level="warning")
"""


@pytest.fixture(scope="module")
def bounded_server(database_url: str) -> Iterator[int]:
    port = free_port()
    env = clean_env(
        CRM_DATABASE_URL=database_url,
        CRM_SECRET_KEY=SECRET_KEY,
        CRM_ADMIN_TOKEN=ADMIN_TOKEN,
        CRM_RATE_LIMIT_FREE="100000/minute",
    )
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "server.log"
        with log.open("w") as output:
            process = subprocess.Popen(
                [sys.executable, "-c", LAUNCH, str(port)], env=env, stdout=output, stderr=output
            )
            try:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        if httpx.get(f"http://127.0.0.1:{port}/health/ready").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert process.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, "server did not start"
                    time.sleep(0.1)
                yield port
            finally:
                process.terminate()
                process.wait(timeout=20)


async def exchange(port: int, data: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Send `data`; the status, headers and JSON body of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=HEAD_SECONDS + 5)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ")[1]), headers, msgspec.json.decode(body)


def assert_problem(
    status: int, headers: dict[str, str], body: dict[str, Any], expected: int, code: str
) -> None:
    assert status == expected
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    assert body["code"] == code
    assert body["status"] == expected
    assert body["request_id"] == headers["x-request-id"]
    assert headers["x-request-id"].startswith("req_")


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /v1/me HTTP/1.1\r\nHost: x\r\nBad Header: yes\r\n\r\n",
        b"GET /v1/me HTTP/9.9\r\nHost: x\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # TLS spoken to a plain port
        b"GET /v1/me HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
    ],
    ids=["space in a name", "unknown version", "tls", "two lengths"],
)
async def test_what_the_parser_refuses_is_a_400_problem(
    bounded_server: int, request_bytes: bytes
) -> None:
    assert_problem(*await exchange(bounded_server, request_bytes), 400, "bad_request")


async def test_headers_that_never_finish_are_a_408_problem(bounded_server: int) -> None:
    started = time.monotonic()
    answer = await exchange(bounded_server, b"GET /v1/me HTTP/1.1\r\nHost: x\r\n")
    assert_problem(*answer, 408, "request_timeout")
    # The timer may fire within a clock tick of its time.
    assert HEAD_SECONDS - 0.05 <= time.monotonic() - started < HEAD_SECONDS + 1


async def test_a_connection_that_sends_nothing_is_closed(bounded_server: int) -> None:
    answer = await exchange(bounded_server, b"")
    assert_problem(*answer, 408, "request_timeout")


@pytest.mark.parametrize("where", ["url", "headers"])
async def test_a_head_over_64_kib_is_a_431_problem(bounded_server: int, where: str) -> None:
    if where == "url":
        data = b"GET /v1/me?q=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    else:
        pad = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 1000) for i in range(70))
        data = b"GET /v1/me HTTP/1.1\r\nHost: x\r\n" + pad + b"\r\n"
    assert_problem(*await exchange(bounded_server, data), 431, "header_too_large")


async def test_ordinary_requests_pass_on_a_kept_alive_connection(
    client: httpx.AsyncClient, bounded_server: int
) -> None:
    tenant = await make_company(client)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bounded_server}") as http:
        statuses = []
        for _ in range(3):
            statuses.append((await http.get("/v1/me", headers=tenant.owner.headers)).status_code)
            await asyncio.sleep(HEAD_SECONDS * 1.2)  # idle between requests is not a slow head
    assert statuses == [200, 200, 200]
