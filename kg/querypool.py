"""Worker processes that run SPARQL queries under a hard time limit.

pyoxigraph cannot cancel a running query, so queries run in worker processes and a worker
that passes its deadline is killed (SIGKILL): its work stops at once, nothing goes on in
the background. The processes are:

* the **zygote**, forked once when the pool starts (after the store is loaded, so it shares
  an in-memory store's memory copy-on-write; an on-disk store is opened read-only by each
  worker instead). It runs no query; it waits for "fork a worker" orders
  on a socket and forks. It is single-threaded, so forking it is safe.
* the **workers**, forked by the zygote. Each receives one end of a socket pair that the
  pool sent to the zygote (``SCM_RIGHTS``); it reads a query, runs :func:`kg.sparql.execute`
  (which serialises the answer in the worker) and writes the bytes back.

The event loop awaits a worker's answer without blocking (``loop.sock_recv``), so other
requests are served while a query runs. A worker killed at its deadline is replaced at
once. When the pool closes (or the parent dies and its sockets close) the zygote kills its
workers and exits.

Frames on the sockets: 4-byte header length, 4-byte body length, a JSON header, the body.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import signal
import socket
import struct
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass

import pyoxigraph as ox

from kg.errors import QueryError, QueryRejectedError, QuerySyntaxError, QueryTimeoutError
from kg.sparql import NotAcceptableError, QueryAnswer, QueryRequest, execute

_FRAME = struct.Struct("!II")
_LIVE_POOLS: weakref.WeakSet[QueryPool] = weakref.WeakSet()


class PoolClosedError(QueryError):
    """The pool has been closed (the service is shutting down)."""


class PoolBusyError(QueryError):
    """Every worker stayed busy until the request's deadline."""


# --- framing -----------------------------------------------------------------------------


def _pack(header: dict[str, object], body: bytes = b"") -> bytes:
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


def _recv_frame(sock: socket.socket) -> tuple[dict[str, object], bytes] | None:
    sizes = _recv_exact(sock, _FRAME.size)
    if sizes is None:
        return None
    head_len, body_len = _FRAME.unpack(sizes)
    head = _recv_exact(sock, head_len) if head_len else b""
    body = _recv_exact(sock, body_len) if body_len else b""
    if head is None or body is None:
        return None
    return json.loads(head), body


async def _arecv_exact(loop: asyncio.AbstractEventLoop, sock: socket.socket,
                       size: int) -> bytes:
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = await loop.sock_recv_into(sock, view[got:])
        if n == 0:
            raise ConnectionError("worker closed its socket")
        got += n
    return bytes(buf)


# --- the processes -----------------------------------------------------------------------


def _error_header(err: Exception) -> dict[str, object]:
    if isinstance(err, QuerySyntaxError):
        return {"ok": False, "kind": "syntax", "message": err.message, "line": err.line,
                "column": err.column}
    if isinstance(err, NotAcceptableError):
        return {"ok": False, "kind": "not-acceptable", "message": str(err), "form": err.form}
    if isinstance(err, QueryRejectedError):
        return {"ok": False, "kind": "rejected", "message": str(err)}
    return {"ok": False, "kind": "query", "message": str(err)}


def _worker_main(sock: socket.socket, store: ox.Store) -> None:
    while True:
        frame = _recv_frame(sock)
        if frame is None:
            return
        header, _ = frame
        try:
            answer = execute(store, QueryRequest(**header))  # type: ignore[arg-type]
            reply = _pack({"ok": True, **answer.header()}, answer.body)
        except QueryError as err:
            reply = _pack(_error_header(err))
        except Exception as err:  # the worker must answer, whatever happened
            reply = _pack({"ok": False, "kind": "query",
                           "message": f"query failed: {type(err).__name__}"})
        sock.sendall(reply)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _zygote_main(control: socket.socket, store: ox.Store, store_path: str | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # ended workers are reaped at once
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
                # An on-disk store is reopened read-only in each worker rather than used
                # through the handle inherited across fork (RocksDB keeps threads and locks).
                _worker_main(worker, ox.Store.read_only(store_path) if store_path else store)
            finally:
                os._exit(0)
        os.close(fds[0])
        children.add(pid)
        children = {c for c in children if _alive(c)}
        control.sendall(struct.pack("!q", pid))
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    for child in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child, 0)


# --- the pool (in the serving process) ---------------------------------------------------


@dataclass
class _Worker:
    pid: int
    sock: socket.socket


class QueryPool:
    """A zygote and ``size`` workers over ``store`` (see the module doc).

    When every worker is busy (long or runaway queries), up to ``overflow`` more workers are
    forked at once rather than making the next query wait; each is retired when it comes
    back while no query waits, so ``size`` workers stay resident.
    """

    def __init__(self, store: ox.Store, size: int = 2, store_path: str | None = None,
                 overflow: int = 0) -> None:
        self.size = max(1, size)
        self.max_size = self.size + max(0, overflow)
        self._store = store
        self._lock = threading.Lock()
        self._closed = False
        self._idle: deque[_Worker] = deque()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._all: dict[int, _Worker] = {}
        parent, child = socket.socketpair()
        others = [p._control for p in _LIVE_POOLS]
        pid = os.fork()
        if pid == 0:  # the zygote
            try:
                parent.close()
                for sock in others:  # sockets of other pools must not stay open here
                    sock.close()
                for other in list(_LIVE_POOLS):
                    for worker in other._all.values():
                        worker.sock.close()
                _zygote_main(child, store, store_path)
            finally:
                os._exit(0)
        child.close()
        self._control = parent
        self.zygote_pid = pid
        _LIVE_POOLS.add(self)
        for _ in range(self.size):
            self._idle.append(self._spawn())

    # -- workers --

    def _spawn(self) -> _Worker:
        ours, theirs = socket.socketpair()
        with self._lock:
            if self._closed:
                ours.close()
                theirs.close()
                raise PoolClosedError("the query pool is closed")
            socket.send_fds(self._control, [b"F"], [theirs.fileno()])
            theirs.close()
            raw = _recv_exact(self._control, 8)
        if raw is None:
            ours.close()
            raise PoolClosedError("the query zygote has gone")
        pid = struct.unpack("!q", raw)[0]
        ours.setblocking(False)
        worker = _Worker(pid, ours)
        self._all[pid] = worker
        return worker

    def _discard(self, worker: _Worker) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGKILL)
        worker.sock.close()
        self._all.pop(worker.pid, None)

    def _release(self, worker: _Worker) -> None:
        if len(self._all) > self.size and not self._waiters:
            self._discard(worker)  # an overflow worker no query needs any more
            return
        self._idle.append(worker)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break

    async def _acquire(self, deadline: float) -> _Worker:
        while not self._idle:
            if self._closed:
                raise PoolClosedError("the query pool is closed")
            if len(self._all) < self.max_size:
                return self._spawn()  # every worker is busy: start an overflow worker
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PoolBusyError("every query worker stayed busy")
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                raise PoolBusyError("every query worker stayed busy") from None
        return self._idle.popleft()

    # -- running --

    async def run(self, request: QueryRequest, timeout_s: float) -> QueryAnswer:
        """Run ``request`` in a worker; kill it and raise QueryTimeoutError past the limit."""
        if self._closed:
            raise PoolClosedError("the query pool is closed")
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + timeout_s
        worker = await self._acquire(deadline)
        healthy = False
        try:
            await loop.sock_sendall(worker.sock, _pack(request.as_dict()))
            remaining = deadline - time.monotonic()
            header, body = await asyncio.wait_for(self._read(loop, worker), max(remaining, 0))
            healthy = True
        except TimeoutError:
            raise QueryTimeoutError(
                f"the query ran longer than {timeout_s * 1000:.0f} ms and was stopped") from None
        except (ConnectionError, OSError):
            raise QueryError("the query worker ended unexpectedly") from None
        finally:
            if healthy:
                self._release(worker)
            else:  # killed at its deadline, cancelled, or broken: replace it
                self._discard(worker)
                if not self._closed and len(self._all) < self.size:
                    with contextlib.suppress(QueryError, OSError):
                        self._release(self._spawn())
        return _answer_or_raise(header, body)

    @staticmethod
    async def _read(loop: asyncio.AbstractEventLoop,
                    worker: _Worker) -> tuple[dict[str, object], bytes]:
        sizes = await _arecv_exact(loop, worker.sock, _FRAME.size)
        head_len, body_len = _FRAME.unpack(sizes)
        head = await _arecv_exact(loop, worker.sock, head_len)
        body = await _arecv_exact(loop, worker.sock, body_len) if body_len else b""
        return json.loads(head), body

    def run_sync(self, request: QueryRequest, timeout_s: float) -> QueryAnswer:
        """:meth:`run` for code without an event loop (tests, scripts)."""
        return asyncio.run(self.run(request, timeout_s))

    @property
    def worker_pids(self) -> list[int]:
        return list(self._all)

    def close(self) -> None:
        """Stop the zygote and every worker (bounded: about a second at most)."""
        if self._closed:
            return
        self._closed = True
        for worker in list(self._all.values()):
            self._discard(worker)
        self._idle.clear()
        for waiter in self._waiters:
            if not waiter.done():
                with contextlib.suppress(RuntimeError):
                    waiter.get_loop().call_soon_threadsafe(waiter.cancel)
        with self._lock:
            self._control.close()
        end = time.monotonic() + 1  # then SIGKILL (another process may hold the socket)
        while time.monotonic() < end:
            try:
                done, _ = os.waitpid(self.zygote_pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            time.sleep(0.01)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.zygote_pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.zygote_pid, 0)
        _LIVE_POOLS.discard(self)


def _answer_or_raise(header: dict[str, object], body: bytes) -> QueryAnswer:
    if header.get("ok"):
        return QueryAnswer(header["form"], str(header["media_type"]), body,  # type: ignore[arg-type]
                           int(header["rows"]), bool(header["truncated"]),  # type: ignore[call-overload]
                           int(header["max_rows"]))  # type: ignore[call-overload]
    kind = header.get("kind")
    message = str(header.get("message"))
    if kind == "syntax":
        raise QuerySyntaxError(message, header.get("line"), header.get("column"))  # type: ignore[arg-type]
    if kind == "not-acceptable":
        raise NotAcceptableError(header.get("form"))  # type: ignore[arg-type]
    if kind == "rejected":
        raise QueryRejectedError(message)
    raise QueryError(message)


@atexit.register
def _close_all() -> None:
    for pool in list(_LIVE_POOLS):
        with contextlib.suppress(Exception):
            pool.close()
