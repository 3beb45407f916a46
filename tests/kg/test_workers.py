"""The worker pool's memory readings (kg.workers): a worker that grew past ``recycle_mb``
is replaced, one that did not is kept, and the cheap resident-size bound the watchdog reads
first is never below the PSS it stands in for; workers are the kernel's first choice when
memory runs out. And ``run_each``: a child per task, at most
``at_once`` at a time, the replies in order, every child stopped when one fails."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from kg.errors import KGError
from kg.workers import (
    RECYCLE_CHECK_EVERY,
    MemoryWatchdog,
    PoolSpec,
    WorkerCrashedError,
    WorkerPool,
    WorkerTimeoutError,
    merge_identical_pages,
    merging_pages,
    proportional_memory_bytes,
    resident_bytes,
    run_each,
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


def test_a_worker_past_recycle_mb_is_replaced_and_one_below_is_kept(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker whose private memory grew past ``recycle_mb`` is replaced; its memory map is
    read in a thread, not on the event loop, and at most once every RECYCLE_READ_EVERY_S (at
    1M triples a reading took 5-10 ms, and was made for every sixteenth query)."""
    import threading

    import kg.workers

    readers: list[str] = []
    read = kg.workers.private_memory_bytes

    def reading(pid: int) -> int:  # the real reading, and which thread made it
        readers.append(threading.current_thread().name)
        return read(pid)

    monkeypatch.setattr(kg.workers, "private_memory_bytes", reading)

    async def scenario(tasks: int) -> tuple[list[int], list[int]]:
        pool = WorkerPool(PoolSpec("t", size=1, memory_mb=None, recycle_mb=40), _prepare)
        try:
            small = await _pids_over(pool, tasks, 0)
            grown = await _pids_over(pool, tasks, 4)  # 4 MB a task
            return small, grown
        finally:
            pool.close()

    monkeypatch.setattr(kg.workers, "RECYCLE_READ_EVERY_S", 0.0)  # at every check
    small, grown = asyncio.run(scenario(RECYCLE_CHECK_EVERY * 2))
    assert len(set(small)) == 1  # never over: the same worker throughout
    assert len(set(grown)) >= 2  # 64 MB after 16 tasks: replaced at the check
    assert grown[0] == small[-1]
    assert readers and threading.main_thread().name not in readers  # off the event loop

    readers.clear()
    monkeypatch.setattr(kg.workers, "RECYCLE_READ_EVERY_S", 60.0)
    small, grown = asyncio.run(scenario(RECYCLE_CHECK_EVERY * 2))
    assert len(readers) == 1  # four checks within a minute, one reading
    assert len(set(small + grown)) == 1  # the reading found it small: kept


def test_a_worker_is_usable_until_stopped_or_gone_and_its_check_opens_no_file() -> None:
    """The check before every task reads the worker's /proc stat through a descriptor kept
    open (it read the file by path, an open per request); it says what the path said."""
    from support import eventually  # here: a child process imports this module without it

    pool = WorkerPool(PoolSpec("t", size=1, memory_mb=None), _prepare)
    try:
        worker = next(iter(pool._all.values()))
        assert worker.stat_fd >= 0
        opened = len(os.listdir("/proc/self/fd"))
        assert worker.usable()
        assert len(os.listdir("/proc/self/fd")) == opened
        os.kill(worker.pid, signal.SIGSTOP)
        try:
            assert eventually(lambda: not worker.usable())
        finally:
            os.kill(worker.pid, signal.SIGCONT)
        assert eventually(worker.usable)
        os.kill(worker.pid, signal.SIGKILL)
        assert eventually(lambda: not worker.usable())
        pool._discard(worker)
        assert worker.stat_fd == -1  # closed with the worker
    finally:
        pool.close()


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


def test_the_watchdog_reads_pss_at_most_its_share_of_the_time() -> None:
    """Where the resident bound is always over the budget (at 1M triples it counts the
    store's shared pages in every process), PSS is read at most ``pss_share`` of the time;
    in between, the last reading plus the growth of the resident bound stands in for it,
    unless the bound went down (a process gone)."""
    pool = WorkerPool(PoolSpec("t", size=1, memory_mb=None), _prepare)
    try:
        asyncio.run(_pids_over(pool, 1, 0))
        watchdog = MemoryWatchdog([pool], budget_mb=1, pss_share=1e-9)  # one reading
        first = watchdog.measure()
        assert watchdog.pss_readings == 1 and first > 0
        worker = asyncio.run(_pids_over(pool, 1, 32))[0]  # the worker grows by 32 MB
        grown = watchdog.measure()
        assert watchdog.pss_readings == 1  # not read again: the reading and the growth
        assert grown - first >= 30 * 1024 * 1024
        os.kill(worker, signal.SIGKILL)  # a process gone (as when the watchdog stops one):
        deadline = time.monotonic() + 5
        while resident_bytes(worker) and time.monotonic() < deadline:
            time.sleep(0.01)
        watchdog.measure()
        assert watchdog.pss_readings == 2  # read afresh, not the reading from before
        eager = MemoryWatchdog([pool], budget_mb=1, pss_share=1.0)
        eager.measure()
        time.sleep(0.2)  # longer than a reading took: read again
        eager.measure()
        assert eager.pss_readings == 2
    finally:
        pool.close()


def _oom_score_adj(pid: int | str) -> int:
    return int(Path(f"/proc/{pid}/oom_score_adj").read_text())


def test_workers_are_the_first_to_go_when_memory_runs_out() -> None:
    """The kernel's out-of-memory killer takes a pool's zygote or worker, or a run_each
    child, before the server (kg.sandbox.first_to_go); the server's own score is left."""
    own = _oom_score_adj("self")

    async def scenario() -> list[int]:
        pool = WorkerPool(PoolSpec("t", size=2, memory_mb=None), _prepare)
        try:
            await _pids_over(pool, 2, 0)
            return [_oom_score_adj(pid) for pid in pool.processes()]
        finally:
            pool.close()

    scores = asyncio.run(scenario())
    assert len(scores) >= 3 and set(scores) == {1000}  # the zygote and two workers
    [(reply, _)] = run_each(_scored_prepare, [({}, b"")], timeout_s=30)
    assert reply["oom_score_adj"] == 1000
    assert _oom_score_adj("self") == own


def _scored_prepare():  # type: ignore[no-untyped-def]
    def make():  # type: ignore[no-untyped-def]
        def handle(header: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
            return {"ok": True, "oom_score_adj": _oom_score_adj("self")}, b""
        return handle
    return make


# --- run_each: one confined child per task, a few at a time ------------------------------


def _timed_prepare():  # type: ignore[no-untyped-def]
    def make():  # type: ignore[no-untyped-def]
        def handle(header: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
            started = time.time()
            if header.get("crash"):
                os._exit(3)
            time.sleep(float(header.get("sleep", 0)))
            return {"ok": True, "task": header["task"], "pid": os.getpid(),
                    "started": started, "ended": time.time()}, body
        return handle
    return make


def test_merging_pages_is_asked_for_and_inherited_by_what_is_forked_after() -> None:
    """merge_identical_pages marks the process for KSM, and the processes it forks after
    (its zygotes and their workers). Run in a child, so that the test process stays as it
    was (the service's start, which the API tests run here, asks for it too)."""
    from support import kernel_merges_pages  # not at the top: children import this module

    if not kernel_merges_pages():
        pytest.skip("this kernel does not take PR_SET_MEMORY_MERGE (Linux 6.4+)")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            asked = merge_identical_pages() and merging_pages()
            grandchild = os.fork()
            if grandchild == 0:
                os.write(write, b"1" if merging_pages() else b"0")
                os._exit(0)
            os.waitpid(grandchild, 0)
            os.write(write, b"1" if asked else b"0")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    os.close(write)
    answer = os.read(read, 16)
    os.close(read)
    assert answer == b"11", "the child marked, and what it forked after"


def test_run_each_answers_in_task_order_and_runs_at_most_at_once() -> None:
    sleeps = [0.4, 0.1, 0.3, 0.1, 0.2]
    tasks = [({"task": i, "sleep": s}, f"body {i}".encode()) for i, s in enumerate(sleeps)]
    replies = run_each(_timed_prepare, tasks, timeout_s=30, at_once=2)
    assert [reply["task"] for reply, _ in replies] == list(range(len(sleeps)))
    assert [body for _, body in replies] == [f"body {i}".encode() for i in range(len(sleeps))]
    assert len({reply["pid"] for reply, _ in replies}) == len(sleeps)  # a child per task
    spans = [(reply["started"], reply["ended"]) for reply, _ in replies]
    for moment, _ in spans:  # never more than two children at work
        assert sum(start <= moment < end for start, end in spans) <= 2
    assert max(sum(start <= moment < end for start, end in spans)
               for moment, _ in spans) == 2  # and two did work side by side


def _raising_prepare():  # type: ignore[no-untyped-def]
    def make():  # type: ignore[no-untyped-def]
        def handle(header: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
            raise {"kg": KGError("the shapes cannot be used: why"), "value": ValueError("odd"),
                   "deep": RecursionError()}[header["raise"]]
        return handle
    return make


def test_a_run_each_task_that_raises_answers_as_a_pool_worker_does() -> None:
    """Not a silent end read as a crash: the reply says what went wrong."""
    replies = run_each(_raising_prepare, [({"raise": k}, b"") for k in ("kg", "value", "deep")],
                       timeout_s=30)
    assert [(reply["kind"], reply["message"]) for reply, _ in replies] == [
        ("internal", "the shapes cannot be used: why"), ("internal", "ValueError: odd"),
        ("too-deep", "the input is nested too deeply")]


def test_run_each_stops_every_child_when_one_crashes_or_overruns() -> None:
    before = _children()  # other tests' servers may be children of this process too
    with pytest.raises(WorkerCrashedError, match="exit code 3"):
        run_each(_timed_prepare, [({"task": 0, "sleep": 30}, b""),
                                  ({"task": 1, "crash": True}, b"")],
                 timeout_s=60, at_once=2)
    started = time.monotonic()
    with pytest.raises(WorkerTimeoutError):
        run_each(_timed_prepare, [({"task": 0, "sleep": 30}, b""),
                                  ({"task": 1, "sleep": 30}, b"")],
                 timeout_s=0.5, at_once=2)
    assert time.monotonic() - started < 10
    assert _children() - before == set()  # none left behind, running or unreaped


def test_run_each_stops_at_a_reply_that_says_so() -> None:
    before = _children()
    started = time.monotonic()
    replies = run_each(_timed_prepare, [({"task": 0, "sleep": 30}, b""),
                                        ({"task": 1, "sleep": 0.1}, b""),
                                        ({"task": 2, "sleep": 0}, b"")],
                       timeout_s=60, at_once=2, stop_at=lambda reply: reply["task"] == 1)
    assert [reply["task"] for reply, _ in replies] == [1]
    assert time.monotonic() - started < 10  # the first task (30 s) was stopped
    assert _children() - before == set()


def _children() -> set[str]:
    """The processes whose parent is this one (zombies included)."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                found.add(entry)
    return found


_SHARED_AFTER_COLLECTION = """
import gc, json, sys
from kg.workers import PoolSpec, WorkerPool, private_memory_bytes
from tests.kg.test_workers import _prepare

held = [[i] for i in range(1_500_000)]  # about 100 MB of small containers
pool = WorkerPool(PoolSpec("t", size=0, memory_mb=None), _prepare)
try:
    before = private_memory_bytes(pool.zygote_pid)
    gc.collect()
    gc.collect()
    after = private_memory_bytes(pool.zygote_pid)
    print(json.dumps({"before": before, "after": after, "held": len(held)}))
finally:
    pool.close()
"""


def test_a_collection_in_the_serving_process_leaves_the_zygote_its_shared_pages() -> None:
    # Without the freeze before the fork, the parent's collections write to the objects'
    # pages, the kernel copies them, and the zygote's 100 MB become its own (private).
    import json
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", _SHARED_AFTER_COLLECTION], capture_output=True,
                         text=True, timeout=120, cwd=Path(__file__).parents[2])
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    grown_mb = (found["after"] - found["before"]) / 2**20
    assert grown_mb < 10, found


def test_a_frame_body_may_be_longer_than_four_gib() -> None:
    """A frame's body length is 8 bytes wide: a summary or an index image over 4 GiB would
    not fit 4 (it would end its child without a reply). A frame that says 4 GiB + 3 and then
    ends is read as a closed connection, not misread as a shorter frame."""
    import socket
    import struct

    from kg.workers import pack, recv_frame

    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(pack({"a": 1}, b"body"))
        assert recv_frame(ours) == ({"a": 1}, b"body")
        theirs.sendall(struct.pack("!IQ", 2, (1 << 32) + 3) + b"{}" + b"xyz")
        theirs.shutdown(socket.SHUT_WR)
        assert recv_frame(ours) is None
