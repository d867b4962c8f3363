"""uvicorn's HTTP/1.1 protocol (httptools) with the request head bounded in size and time.

uvicorn bounds neither with httptools: a client may hold a connection open for
ever by sending nothing, or a header a byte at a time, or send headers without
end. Here the request line and headers must arrive within `HEAD_TIMEOUT` seconds
of the connection opening (or of the request's first byte on a kept-alive
connection) and within `MAX_HEAD_BYTES`. A head too large is answered as a
problem; a head too slow is cut off. Parser errors are answered as problems too.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from crm.errors import BadRequest
from gateway.problems import MEDIA_TYPE, problem_body
from gateway.request_id import request_id

# Request line and headers together; h11's and Node's default bound too.
MAX_HEAD_BYTES = 16 * 1024
HEAD_TIMEOUT = 10.0
# Between requests on a kept-alive connection (uvicorn's default, kept deliberately).
KEEP_ALIVE_TIMEOUT = 5


class _HeadTooLarge(Exception):
    pass


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_size = 0  # request line and headers parsed so far
        self._head_received = 0  # bytes of chunks that fell wholly inside the head
        self._head_too_large = False
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        inside = self._in_head
        super().data_received(data)
        # A header's name and value reach `on_header` only once complete, so one
        # endless header is seen here, chunk by chunk, before the parser is done.
        if inside and self._in_head:
            self._head_received += len(data)
            if self._head_received > MAX_HEAD_BYTES and not self.transport.is_closing():
                self._head_too_large = True
                self.send_400_response("")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_size, self._head_received = True, 0, 0
        self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm_head_timer()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if self._head_too_large:
            detail = f"The request line and headers exceed {MAX_HEAD_BYTES} bytes."
        else:
            detail = "The request is not valid HTTP/1.1."
        headers = list(getattr(self, "headers", None) or ())
        rid = request_id({"headers": headers})
        body = json.dumps(problem_body(BadRequest(detail), rid)).encode()
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[400],
                    b"content-type: " + MEDIA_TYPE.encode() + b"\r\n",
                    b"content-length: " + str(len(body)).encode() + b"\r\n",
                    b"x-request-id: " + rid.encode("latin-1") + b"\r\n",
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
        )
        self.transport.close()

    def _count(self, size: int) -> None:
        self._head_size += size
        if self._head_size > MAX_HEAD_BYTES:
            self._head_too_large = True
            raise _HeadTooLarge  # the parser stops; uvicorn answers with send_400_response

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(HEAD_TIMEOUT, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head is late while an earlier request is answered:
            # finish that answer, then close.
            self.cycle.keep_alive = False
        else:
            self.transport.close()
