"""`crm serve` runs the bounded protocol: the request head's size, parser refusals, proxies.

The protocol itself (its time limits included) is tested in tests/gateway/test_server.py;
these check that the command line really serves with it.
"""

import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from gateway.server import HEAD_SECONDS, MAX_HEAD_BYTES
from tests.conftest import SECRET_KEY
from tests.servers import Server, clean_env, running_server


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    env = clean_env(
        CRM_DATABASE_URL=database_url,
        CRM_SECRET_KEY=SECRET_KEY,
        CRM_AUTH_FAILURE_LIMIT="2/minute",
    )
    with running_server(env) as running:
        yield running


TOO_LARGE = (
    "HTTP/1.1 431 Request Header Fields Too Large",
    "header_too_large",
    f"The request line and headers are over {MAX_HEAD_BYTES // 1024} KiB.",
)


def connect(server: Server) -> socket.socket:
    address = urlsplit(server.base)
    return socket.create_connection((address.hostname, address.port), timeout=HEAD_SECONDS + 5)


def response(sock: socket.socket) -> tuple[str, dict[str, str], bytes]:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    return status, headers, body


def assert_problem(
    answer: tuple[str, dict[str, str], bytes], status_line: str, code: str, detail: str
) -> dict[str, object]:
    status, headers, body = answer
    assert status == status_line
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    problem = json.loads(body)
    assert problem["code"] == code
    assert problem["detail"] == detail
    assert problem["request_id"] == headers["x-request-id"]
    return problem


def test_a_head_over_the_limit_is_refused_as_a_problem(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Request-Id: big-head\r\n"
            b"X-Padding: " + b"a" * MAX_HEAD_BYTES + b"\r\n\r\n"
        )
        answer = response(sock)
    assert_problem(answer, *TOO_LARGE)


def test_one_endless_header_is_cut_off_at_the_limit(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        sent = 0
        try:
            while sent < 10 * MAX_HEAD_BYTES:
                sock.sendall(b"a" * 4096)
                sent += 4096
                time.sleep(0.01)
        except OSError:
            pass  # closed by the server, as it should be
        answer = response(sock)
    assert sent < 4 * MAX_HEAD_BYTES
    assert_problem(answer, *TOO_LARGE)


def test_a_head_within_the_limit_is_served(server: Server) -> None:
    padding = "a" * (MAX_HEAD_BYTES - 1024)
    answer = httpx.get(f"{server.base}/health/live", headers={"X-Padding": padding})
    assert answer.status_code == 200


def test_a_request_that_is_not_http_is_answered_as_a_problem(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"HELLO / SMTP\r\n\r\n")
        answer = response(sock)
    assert_problem(
        answer, "HTTP/1.1 400 Bad Request", "bad_request", "The request is not valid HTTP/1.1."
    )


def test_x_forwarded_for_is_not_believed_without_trusted_proxies(server: Server) -> None:
    statuses = [
        httpx.get(
            f"{server.base}/v1/me",
            headers={"Authorization": "Bearer crm_nonsense", "X-Forwarded-For": f"10.0.0.{i}"},
        ).status_code
        for i in range(3)
    ]
    assert statuses == [401, 401, 429]
