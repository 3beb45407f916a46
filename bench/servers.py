"""Start and stop the servers under test, on loopback ports, by process id."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
PEERS_VENV = Path(os.environ.get("DIGISTRAT_BENCH_PEERS_VENV", "/tmp/digistrat-bench-peers"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str, timeout: float = 5, data: bytes | None = None,
                headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except (OSError, urllib.error.URLError):
        return 0


@dataclass
class Server:
    name: str
    port: int
    path: str  # where SPARQL queries go
    proc: subprocess.Popen[bytes]
    started: float
    ready_seconds: float = 0.0
    peak_tree_mb: float = 0.0  # highest process-tree RSS seen while waiting for readiness
    cleanup: list[Path] = field(default_factory=list)

    def pids(self) -> list[int]:
        """The server process and its descendants (query worker processes)."""
        found = [self.proc.pid]
        for pid in found:
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            found.extend(int(c) for c in children)
        return found

    def tree_rss_mb(self) -> float:
        """The summed VmRSS of the process tree, cheaply (``statm``: no walk of the memory
        maps, which took about half a core while a 1M-triple server started)."""
        pages = 0
        for pid in self.pids():
            try:
                pages += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
            except (OSError, IndexError, ValueError):
                continue
        return round(pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024), 1)

    def rss_mb(self) -> dict[str, float]:
        """VmRSS of the server process and the sum over its process tree, in MB."""
        values = {}
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        values[pid] = int(line.split()[1]) / 1024
            except OSError:
                continue
        pss = 0.0  # proportional set size: shared copy-on-write pages counted once
        for pid in values:
            try:
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1]) / 1024
            except OSError:
                continue
        return {"main_mb": round(values.get(self.proc.pid, 0.0), 1),
                "tree_mb": round(sum(values.values()), 1), "tree_pss_mb": round(pss, 1),
                "processes": len(values)}

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        for path in self.cleanup:
            shutil.rmtree(path, ignore_errors=True)


def spawn(cmd: list[str], log: Path) -> tuple[subprocess.Popen[bytes], float]:
    """Start ``cmd`` in a session of its own, its output to ``log``; the process and when."""
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    return proc, started


def wait_ready(server: Server, url: str, timeout: float, ok: tuple[int, ...] = (200,)) -> Server:
    """``server`` once ``url`` answers a status in ``ok`` (RuntimeError if it exits first or
    ``timeout`` seconds pass)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.proc.returncode}")
        if http_status(url, timeout=2) in ok:
            server.ready_seconds = time.perf_counter() - server.started
            return server
        server.peak_tree_mb = max(server.peak_tree_mb, server.tree_rss_mb())
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"{server.name} not ready after {timeout} s")


def start_digistrat(root: Path, log: Path, *, store: Path | None = None,
                    extra: list[str] | None = None, timeout: float = 1800,
                    ready_path: str = "/-/health", quiet: bool = True) -> Server:
    port = free_port()
    cmd = [str(VENV_BIN / "digistrat"), "serve", "--root", str(root), "--port", str(port),
           "--host", "127.0.0.1", *(["--quiet"] if quiet else []), *(extra or [])]
    if store is not None:
        cmd += ["--store", str(store)]
    proc, started = spawn(cmd, log)
    server = Server("digistrat", port, "/sparql", proc, started)
    return wait_ready(server, f"http://127.0.0.1:{port}{ready_path}", timeout)


def wait_for_search(server: Server, seconds: float = 1800) -> float:
    """Seconds until digistrat's `/search` answers 200: its index is built after the service
    answers (503 until then), and the service's memory is measured once it is."""
    started = time.perf_counter()
    url = f"http://127.0.0.1:{server.port}/search?q=digital&format=json"
    while time.perf_counter() - started < seconds:
        status = http_status(url, timeout=60)
        if status == 200:
            return time.perf_counter() - started
        if status != 503:  # 503: still being built; anything else will not get better
            raise RuntimeError(f"{server.name}: /search answered {status}")
        time.sleep(0.25)
    raise RuntimeError(f"{server.name}: /search did not answer 200 within {seconds:.0f} s")


def start_oxigraph(root: Path, log: Path, *, disk: bool = False, timeout: float = 600) -> Server:
    """`oxigraph serve` in memory (data POSTed to /store) or `serve-read-only` on disk."""
    port = free_port()
    data = root / "peers" / "all.nq"
    binary = str(VENV_BIN / "oxigraph")
    cleanup: list[Path] = []
    started_load = time.perf_counter()
    if disk:
        location = Path(tempfile.mkdtemp(prefix="dsb-oxigraph-"))
        cleanup.append(location)
        subprocess.run([binary, "load", "--location", str(location), "--file", str(data)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=timeout)
        cmd = [binary, "serve-read-only", "--location", str(location)]
    else:
        cmd = [binary, "serve"]
    cmd += ["--bind", f"127.0.0.1:{port}", "--union-default-graph"]
    proc, _ = spawn(cmd, log)
    server = Server("oxigraph_disk" if disk else "oxigraph", port, "/query", proc,
                    started_load, cleanup=cleanup)
    wait_ready(server, f"http://127.0.0.1:{port}/query?query=ASK%7B%7D", timeout)
    if not disk:
        status = http_status(f"http://127.0.0.1:{port}/store", timeout=timeout,
                             data=data.read_bytes(),
                             headers={"Content-Type": "application/n-quads"})
        if status not in (200, 201, 204):
            server.stop()
            raise RuntimeError(f"oxigraph: loading {data} answered {status}")
        server.ready_seconds = time.perf_counter() - started_load
    return server


def ensure_peers_venv() -> Path:
    """A separate venv with rdflib-endpoint (never added to the project's dependencies)."""
    binary = PEERS_VENV / "bin" / "rdflib-endpoint"
    if not binary.exists():
        subprocess.run(["python3", "-m", "venv", str(PEERS_VENV)], check=True, timeout=300)
        subprocess.run([str(PEERS_VENV / "bin" / "pip"), "install", "-q", "rdflib-endpoint",
                        "uvicorn"], check=True, timeout=900)
    return binary


def start_rdflib_endpoint(root: Path, log: Path, timeout: float = 1800) -> Server:
    binary = ensure_peers_venv()
    port = free_port()
    proc, started = spawn([str(binary), "serve", "--host", "127.0.0.1", "--port", str(port),
                            str(root / "peers" / "all.nq")], log)
    server = Server("rdflib_endpoint", port, "/", proc, started)
    wait_ready(server, f"http://127.0.0.1:{port}/?query=ASK%7B%7D", timeout)
    return server
