"""The worker pool's memory readings (kg.workers): a worker that grew past ``recycle_mb``
is replaced, one that did not is kept, and the cheap resident-size bound the watchdog reads
first is never below the PSS it stands in for."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from kg.workers import (
    RECYCLE_CHECK_EVERY,
    MemoryWatchdog,
    PoolSpec,
    WorkerPool,
    proportional_memory_bytes,
    resident_bytes,
)

_HELD: list[bytes] = []


def _prepare():  # type: ignore[no-untyped-def]
    def make():  # type: ignore[no-untyped-def]
        def handle(header: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
            grow = int(header.get("grow_mb", 0))
            if grow:
                _HELD.append(os.urandom(grow * 1024 * 1024))  # private, touched pages
            return {"ok": True, "pid": os.getpid()}, b""
        return handle
    return make


async def _pids_over(pool: WorkerPool, tasks: int, grow_mb: int) -> list[int]:
    pids = []
    for _ in range(tasks):
        reply, _ = await pool.run({"grow_mb": grow_mb}, b"", 10)
        pids.append(int(reply["pid"]))
    return pids


def test_a_worker_past_recycle_mb_is_replaced_and_one_below_is_kept() -> None:
    async def scenario() -> tuple[list[int], list[int]]:
        pool = WorkerPool(PoolSpec("t", size=1, memory_mb=None, recycle_mb=40), _prepare)
        try:
            small = await _pids_over(pool, RECYCLE_CHECK_EVERY * 2, 0)
            grown = await _pids_over(pool, RECYCLE_CHECK_EVERY * 2, 4)  # 4 MB a task
            return small, grown
        finally:
            pool.close()

    small, grown = asyncio.run(scenario())
    assert len(set(small)) == 1  # never over: the same worker throughout
    assert len(set(grown)) >= 2  # 64 MB after 16 tasks: replaced at the check
    assert grown[0] == small[-1]


def test_the_resident_bound_is_never_below_pss() -> None:
    async def scenario() -> list[tuple[int, int]]:
        pool = WorkerPool(PoolSpec("t", size=2, memory_mb=None), _prepare)
        try:
            await _pids_over(pool, 2, 1)
            return [(resident_bytes(pid), proportional_memory_bytes(pid))
                    for pid in [os.getpid(), *pool.processes()]]
        finally:
            pool.close()

    readings = asyncio.run(scenario())
    assert len(readings) >= 3  # this process, the zygote, the workers
    for rss, pss in readings:
        assert pss > 0
        assert rss >= pss


def test_the_watchdog_reads_pss_only_past_its_budget() -> None:
    pool = WorkerPool(PoolSpec("t", size=1, memory_mb=None), _prepare)
    try:
        asyncio.run(_pids_over(pool, 1, 0))
        roomy = MemoryWatchdog([pool], budget_mb=1 << 20)
        tight = MemoryWatchdog([pool], budget_mb=1)
        bound = roomy.measure()
        assert roomy.peak == 0  # within the budget: only the resident bound was read
        assert tight.measure() <= bound
        assert tight.peak > 0  # over it: PSS measured
    finally:
        pool.close()
