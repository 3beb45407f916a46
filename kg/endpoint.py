"""Where the SPARQL endpoint's queries run: confined local workers, or a remote store.

:class:`LocalEndpoint` runs every query in a :class:`kg.workers.WorkerPool` whose workers
cannot open a network connection. Queries whose SERVICE calls are all on the operator's
allow-list go to a second, explicitly permitted pool with network access, and only when two
independent readings of the query (the lexer of :mod:`kg.sparql_guard` and rdflib's algebra)
agree that every call is allowed; with an empty allow-list (the default) that pool does not
exist. :class:`kg.remote.RemoteEndpoint` is the other kind of backend; both answer
``run(QueryRequest, timeout_s) -> QueryAnswer`` and raise the errors of :mod:`kg.errors`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import pyoxigraph as ox

from kg.errors import (
    QueryError,
    QueryServiceRefusedError,
    QueryTimeoutError,
    QueryTooComplexError,
)
from kg.sparql import QueryAnswer, QueryRequest, answer_or_raise, handle_query
from kg.sparql_guard import inspect_query, services_by_algebra
from kg.workers import (
    Handler,
    MemoryBudgetError,
    PoolBusyError,
    PoolSpec,
    WorkerCrashedError,
    WorkerPool,
    WorkerTimeoutError,
)


class QueryBackend(Protocol):
    async def run(self, request: QueryRequest, timeout_s: float) -> QueryAnswer: ...

    def pools(self) -> list[WorkerPool]: ...

    def health(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class QueryPoolSettings:
    workers: int = 2
    overflow: int = 4
    queue_limit: int = 64
    memory_mb: int = 512
    service_allowlist: tuple[str, ...] = ()


def _worker(store: ox.Store | None, store_path: str | None, permitted: bool):  # type: ignore[no-untyped-def]
    def prepare():  # type: ignore[no-untyped-def]
        def make() -> Handler:
            target = ox.Store.read_only(store_path) if store_path else store
            assert target is not None
            if permitted:
                return lambda header, body: _handle_permitted(target, header)
            return lambda header, body: _handle_confined(target, header)
        return make
    return prepare


def _handle_confined(store: ox.Store, header: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """A query in a worker without network: allow-listed SERVICE calls are sent on to the
    permitted pool (the reply says so); anything else runs here."""
    allowlist = header.get("service_allowlist") or []
    if allowlist:
        info = inspect_query(str(header.get("text", "")))
        if info.services and not info.refused_services(allowlist):
            return {"ok": False, "kind": "federate"}, b""
    return handle_query(store, header)


def _handle_permitted(store: ox.Store, header: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """A query in a worker with network: only when rdflib's algebra confirms the lexer."""
    allowlist = set(header.get("service_allowlist") or [])
    text = str(header.get("text", ""))
    try:
        by_algebra = services_by_algebra(text)
    except ValueError:
        by_algebra = [None]
    lexed = [s.endpoint for s in inspect_query(text).services]
    refused = [str(s) for s in by_algebra + lexed if s is None or s not in allowlist]
    if refused or not by_algebra:
        return {"ok": False, "kind": "service", "message": "",
                "endpoints": refused or ["?"]}, b""
    return handle_query(store, header)


async def run_in_pool(pool: WorkerPool, header: dict[str, Any], deadline: float,
                      again: bool = True) -> tuple[dict[str, Any], bytes]:
    """A query's task on ``pool`` by ``deadline``; once more on a fresh worker when the
    first ended or reached its memory limit (``again``). The local endpoint's queries and
    the remote endpoint's checks run through here."""
    timeout_s = deadline - time.monotonic()
    try:
        reply, body = await pool.run(header, b"", max(timeout_s, 0.001))
    except WorkerTimeoutError:
        raise QueryTimeoutError(f"the query ran longer than {timeout_s * 1000:.0f} ms "
                                "and was stopped", round(timeout_s * 1000)) from None
    except MemoryBudgetError as err:
        raise PoolBusyError(str(err)) from None
    except WorkerCrashedError:
        reply, body = {"ok": False, "kind": "crashed"}, b""
    if reply.get("kind") not in ("memory", "crashed"):
        return reply, body
    # The worker was replaced. What it held from earlier tasks may have filled it (a lookup
    # after aggregates over 1M triples failed so once), or the service's memory watchdog
    # may have stopped it just as it finished its task (a check over the 10M Virtuoso failed
    # so once, the service itself over its budget); so the query runs once more, on a fresh
    # worker, in the time left. One that needs more than a worker may have fails again, and
    # is then called too complex.
    if again and deadline - time.monotonic() > 0.01:
        return await run_in_pool(pool, header, deadline, again=False)
    if reply.get("kind") == "memory":
        return reply, body  # answered as too complex, with the worker's own message
    raise QueryTooComplexError(
        "this query could not be handled: its worker ended while reading or running it, "
        "twice (the query may be nested too deeply, or need more memory than a worker "
        "may use)")


class LocalEndpoint:
    """The endpoint on the embedded store, in confined worker pools (see the module doc)."""

    def __init__(self, store: ox.Store, settings: QueryPoolSettings,
                 store_path: str | None = None) -> None:
        self.settings = settings
        source = None if store_path else store
        self.pool = WorkerPool(
            PoolSpec("query", size=settings.workers, overflow=settings.overflow,
                     queue_limit=settings.queue_limit, memory_mb=settings.memory_mb,
                     recycle_mb=settings.memory_mb // 2),
            _worker(source, store_path, permitted=False))
        self.federation: WorkerPool | None = None
        if settings.service_allowlist:
            self.federation = WorkerPool(
                PoolSpec("federation", size=1, overflow=1, queue_limit=8,
                         memory_mb=settings.memory_mb, network=True),
                _worker(source, store_path, permitted=True))

    async def run(self, request: QueryRequest, timeout_s: float) -> QueryAnswer:
        header = {**request.as_dict(),
                  "service_allowlist": list(self.settings.service_allowlist)}
        started = time.perf_counter()
        deadline = time.monotonic() + timeout_s
        reply, body = await run_in_pool(self.pool, header, deadline)
        if reply.get("kind") == "federate":
            if self.federation is None:
                raise QueryServiceRefusedError(["?"])
            reply, body = await run_in_pool(self.federation, header, deadline)
        answer = answer_or_raise(reply, body)
        answer.timings["worker"] = round((time.perf_counter() - started) * 1000, 3)
        return answer

    def run_sync(self, request: QueryRequest, timeout_s: float) -> QueryAnswer:
        import asyncio

        return asyncio.run(self.run(request, timeout_s))

    @property
    def worker_pids(self) -> list[int]:
        return self.pool.worker_pids

    @property
    def size(self) -> int:
        return self.pool.spec.size

    def pools(self) -> list[WorkerPool]:
        return [self.pool] + ([self.federation] if self.federation is not None else [])

    def health(self) -> dict[str, Any]:
        pools = [self.pool.health()]
        if self.federation is not None:
            pools.append(self.federation.health())
        return {"kind": "local", "ok": all(p["ok"] for p in pools), "pools": pools}

    def check(self) -> None:
        self.pool.check()
        if self.federation is not None:
            self.federation.check()

    def close(self) -> None:
        self.pool.close()
        if self.federation is not None:
            self.federation.close()


__all__ = ["LocalEndpoint", "QueryBackend", "QueryError", "QueryPoolSettings"]
