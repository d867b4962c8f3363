"""The HTTP/1.1 protocol the server runs: uvicorn's httptools protocol, bounded at the edge.

uvicorn's own protocol waits for a request's head (request line and headers)
for as long as a client takes to send it, accepts a head of any size, and
answers what its parser refuses with a plain-text 400 and no request id. This
one, given to uvicorn as `http="gateway.server:HttpProtocol"`:

- answers `408 request_timeout` and closes the connection when a request's head
  has not arrived within `HEAD_SECONDS` (of the connection's opening, or of the
  first byte of a later request on a kept-alive connection; an idle kept-alive
  connection is closed by uvicorn's `timeout_keep_alive`);
- answers `431 header_too_large` when the head is over `MAX_HEAD_BYTES`;
- answers the parser's refusals as `400 bad_request`;

each as problem+json with an `X-Request-Id`, like every other error. The body
itself is bounded by the gateway (`gateway.transaction.read_body`).
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

import httptools
import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from crm.errors import BadRequest, CRMError
from gateway.problems import MEDIA_TYPE, RequestTimeout, problem_body
from gateway.request_id import request_id

HEAD_SECONDS = 10.0
MAX_HEAD_BYTES = 64 * 1024


class HeaderTooLarge(CRMError):
    status, code, title = 431, "header_too_large", "Request header fields too large"


class HttpProtocol(HttpToolsProtocol):
    _head_timer: asyncio.TimerHandle | None = None
    _head_bytes = 0
    _in_head = True  # a head is expected: at the start, and after each message begins
    _refusal: CRMError | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _start_head_timer(self) -> None:
        self._stop_head_timer()
        self._head_bytes = 0
        self._head_timer = self.loop.call_later(HEAD_SECONDS, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self._refuse(
                RequestTimeout(f"The request's headers did not arrive within {HEAD_SECONDS:g} s.")
            )

    def data_received(self, data: bytes) -> None:
        expecting = self._in_head
        super().data_received(data)
        # The parser hands a header over only once it is complete, so one endless
        # header is seen here, chunk by chunk; a chunk that completes the head (and
        # may carry the start of a large body) is not counted.
        if expecting and self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse(self._too_large())

    def _too_large(self) -> HeaderTooLarge:
        return HeaderTooLarge(
            f"The request line and headers are over {MAX_HEAD_BYTES // 1024} KiB."
        )

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD_BYTES:
            self._refusal = self._too_large()
            # Stops the parser; uvicorn then answers through send_400_response.
            raise httptools.HttpParserError(self._refusal.detail)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        if self._head_timer is None:  # a later request on a kept-alive connection
            self._start_head_timer()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._stop_head_timer()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        refusal, self._refusal = self._refusal, None
        self._refuse(refusal or BadRequest("The request is not valid HTTP/1.1."))

    def _refuse(self, error: CRMError) -> None:
        """Answer `error` as a problem and close: the connection cannot be read further."""
        self._stop_head_timer()
        rid = request_id({"headers": []})
        body = msgspec.json.encode(problem_body(error, rid))
        head = (
            f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}\r\n"
            f"content-type: {MEDIA_TYPE}\r\n"
            f"content-length: {len(body)}\r\n"
            f"x-request-id: {rid}\r\n"
            "connection: close\r\n\r\n"
        )
        self.transport.write(head.encode("latin-1") + body)
        self.transport.close()
