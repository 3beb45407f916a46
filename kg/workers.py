"""The one worker mechanism: confined processes that run work with a deadline.

Everything that touches untrusted input, and everything that must stop at a deadline, runs
here: SPARQL queries, the parsing and validation of submitted data, the start-up validation.
A :class:`WorkerPool` is

* a **zygote** (:class:`Zygote`), forked from the serving process when the pool starts
  (so it shares an in-memory store copy-on-write). It closes every inherited file but its
  control socket, confines itself (:func:`kg.sandbox.confine`: no network), runs the
  pool's ``prepare`` once (load what every worker needs, e.g. the prepared shapes), and
  then forks workers on request. It is single-threaded, so forking it is safe.
* **workers**, forked by the zygote, each with a memory and CPU limit of its own
  (:func:`kg.sandbox.limit_resources`). A worker reads a task, runs the handler and writes
  the answer back on its own socket pair.

The serving process awaits answers without blocking its event loop. A worker that passes
its deadline, crashes, runs out of memory, stops answering or is stopped (SIGSTOP) is killed
and replaced; a dead or stopped zygote is replaced too. Requests beyond the busy workers
wait in a bounded queue; past it the pool answers "busy" at once. Pools are owned by whoever
starts them (the app's lifespan, a CLI command) and closed explicitly.

A zygote also runs one task in a worker of its own, which ends once it has answered
(:meth:`Zygote.start`): the service's own work over the whole graph (the summaries, the
search index's build; :meth:`kg.store.GraphReading.start_apart`), forked by a zygote that
the service starts while it has one thread. :func:`run_once` runs one task in a single
confined child forked by the calling thread, for commands; :func:`run_each` runs several
so, a few at a time (the start-up validation's parts, before the service starts).

Frames on every socket: 4-byte header length, 8-byte body length, a JSON header, the body
(a summary or an index image over 4 GiB crosses too).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import select
import signal
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kg.errors import KGError
from kg.sandbox import confine, libc, limit_resources

Header = dict[str, Any]
Handler = Callable[[Header, bytes], tuple[Header, bytes]]
#: Runs once in the zygote (after confinement); returns what makes each worker's handler.
Prepare = Callable[[], Callable[[], Handler]]

_FRAME = struct.Struct("!IQ")  # header length, body length
_SPAWN_TIMEOUT_S = 5.0


class WorkerError(KGError):
    """A task could not be run by the pool."""


class PoolBusyError(WorkerError):
    """Every worker is busy and the queue is full, or stayed so until the deadline."""


class PoolClosedError(WorkerError):
    """The pool has been closed (the service is shutting down)."""


class WorkerTimeoutError(WorkerError):
    """The task ran past its deadline; its worker was killed."""


class WorkerCrashedError(WorkerError):
    """The worker ended while running the task (crash, or killed at its memory limit)."""


class MemoryBudgetError(WorkerError):
    """The service as a whole reached its memory budget; the largest task was stopped."""


@dataclass(frozen=True)
class PoolSpec:
    """How many workers a pool keeps, how long requests may queue, and their limits."""

    name: str
    size: int = 1
    overflow: int = 0  # extra workers forked while every resident one is busy
    queue_limit: int = 32  # requests that may wait for a worker; more are refused at once
    memory_mb: int | None = 512  # per worker, above its size when forked
    cpu_s: int | None = None  # CPU seconds a worker may use in its life
    network: bool = False  # True only for an explicitly permitted pool
    nice: int = 0  # added to the workers' niceness (batch work yields to queries)
    recycle_mb: int | None = None  # replace a worker whose private memory grew past this
    overflow_idle_s: float = 5.0  # an idle worker beyond ``size`` is retired after this


#: How often (in tasks) a worker's private memory is read to decide whether to recycle it,
#: and at most how often (in seconds) for one worker.
RECYCLE_CHECK_EVERY = 16
RECYCLE_READ_EVERY_S = 1.0


# --- frames -------------------------------------------------------------------------------


def pack(header: Header, body: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return _FRAME.pack(len(head), len(body)) + head + body


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    parts = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def recv_frame(sock: socket.socket) -> tuple[Header, bytes] | None:
    sizes = _recv_exact(sock, _FRAME.size)
    if sizes is None:
        return None
    head_len, body_len = _FRAME.unpack(sizes)
    head = _recv_exact(sock, head_len) if head_len else b"{}"
    body = _recv_exact(sock, body_len) if body_len else b""
    if head is None or body is None:
        return None
    return json.loads(head), body


async def _arecv_exact(loop: asyncio.AbstractEventLoop, sock: socket.socket,
                       size: int) -> bytes:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = await loop.sock_recv_into(sock, view[got:])
        if n == 0:
            raise ConnectionError("worker closed its socket")
        got += n
    return bytes(buffer)


async def _arecv_frame(loop: asyncio.AbstractEventLoop,
                       sock: socket.socket) -> tuple[Header, bytes]:
    head_len, body_len = _FRAME.unpack(await _arecv_exact(loop, sock, _FRAME.size))
    head = await _arecv_exact(loop, sock, head_len)
    body = await _arecv_exact(loop, sock, body_len) if body_len else b""
    return json.loads(head), body


# --- processes ----------------------------------------------------------------------------

#: The socket buffer asked for a worker's task socket: an answer of this size is written in
#: one go instead of a wake-up per default buffer (about 200 kB). The kernel caps it
#: (``net.core.wmem_max``/``rmem_max``); a smaller buffer is slower, not wrong.
TASK_SOCKET_BUFFER = 4 << 20


def _task_sockets() -> tuple[socket.socket, socket.socket]:
    ours, theirs = socket.socketpair()
    for sock in (ours, theirs):
        for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, option, TASK_SOCKET_BUFFER)
    return ours, theirs


def process_state(pid: int) -> str | None:
    """The kernel's state letter of ``pid`` (R, S, T, Z, …), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return _state_letter(stat.read())
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return "?"
        return "?"


def _state_letter(stat: bytes) -> str:
    """The state letter of a ``/proc/<pid>/stat`` line (after the command's closing bracket)."""
    return stat.rsplit(b")", 1)[1].split()[0].decode("ascii", "replace")


_UNUSABLE = ("T", "t", "Z", "X")


def usable(pid: int) -> bool:
    """Alive and neither stopped nor a zombie."""
    return process_state(pid) not in (None, *_UNUSABLE)


def open_stat(pid: int) -> int:
    """A descriptor of ``pid``'s ``/proc/<pid>/stat``, or -1 (no /proc, or gone)."""
    try:
        return os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return -1


def proportional_memory_bytes(pid: int) -> int:
    """``pid``'s proportional set size: private pages plus its share of shared ones, so that
    the PSS of a process tree adds up to the memory it really uses."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as smaps:
            for line in smaps:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


_PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_bytes(pid: int) -> int:
    """``pid``'s resident set size, from ``/proc/PID/statm``: cheap (reading ``smaps_rollup``
    walks the whole memory map, 2–5 ms for a server process) and never below its PSS."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def private_memory_bytes(pid: int) -> int:
    """Memory private to ``pid`` (not shared copy-on-write with its zygote)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as smaps:
            total = 0
            for line in smaps:
                if line.startswith(("Private_Dirty:", "Private_Clean:")):
                    total += int(line.split()[1]) * 1024
            return total
    except (OSError, ValueError):
        return 0


def _close_inherited(keep: set[int]) -> None:
    """Close every file descriptor above 2 except ``keep`` (after a fork from the server).

    Python objects that own the closed descriptors are frozen first, so that no collection
    in this process closes a descriptor number reused by then.
    """
    gc.freeze()
    try:
        limit = os.sysconf("SC_OPEN_MAX")
    except (ValueError, OSError):
        limit = 65536
    low = 3
    for fd in sorted(keep):
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, limit)


_PARENT: socket.socket | None = None


def ask_parent(header: Header, body: bytes = b"") -> tuple[Header, bytes]:
    """From inside a task: ask the serving process for trusted data (e.g. the graph's
    description of an IRI, when the graph is in a remote store the worker cannot reach).
    The pool answers with its ``answer_asks`` callable; the task then goes on."""
    if _PARENT is None:
        raise WorkerError("not in a worker")
    _PARENT.sendall(pack({**header, "ask": True}, body))
    frame = recv_frame(_PARENT)
    if frame is None:
        raise WorkerError("the pool went away")
    return frame


def _answer(handler: Handler, header: Header, body: bytes) -> tuple[Header, bytes]:
    """The handler's reply, or what it raised as a reply: a pool's worker and a ``run_each``
    child answer whatever happened (a KGError's message as it is, anything else with its
    type)."""
    try:
        return handler(header, body)
    except MemoryError:
        return {"ok": False, "kind": "memory",
                "message": "the task needed more memory than a worker may use"}, b""
    except RecursionError:
        return {"ok": False, "kind": "too-deep", "message": "the input is nested too deeply"}, b""
    except KGError as err:  # raised on purpose
        return {"ok": False, "kind": "internal", "message": str(err)}, b""
    except Exception as err:
        return {"ok": False, "kind": "internal", "message": f"{type(err).__name__}: {err}"}, b""


def _worker_main(sock: socket.socket, make_handler: Callable[[], Handler]) -> None:
    global _PARENT
    _PARENT = sock
    gc.freeze()
    try:
        handler = make_handler()
    except Exception as err:  # reported to the pool, which logs it
        sock.sendall(pack({"ok": False, "kind": "worker-start",
                           "message": f"{type(err).__name__}: {err}"}))
        return
    while True:
        frame = recv_frame(sock)
        if frame is None:
            return
        header, body = frame
        if header.get("ping"):
            sock.sendall(pack({"pong": True}))
            continue
        reply, data = _answer(handler, header, body)
        sock.sendall(pack(reply, data))
        if reply.get("kind") == "memory":
            return  # state after a MemoryError is not to be trusted: end, be replaced


def _zygote_main(control: socket.socket, spec: PoolSpec, prepare: Prepare) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # ended workers are reaped at once
    _close_inherited({control.fileno()})
    network = confine(allow_network=spec.network)
    if spec.nice:
        with contextlib.suppress(OSError):
            os.nice(spec.nice)
    try:
        make_handler = prepare()
    except Exception as err:
        control.sendall(pack({"ok": False, "message": f"{type(err).__name__}: {err}"}))
        return
    control.sendall(pack({"ok": True, "network": network}))
    children: set[int] = set()
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(control, 16, 1)
        except OSError:
            break
        if not msg:
            break
        if not fds:
            continue
        pid = os.fork()
        if pid == 0:  # the worker
            control.close()
            worker = socket.socket(fileno=fds[0])
            try:
                limit_resources(spec.memory_mb, spec.cpu_s)
                _worker_main(worker, make_handler)
            finally:
                os._exit(0)
        os.close(fds[0])
        children = {c for c in children if usable(c)} | {pid}
        control.sendall(struct.pack("!q", pid))
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


# --- the pool (in the serving process) ----------------------------------------------------


def _freeze_before_fork() -> None:
    """Keep the pages this process shares with a zygote shared.

    A collection writes to every container object it visits, and the kernel then copies the
    object's page for the writer: a collection in the serving process after the fork would
    give it its own copy of much that the zygote and its workers still share with it. So the
    objects that live now are collected once and then frozen (never visited again; garbage
    among them later is not freed). At 100k the process tree's PSS after start fell from
    281–285 to 233 MB (``docs/performance.md``).
    """
    gc.collect()
    gc.freeze()


#: prctl(2) option (Linux 6.4+): every page of the process may be merged by KSM, and of the
#: processes it forks.
_PR_SET_MEMORY_MERGE = 67
_PR_GET_MEMORY_MERGE = 68


def merge_identical_pages() -> bool:
    """Let the kernel merge this process's memory pages, and those of the processes it forks
    from now on, with identical pages (KSM, kernel same-page merging; ``PR_SET_MEMORY_MERGE``),
    where the host runs ``ksmd`` (``/sys/kernel/mm/ksm/run`` set to 1; docs/deploy.md).

    A worker's reads write to pages it shares with the serving process and the zygote
    (pyoxigraph's reads to its store's pages, Python's reference counts to its objects'), and
    the kernel copies each such page for the writer; most copies are identical to their
    originals again once the query is over. ``ksmd`` finds them and shares them again: at 1M
    triples, 60 s after a lookup and a heavy query, the tree's PSS was 543 MB with it and
    749 MB without (``docs/performance.md``). True if the kernel took the request (Linux 6.4
    or newer)."""
    return bool(libc().prctl(_PR_SET_MEMORY_MERGE, 1, 0, 0, 0) == 0)


def merging_pages() -> bool:
    """Whether :func:`merge_identical_pages` is in force for this process."""
    return bool(libc().prctl(_PR_GET_MEMORY_MERGE, 0, 0, 0, 0) == 1)


def ksmd_running() -> bool:
    """Whether the host's ``ksmd`` merges pages (without it, asking for it does nothing)."""
    try:
        with open("/sys/kernel/mm/ksm/run", encoding="ascii") as run:
            return run.read().strip() == "1"
    except OSError:
        return False


@dataclass
class _Worker:
    pid: int
    sock: socket.socket
    started: float = field(default_factory=time.monotonic)
    tasks: int = 0
    idle_since: float = 0.0
    stat_fd: int = -1  # its /proc stat, kept open: one read per check, no open
    reading: bool = False  # its private memory is being read (in a thread)
    read_at: float = 0.0  # when it was last read (time.monotonic)
    spent: bool = False  # its private memory grew past the pool's recycle_mb

    def usable(self) -> bool:
        """Alive and neither stopped nor a zombie (checked before every task it is given).
        The descriptor names this process, not its pid: once the process is gone, reading
        it fails, even if the pid has been given to another."""
        if self.stat_fd < 0:
            return usable(self.pid)
        try:
            return _state_letter(os.pread(self.stat_fd, 1024, 0)) not in _UNUSABLE
        except (OSError, IndexError):
            return False

    def close(self) -> None:
        self.sock.close()
        if self.stat_fd >= 0:
            os.close(self.stat_fd)
            self.stat_fd = -1


class Zygote:
    """A confined, single-threaded process forked from this one, which forks workers on
    request (see the module doc): a pool's, or one task's (:meth:`start`). Safe to use from
    any thread of this process."""

    def __init__(self, spec: PoolSpec, prepare: Prepare) -> None:
        self.spec = spec
        self._prepare = prepare
        self._lock = threading.Lock()  # one exchange on the control socket at a time
        self._control: socket.socket | None = None
        self.pid = 0
        self.network = "unknown"
        self.restarts = 0
        self._begin()

    def _begin(self) -> None:
        _freeze_before_fork()
        parent, child = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            try:
                parent.close()
                _zygote_main(child, self.spec, self._prepare)
            finally:
                os._exit(0)
        child.close()
        parent.settimeout(max(_SPAWN_TIMEOUT_S, 60.0))  # prepare may take a while
        try:
            ready = recv_frame(parent)
        except OSError:
            ready = None
        if ready is None or not ready[0].get("ok"):
            parent.close()
            _reap(pid)
            why = ready[0].get("message") if ready else "no answer"
            raise WorkerError(f"the {self.spec.name} pool could not start: {why}")
        parent.settimeout(_SPAWN_TIMEOUT_S)
        self._control = parent
        self.pid = pid
        self.network = str(ready[0].get("network"))

    def _end(self) -> None:
        """Close the control socket: the zygote kills the workers it forked and ends (killed
        if it has not within a second)."""
        if self._control is not None:
            self._control.close()
            self._control = None
        if self.pid:
            deadline = time.monotonic() + 1.0
            while not _reaped(self.pid):
                if time.monotonic() >= deadline:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(self.pid, signal.SIGKILL)
                    _reap(self.pid)
                    break
                time.sleep(0.005)
            self.pid = 0

    def usable(self) -> bool:
        if not self.pid:
            return False
        with contextlib.suppress(ChildProcessError):
            done, _ = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.pid = 0
                return False
        return usable(self.pid)

    def restart(self) -> None:
        with self._lock:
            self._renew()

    def _renew(self) -> None:
        """A new zygote for this one (the lock held)."""
        self._end()
        self.restarts += 1
        self._begin()

    def stop(self) -> None:
        """Stop the zygote and every worker it forked."""
        with self._lock:
            self._end()

    def fork_worker(self) -> tuple[int, socket.socket]:
        """A new worker (restarting the zygote first if it is gone): its pid and our socket
        to it, non-blocking."""
        with self._lock:
            for attempt in (1, 2):
                if not self.usable():
                    self._renew()
                ours, theirs = _task_sockets()
                try:
                    assert self._control is not None
                    socket.send_fds(self._control, [b"F"], [theirs.fileno()])
                    raw = _recv_exact(self._control, 8)
                except OSError:
                    raw = None
                finally:
                    theirs.close()
                if raw is not None:
                    ours.setblocking(False)
                    return struct.unpack("!q", raw)[0], ours
                ours.close()
                if attempt == 1:
                    self._renew()
        raise WorkerError(f"the {self.spec.name} pool cannot start workers")

    def start(self, header: Header, body: bytes, *, timeout_s: float,
              answer_asks: Callable[[Header, bytes], tuple[Header, bytes]] | None = None
              ) -> Started:
        """One task in a worker of its own, which ends once its reply is read
        (:meth:`Started.reply`, from any thread); its ``ask_parent`` calls are answered by
        ``answer_asks`` meanwhile. The worker is forked by the zygote, not by this process:
        no lock another thread holds here, and none of this process's memory, goes with it."""
        pid, sock = self.fork_worker()
        sock.setblocking(True)
        sock.settimeout(timeout_s)
        try:
            sock.sendall(pack(header, body))
        except OSError:
            sock.close()
            raise WorkerCrashedError(f"the {self.spec.name} worker ended before its task "
                                     "was sent") from None
        return Started(sock, pid, timeout_s, forked_here=False, answer_asks=answer_asks)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _reaped(pid: int) -> bool:
    """Whether our child ``pid`` has ended (and is now reaped)."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] != 0
    except ChildProcessError:
        return True


class WorkerPool:
    """Confined workers forked from a zygote (see the module doc)."""

    def __init__(self, spec: PoolSpec, prepare: Prepare,
                 answer_asks: Callable[[Header, bytes], tuple[Header, bytes]] | None = None
                 ) -> None:
        self.spec = spec
        self._answer_asks = answer_asks  # answers a task's ask_parent (in a thread)
        self._closed = False
        self._idle: deque[_Worker] = deque()
        self._all: dict[int, _Worker] = {}
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.crashes = 0
        self.timeouts = 0
        self._supervisor: asyncio.Task[None] | None = None
        self._over_budget: set[int] = set()
        self._busy: set[int] = set()
        self._zygote = Zygote(spec, prepare)
        for _ in range(spec.size):
            with contextlib.suppress(WorkerError):
                self._idle.append(self._spawn())

    @property
    def zygote_pid(self) -> int:
        return self._zygote.pid

    @property
    def network(self) -> str:
        return self._zygote.network

    @property
    def restarts(self) -> int:
        return self._zygote.restarts

    def zygote_usable(self) -> bool:
        return self._zygote.usable()

    # -- workers --

    def _spawn(self) -> _Worker:
        if self._closed:
            raise PoolClosedError(f"the {self.spec.name} pool is closed")
        pid, sock = self._zygote.fork_worker()
        worker = _Worker(pid, sock, stat_fd=open_stat(pid))
        self._all[pid] = worker
        return worker

    def _discard(self, worker: _Worker) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGKILL)
        for _ in range(200):  # gone within milliseconds: its zygote reaps it at once
            if process_state(worker.pid) in (None, "Z", "X"):
                break
            time.sleep(0.005)
        worker.close()
        self._all.pop(worker.pid, None)
        with contextlib.suppress(ValueError):
            self._idle.remove(worker)

    def _release(self, worker: _Worker) -> None:
        if self._closed:
            self._discard(worker)
            return
        # Overflow workers stay while requests keep coming: forking one per request and
        # killing it after (what this did before) cost more than the query under load; the
        # supervisor retires them when idle (check). The memory check reads /proc, so it runs
        # every RECYCLE_CHECK_EVERY tasks, and reads the memory map only when the resident
        # size (cheap, never below the private memory) is over the limit, at most once every
        # RECYCLE_READ_EVERY_S a worker, in a thread: reading the map of a worker that maps a
        # large store takes milliseconds (1M triples: 5-10 ms, where the resident size, which
        # counts the store's shared pages, is always over), which held the event loop for
        # every sixteenth query.
        limit = (self.spec.recycle_mb or 0) * 1024 * 1024
        if limit and worker.tasks % RECYCLE_CHECK_EVERY == 0 and not worker.reading and \
                not worker.spent and time.monotonic() - worker.read_at >= RECYCLE_READ_EVERY_S \
                and resident_bytes(worker.pid) > limit:
            self._read_private_memory(worker, limit)
        if worker.spent:  # grew past its share: give the memory back
            self._discard(worker)
            with contextlib.suppress(WorkerError):
                worker = self._spawn()
        worker.idle_since = time.monotonic()
        self._idle.append(worker)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break

    def _read_private_memory(self, worker: _Worker, limit: int) -> None:
        """Read ``worker``'s private memory off the event loop; past ``limit`` it is spent:
        replaced now if idle, else at its release."""
        worker.read_at = time.monotonic()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop: read it here
            worker.spent = private_memory_bytes(worker.pid) > limit
            return
        worker.reading = True

        def read() -> None:
            over = private_memory_bytes(worker.pid) > limit
            with contextlib.suppress(RuntimeError):  # the loop has ended
                loop.call_soon_threadsafe(self._after_reading, worker, over)

        loop.run_in_executor(None, read)

    def _after_reading(self, worker: _Worker, over: bool) -> None:
        worker.reading = False
        if not over or self._closed or self._all.get(worker.pid) is not worker:
            return
        worker.spent = True
        if worker in self._idle:  # idle: replaced now (busy: at its release)
            self._idle.remove(worker)
            self._release(worker)

    def _replace(self, worker: _Worker) -> None:
        self._discard(worker)
        if not self._closed and len(self._all) < self.spec.size:
            with contextlib.suppress(WorkerError):
                self._release(self._spawn())

    async def _acquire(self, deadline: float) -> _Worker:
        while True:
            while self._idle:
                worker = self._idle.pop()  # the last released: the others may age out
                if worker.usable():
                    return worker
                self._discard(worker)  # died or was stopped while idle
            if self._closed:
                raise PoolClosedError(f"the {self.spec.name} pool is closed")
            if len(self._all) < self.spec.size + self.spec.overflow:
                return self._spawn()
            if len(self._waiters) >= self.spec.queue_limit:
                raise PoolBusyError(f"every {self.spec.name} worker is busy and "
                                    f"{self.spec.queue_limit} requests are waiting")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PoolBusyError(f"every {self.spec.name} worker stayed busy")
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                raise PoolBusyError(f"every {self.spec.name} worker stayed busy") from None
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)

    # -- running --

    async def run(self, header: Header, body: bytes, timeout_s: float) -> tuple[Header, bytes]:
        """Run one task; kill its worker and raise WorkerTimeoutError past ``timeout_s``."""
        if self._closed:
            raise PoolClosedError(f"the {self.spec.name} pool is closed")
        self._ensure_supervisor()
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + timeout_s
        worker = await self._acquire(deadline)
        self._busy.add(worker.pid)
        healthy = False
        try:
            await loop.sock_sendall(worker.sock, pack(header, body))
            while True:
                reply = await asyncio.wait_for(_arecv_frame(loop, worker.sock),
                                               max(deadline - time.monotonic(), 0.001))
                if not reply[0].get("ask"):
                    break
                if self._answer_asks is None:
                    answer: tuple[Header, bytes] = ({"ok": False}, b"")
                else:
                    answer = await asyncio.wait_for(
                        asyncio.to_thread(self._answer_asks, reply[0], reply[1]),
                        max(deadline - time.monotonic(), 0.001))
                await loop.sock_sendall(worker.sock, pack(*answer))
            healthy = reply[0].get("kind") not in ("memory", "worker-start")
        except TimeoutError:
            self.timeouts += 1
            raise WorkerTimeoutError(f"the task ran longer than {timeout_s * 1000:.0f} ms "
                                     "and was stopped") from None
        except (ConnectionError, OSError):
            if worker.pid in self._over_budget:
                raise MemoryBudgetError("the service reached its memory budget "
                                        "(memory_budget_mb) and stopped the largest task, "
                                        "this one; try again later") from None
            self.crashes += 1
            raise WorkerCrashedError(f"the {self.spec.name} worker ended while running the "
                                     "task") from None
        finally:
            self._busy.discard(worker.pid)
            self._over_budget.discard(worker.pid)
            worker.tasks += 1
            if healthy:
                self._release(worker)
            else:  # killed at its deadline, cancelled, crashed or spent: replace it
                self._replace(worker)
        return reply

    def run_sync(self, header: Header, body: bytes, timeout_s: float) -> tuple[Header, bytes]:
        """:meth:`run` for code without an event loop (commands, tests)."""
        return asyncio.run(self.run(header, body, timeout_s))

    # -- supervision --

    def _ensure_supervisor(self) -> None:
        if self._supervisor is None or self._supervisor.done():
            with contextlib.suppress(RuntimeError):
                self._supervisor = asyncio.get_running_loop().create_task(self._supervise())

    async def _supervise(self, every_s: float = 1.0) -> None:
        """Replace a dead or stopped zygote, and idle workers that died or stopped."""
        while not self._closed:
            await asyncio.sleep(every_s)
            self.check()

    def check(self) -> None:
        """One round of supervision (also callable directly)."""
        if self._closed:
            return
        try:
            if not self._zygote.usable():
                self._zygote.restart()
            for worker in list(self._idle):
                if not worker.usable():
                    self._discard(worker)
            now = time.monotonic()
            for worker in list(self._idle):  # oldest first
                if len(self._all) <= self.spec.size:
                    break
                if now - worker.idle_since >= self.spec.overflow_idle_s:
                    self._discard(worker)  # an overflow worker no request needed for a while
            while len(self._all) < self.spec.size:
                self._release(self._spawn())
        except WorkerError:
            pass  # tried again at the next round; health shows the state meanwhile

    def health(self) -> dict[str, Any]:
        """The pool's true state: what ``/-/health`` reports."""
        alive = [w for w in self._all.values() if w.usable()]
        return {"name": self.spec.name, "ok": not self._closed and self.zygote_usable()
                and bool(alive), "workers": len(alive), "idle": len(self._idle),
                "busy": len(self._all) - len(self._idle), "waiting": len(self._waiters),
                "size": self.spec.size, "max_workers": self.spec.size + self.spec.overflow,
                "queue_limit": self.spec.queue_limit, "network": self.network,
                "memory_limit_mb_per_worker": self.spec.memory_mb,
                "zygote_restarts": self.restarts, "worker_crashes": self.crashes,
                "worker_timeouts": self.timeouts, "zygote_pid": self.zygote_pid,
                "worker_pids": sorted(w.pid for w in alive)}

    @property
    def worker_pids(self) -> list[int]:
        return list(self._all)

    def busy_pids(self) -> list[int]:
        return sorted(self._busy)

    def processes(self) -> list[int]:
        """The zygote and every worker."""
        return [p for p in [self.zygote_pid, *self._all] if p]

    def stop_for_memory(self, pid: int) -> None:
        """Kill a busy worker because the service is over its memory budget (its task
        then fails with MemoryBudgetError)."""
        self._over_budget.add(pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        """Stop the zygote and every worker."""
        if self._closed:
            return
        self._closed = True
        if self._supervisor is not None:
            self._supervisor.cancel()
        for worker in list(self._all.values()):
            self._discard(worker)
        self._idle.clear()
        for waiter in self._waiters:
            if not waiter.done():
                with contextlib.suppress(RuntimeError):
                    waiter.get_loop().call_soon_threadsafe(waiter.cancel)
        self._zygote.stop()


# --- the memory budget of the whole service ----------------------------------------------


class MemoryWatchdog:
    """Keeps the process tree (this process, the zygotes, every worker) under a budget.

    Each worker has a hard limit of its own (``RLIMIT_AS``); this adds one for the whole
    service: every ``every_s`` seconds while a worker is busy, the tree's memory is measured,
    and while its proportional set size (PSS) is over ``budget_mb`` the busy worker with the
    most private memory is killed (its request is answered 503). Idle workers hold little;
    busy ones are where memory grows.

    PSS is read from every process's memory map, which takes milliseconds per process; the
    summed resident size (RSS, from ``statm``) is read first, and since PSS never exceeds
    RSS, the maps are read only when that bound is over the budget. Where it always is (at
    1M triples the summed RSS, which counts the store's shared pages in every process, is
    2.4-2.9 GB) the maps are read at most ``pss_share`` of the time (a reading of 7
    processes there took tens of milliseconds, every 0.25 s: heavy queries at concurrency
    8 lost 8 % of their throughput); in between, the last reading plus the growth of the
    summed RSS since stands in for it. The reading runs in a thread, off the event loop.
    """

    def __init__(self, pools: list[WorkerPool], budget_mb: int, every_s: float = 0.25,
                 pss_share: float = 0.05) -> None:
        self.pools = pools
        self.budget = budget_mb * 1024 * 1024
        self.every_s = every_s
        self.pss_share = pss_share  # at most this share of the time goes to reading PSS
        self.stopped = 0
        self.peak = 0  # the highest PSS a check measured (when the bound was over budget)
        self.pss_readings = 0
        self._last: tuple[float, float, int, int] | None = None  # when, took, PSS, bound
        self._task: asyncio.Task[None] | None = None

    def _pids(self) -> list[int]:
        return [os.getpid(), *(p for pool in self.pools for p in pool.processes())]

    def total_bytes(self) -> int:
        """The tree's PSS now."""
        return sum(proportional_memory_bytes(pid) for pid in self._pids())

    def measure(self) -> int:
        """The tree's memory as far as the budget needs it: the summed RSS when that is
        within the budget, else the PSS (read a moment ago and no process gone or shrunk
        since: that reading plus the growth of the summed RSS since)."""
        pids = self._pids()
        bound = sum(resident_bytes(pid) for pid in pids)
        if bound <= self.budget:
            return bound
        began = time.monotonic()
        if self._last is not None:
            when, took, pss, last_bound = self._last
            if began - when < took / self.pss_share and bound >= last_bound:
                return pss + bound - last_bound
        total = sum(proportional_memory_bytes(pid) for pid in pids)
        self._last = (began, time.monotonic() - began, total, bound)
        self.pss_readings += 1
        self.peak = max(self.peak, total)
        return total

    def check(self, total: int | None = None) -> int:
        """One round; returns the total it measured (0 when no worker is busy: idle
        workers do not grow)."""
        if not any(pool.busy_pids() for pool in self.pools):
            return 0
        if total is None:
            total = self.measure()
        if total <= self.budget:
            return total
        busy = [(private_memory_bytes(pid), pid, pool) for pool in self.pools
                for pid in pool.busy_pids()]
        if busy:
            _, pid, pool = max(busy, key=lambda item: item[0])
            pool.stop_for_memory(pid)
            self.stopped += 1
            self._last = None  # measured afresh next time, not from before the stop
        return total

    def start(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            if any(pool.busy_pids() for pool in self.pools):
                self.check(await asyncio.to_thread(self.measure))

    def health(self) -> dict[str, Any]:
        return {"budget_mb": self.budget // (1024 * 1024),
                "total_mb": round(self.total_bytes() / (1024 * 1024)),
                "peak_mb": round(self.peak / (1024 * 1024)), "tasks_stopped": self.stopped,
                "pss_readings": self.pss_readings,
                "merge_pages": merging_pages(), "ksmd_running": ksmd_running()}

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()


# --- one task, one process ----------------------------------------------------------------


def run_once(prepare: Prepare, header: Header, body: bytes, *, timeout_s: float,
             memory_mb: int | None = None, network: bool = False) -> tuple[Header, bytes]:
    """Run one task in a single confined child process (fork, confine, prepare, run), forked
    by the calling thread: for commands, which have one (the service's own tasks go through
    a :class:`Zygote`, forked before its threads start).

    Raises WorkerTimeoutError past ``timeout_s`` (the child is killed) and
    WorkerCrashedError when it dies first.
    """
    sock, pid = _fork_task(prepare, header, body, memory_mb, network)
    return Started(sock, pid, timeout_s).reply()


class Started:
    """One task running in a confined child of its own (:meth:`Zygote.start`,
    :func:`run_once`)."""

    def __init__(self, sock: socket.socket, pid: int, timeout_s: float, *,
                 forked_here: bool = True,
                 answer_asks: Callable[[Header, bytes], tuple[Header, bytes]] | None = None
                 ) -> None:
        self._sock, self.pid, self._timeout_s = sock, pid, timeout_s
        self._deadline = time.monotonic() + timeout_s
        self._forked_here = forked_here  # our child (reaped here) or a zygote's
        self._answer_asks = answer_asks
        self._reaped = False

    def reply(self) -> tuple[Header, bytes]:
        """Its reply, waited for until its deadline (from any thread), as :func:`run_once`
        gives it; the child is reaped. Once only."""
        try:
            return _reply_of(self._sock, self.pid, self._deadline, self._timeout_s,
                             reap=self._forked_here, answer_asks=self._answer_asks)
        finally:
            self._reaped = True

    def stop(self) -> None:
        """Kill the child if it still runs (its :meth:`reply` then raises
        WorkerCrashedError)."""
        if not self._reaped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


def run_each(prepare: Prepare, tasks: Sequence[tuple[Header, bytes]], *, timeout_s: float,
             at_once: int = 1, memory_mb: int | None = None, network: bool = False,
             stop_at: Callable[[Header], bool] | None = None) -> list[tuple[Header, bytes]]:
    """Run each task in a confined child process of its own, as :func:`run_once` does, at
    most ``at_once`` at a time; the replies in the tasks' order. A reply for which
    ``stop_at`` is true stops the tasks still running or waiting, and is all that is returned.

    The children are forked by the calling thread, one after another as others finish. A
    task past ``timeout_s`` raises WorkerTimeoutError, a child that dies first
    WorkerCrashedError; either way every child still running is killed. A task that raises
    replies as a pool's worker does (:func:`_answer`).
    """
    replies: dict[int, tuple[Header, bytes]] = {}
    waiting = deque(enumerate(tasks))
    running: dict[socket.socket, tuple[int, int, float]] = {}  # socket: task, pid, deadline
    try:
        while waiting or running:
            while waiting and len(running) < max(1, at_once):
                index, (header, body) = waiting.popleft()
                sock, pid = _fork_task(prepare, header, body, memory_mb, network)
                running[sock] = (index, pid, time.monotonic() + timeout_s)
            soonest = min(deadline for _, _, deadline in running.values())
            ready, _, _ = select.select(list(running), [], [],
                                        max(0.0, soonest - time.monotonic()))
            if not ready:
                raise WorkerTimeoutError(f"a task ran longer than {timeout_s:.0f} s and was "
                                         "stopped")
            for sock in ready:
                index, pid, deadline = running.pop(sock)
                replies[index] = _reply_of(sock, pid, deadline, timeout_s)
                if stop_at is not None and stop_at(replies[index][0]):
                    return [replies[index]]
    finally:
        for sock, (_, pid, _) in running.items():
            sock.close()
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    return [replies[index] for index in range(len(tasks))]


def _fork_task(prepare: Prepare, header: Header, body: bytes, memory_mb: int | None,
               network: bool) -> tuple[socket.socket, int]:
    """A confined child that runs one task and writes its reply: our socket, its pid."""
    parent, child = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        try:
            parent.close()
            _close_inherited({child.fileno()})
            confine(allow_network=network)
            limit_resources(memory_mb, None)
            reply, data = _answer(prepare()(), header, body)
            child.sendall(pack(reply, data))
        finally:
            os._exit(0)
    child.close()
    return parent, pid


def _reply_of(sock: socket.socket, pid: int, deadline: float, timeout_s: float, *,
              reap: bool = True,
              answer_asks: Callable[[Header, bytes], tuple[Header, bytes]] | None = None
              ) -> tuple[Header, bytes]:
    """The reply a child has begun to write, read by its deadline, its asks answered
    meanwhile; the child reaped if it is ours (``reap``: a zygote reaps its own)."""
    frame: tuple[Header, bytes] | None = None
    try:
        while True:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            frame = recv_frame(sock)
            if frame is None or not frame[0].get("ask"):
                break
            answer = answer_asks(*frame) if answer_asks is not None else ({"ok": False}, b"")
            sock.sendall(pack(*answer))
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if reap:
            os.waitpid(pid, 0)
        raise WorkerTimeoutError(f"a task ran longer than {timeout_s:.0f} s and was "
                                 "stopped") from None
    except OSError:
        frame = None  # the child closed its end while we answered it
    finally:
        sock.close()
    how = ""
    if reap:
        _, status = os.waitpid(pid, 0)
        how = (f" (signal {os.WTERMSIG(status)})" if os.WIFSIGNALED(status)
               else f" (exit code {os.WEXITSTATUS(status)})")
    if frame is None:
        raise WorkerCrashedError(f"the worker process ended{how} before answering "
                                 "(out of memory?)")
    return frame
