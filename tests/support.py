"""Helpers for tests that start real server processes on loopback, and read what the
service asks of them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rdflib import BNode, Graph, URIRef


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def running(command: list[str], ready_url: str, *, ready_seconds: float = 60,
            env: dict[str, str] | None = None, cwd: Path | None = None,
            ) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` in its own process group until ``ready_url`` answers 200 (bounded by
    ``ready_seconds``); stop the whole group afterwards. Fails the test with the process's
    output when it exits early or is not ready in time."""
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env,
                                   cwd=cwd, start_new_session=True)

        def tail() -> str:
            output.seek(0)
            return output.read().decode(errors="replace")[-3000:]

        try:
            deadline = time.monotonic() + ready_seconds
            while not answers(ready_url):
                if process.poll() is not None:
                    pytest.fail(f"{command[0]} exited with {process.returncode}:\n{tail()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"{command[0]} was not ready within {ready_seconds} s:\n{tail()}")
                time.sleep(0.1)
            yield process
        finally:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)


def asgi_messages(client: Any, path: str, extensions: dict[str, Any] | None = None
                  ) -> list[dict[str, Any]]:
    """What the app of ``client`` (a TestClient entered) sends for a GET of ``path``, message by
    message: the ASGI interface, below HTTP, where a body's chunks can be seen."""
    import anyio

    sent: list[dict[str, Any]] = []
    done = anyio.Event()
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()  # the client stays until the response is complete
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": [(b"host", b"testserver")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
             "extensions": extensions or {}}
    assert client.portal is not None  # the shared client runs the app's event loop
    client.portal.call(client.app, scope, receive, send)
    return sent


def kernel_merges_pages() -> bool:
    """Whether this kernel takes ``PR_SET_MEMORY_MERGE`` (Linux 6.4+, where no sandbox
    refuses it), asked in a child so that this process stays unmarked."""
    from kg.workers import merge_identical_pages

    pid = os.fork()
    if pid == 0:
        os._exit(0 if merge_identical_pages() else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def eventually(check: Callable[[], object], seconds: float = 10.0) -> bool:
    """Whether ``check()`` comes true within ``seconds`` (asked every 10 ms)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie has ended; only its status is left)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def cbd(graph: Graph, iri: str) -> Graph:
    """The concise bounded description of ``iri``: its triples and the blank nodes'."""
    out, todo, seen = Graph(), [URIRef(iri)], set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for p, o in graph.predicate_objects(node):
            out.add((node, p, o))
            if isinstance(o, BNode):
                todo.append(o)
    return out


class Canary:
    """A TCP listener on loopback that counts every connection: nothing a client sends may
    ever make the service connect to it."""

    def __init__(self) -> None:
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/sparql"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def process_tree_rss_mb(pid: int) -> float:
    """Summed resident memory of ``pid`` and its descendants, in MB."""
    total = 0
    for member in descendants(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def process_tree_pss_mb(pid: int) -> float:
    """Summed proportional set size of ``pid`` and its descendants, in MB: shared pages
    counted once across the tree (what the tree really uses)."""
    total = 0
    for member in descendants(pid):
        try:
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def recorded_queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts of the queries every :class:`kg.remote.RemoteStore` asks from now on (the
    list grows as they are asked)."""
    from kg.remote import RemoteStore

    asked: list[str] = []
    real_query = RemoteStore.query

    def recording(self: RemoteStore, text: str, **kwargs: bool) -> object:
        asked.append(text)
        return real_query(self, text, **kwargs)

    monkeypatch.setattr(RemoteStore, "query", recording)
    return asked
