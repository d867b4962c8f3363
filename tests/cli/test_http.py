"""The server's own bounds, before the app: the request head's size and time, proxies."""

import json
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from cli.http import HEAD_TIMEOUT, MAX_HEAD_BYTES
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


def connect(server: Server) -> socket.socket:
    address = urlsplit(server.base)
    return socket.create_connection((address.hostname, address.port), timeout=HEAD_TIMEOUT + 5)


def response(sock: socket.socket) -> tuple[str, dict[str, str], bytes]:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    return status, headers, body


def assert_bad_request_problem(
    answer: tuple[str, dict[str, str], bytes], detail: str
) -> dict[str, object]:
    status, headers, body = answer
    assert status == "HTTP/1.1 400 Bad Request"
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    problem = json.loads(body)
    assert problem["code"] == "bad_request"
    assert problem["status"] == 400
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
    problem = assert_bad_request_problem(
        answer, f"The request line and headers exceed {MAX_HEAD_BYTES} bytes."
    )
    assert problem["request_id"] == "big-head"


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
    assert_bad_request_problem(
        answer, f"The request line and headers exceed {MAX_HEAD_BYTES} bytes."
    )


def test_a_head_within_the_limit_is_served(server: Server) -> None:
    padding = "a" * (MAX_HEAD_BYTES - 1024)
    answer = httpx.get(f"{server.base}/health/live", headers={"X-Padding": padding})
    assert answer.status_code == 200


def test_a_request_that_is_not_http_is_answered_as_a_problem(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"HELLO / SMTP\r\n\r\n")
        answer = response(sock)
    assert_bad_request_problem(answer, "The request is not valid HTTP/1.1.")


def test_silent_and_trickling_connections_are_closed_after_the_head_timeout(
    server: Server,
) -> None:
    closed_after: dict[str, float] = {}

    def silent() -> None:
        with connect(server) as sock:
            start = time.monotonic()
            assert sock.recv(1) == b""
            closed_after["silent"] = time.monotonic() - start

    def trickling() -> None:
        with connect(server) as sock:
            start = time.monotonic()
            sock.sendall(b"GET /health/live HTTP/1.1\r\n")
            try:
                for _ in range(int(HEAD_TIMEOUT * 4)):
                    sock.sendall(b"X: y\r\n")  # a header every 0.5 s, never the end
                    time.sleep(0.5)
            except OSError:
                pass
            closed_after["trickling"] = time.monotonic() - start

    threads = [threading.Thread(target=silent), threading.Thread(target=trickling)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert HEAD_TIMEOUT - 0.5 <= closed_after["silent"] <= HEAD_TIMEOUT + 2
    assert HEAD_TIMEOUT - 0.5 <= closed_after["trickling"] <= HEAD_TIMEOUT + 2


def test_x_forwarded_for_is_not_believed_without_trusted_proxies(server: Server) -> None:
    statuses = [
        httpx.get(
            f"{server.base}/v1/me",
            headers={"Authorization": "Bearer crm_nonsense", "X-Forwarded-For": f"10.0.0.{i}"},
        ).status_code
        for i in range(3)
    ]
    assert statuses == [401, 401, 429]
