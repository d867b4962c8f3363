"""A small closed-loop HTTP/1.1 load generator on asyncio streams, for loopback servers.

Each of `concurrency` connections sends a request, reads the whole answer and
sends the next, for `seconds`. It is lean enough (a few microseconds per
request) that on this machine the server, not the generator, is the bottleneck.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Result:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    @property
    def median(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")


def request_bytes(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method in ("POST", "PATCH", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


def repeat(request: bytes) -> Callable[[int], bytes]:
    """A `make_request` that sends the same request every time."""
    return lambda _: request


async def run(
    host: str,
    port: int,
    make_request: Callable[[int], bytes],
    *,
    seconds: float,
    concurrency: int,
) -> Result:
    """Drive the server for `seconds`; `make_request(i)` gives the i-th request's bytes."""
    result = Result()
    deadline = time.perf_counter() + seconds
    counter = 0

    async def worker() -> None:
        nonlocal counter
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                counter += 1
                payload = make_request(counter)
                started = time.perf_counter()
                writer.write(payload)
                try:
                    status = await _read_response(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    result.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                result.latencies.append(time.perf_counter() - started)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                result.requests += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    result.seconds = time.perf_counter() - started
    return result


async def replay(host: str, port: int, streams: list[list[bytes]]) -> Result:
    """Send each stream's requests in order on a connection of its own, streams at once."""
    result = Result()

    async def worker(requests: list[bytes]) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for payload in requests:
                started = time.perf_counter()
                writer.write(payload)
                status = await _read_response(reader)
                result.latencies.append(time.perf_counter() - started)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                result.requests += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*[worker(s) for s in streams])
    result.seconds = time.perf_counter() - started
    return result
