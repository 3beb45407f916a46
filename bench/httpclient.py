"""Load generation over HTTP/1.1 keep-alive: a minimal asyncio client and an httpx one.

The raw client speaks just enough HTTP/1.1 for GET with Content-Length or chunked answers;
it costs far less per request than httpx, so the server, not the client, is measured.
Every loop is bounded by a request count AND a time cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from dataclasses import dataclass, field
from urllib.parse import quote

ACCEPT = "application/sparql-results+json"


class RawConnection:
    """One keep-alive connection to 127.0.0.1:port."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, limit=1 << 24)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def get(self, target: str) -> tuple[int, bytes]:
        if self.writer is None:
            await self._open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(f"GET {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                          f"Accept: {ACCEPT}\r\n\r\n".encode())
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(parts)
        else:
            body = await self.reader.read()
            await self.close()
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body


class HttpxConnection:
    """The same interface over one httpx.AsyncClient (for measuring client overhead)."""

    def __init__(self, host: str, port: int) -> None:
        import httpx

        self.base = f"http://{host}:{port}"
        self.client = httpx.AsyncClient(timeout=120, headers={"Accept": ACCEPT})

    async def get(self, target: str) -> tuple[int, bytes]:
        response = await self.client.get(self.base + target)
        return response.status_code, response.content

    async def close(self) -> None:
        await self.client.aclose()


def sparql_target(path: str, query: str) -> str:
    return f"{path}?query={quote(query, safe='')}"


@dataclass
class CellResult:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    def summary(self) -> dict[str, float | int | dict[int, int]]:
        return {"requests": self.requests, "errors": self.errors,
                "seconds": round(self.seconds, 3), "rps": round(self.rps, 2),
                "p50_ms": round(self.pct(0.50), 2), "p99_ms": round(self.pct(0.99), 2),
                "mean_ms": round(statistics.fmean(self.latencies_ms), 2)
                if self.latencies_ms else None, "statuses": self.statuses}


async def run_cell(port: int, target: str, *, concurrency: int, requests: int,
                   max_seconds: float, client: str = "raw",
                   stop: asyncio.Event | None = None) -> CellResult:
    """``requests`` GETs of ``target`` by ``concurrency`` workers, stopped after ``max_seconds``."""
    result = CellResult()
    issued = 0
    started = time.perf_counter()
    deadline = started + max_seconds

    async def worker() -> None:
        nonlocal issued
        conn = (RawConnection if client == "raw" else HttpxConnection)("127.0.0.1", port)
        try:
            while issued < requests and time.perf_counter() < deadline and \
                    not (stop and stop.is_set()):
                issued += 1
                t0 = time.perf_counter()
                try:
                    status, _ = await asyncio.wait_for(conn.get(target),
                                                       timeout=max(1.0, deadline - t0 + 60))
                except (TimeoutError, OSError, asyncio.IncompleteReadError):
                    result.errors += 1
                    await conn.close()
                    continue
                result.latencies_ms.append((time.perf_counter() - t0) * 1000)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                result.requests += 1
                if status != 200:
                    result.errors += 1
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


async def fetch_once(port: int, target: str, timeout: float = 300) -> tuple[int, bytes, float]:
    conn = RawConnection("127.0.0.1", port)
    t0 = time.perf_counter()
    try:
        status, body = await asyncio.wait_for(conn.get(target), timeout=timeout)
    finally:
        await conn.close()
    return status, body, (time.perf_counter() - t0) * 1000
