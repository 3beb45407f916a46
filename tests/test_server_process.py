"""The real server process: ``digistrat serve --port <free port>`` on 127.0.0.1, queried over
HTTP, then stopped (and its query processes with it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from support import alive, free_port, kernel_merges_pages

ROOT = Path(__file__).resolve().parent.parent
DIGISTRAT = Path(sys.executable).parent / "digistrat"
START_TIMEOUT_S = 120


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() \
            else []
        found += [int(c) for c in children]
    return found


def test_serve_answers_sparql_over_http_and_stops() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DIGISTRAT_QUERY_TIMEOUT_MS": "2000", "DIGISTRAT_QUERY_WORKERS": "1"}
    process = subprocess.Popen(
        [str(DIGISTRAT), "serve", "--root", str(ROOT), "--host", "127.0.0.1", "--port",
         str(port), "--max-result-rows", "7", "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    helpers: list[int] = []
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx.Client(base_url=base, timeout=10, trust_env=False) as http:
            while True:
                assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]
                try:
                    if http.get("/-/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not start in time"
                time.sleep(0.25)
            response = http.get("/sparql", params={"query": "SELECT * { ?s ?p ?o }"},
                                headers={"Accept": "application/sparql-results+json"})
            assert response.status_code == 200
            assert len(response.json()["results"]["bindings"]) == 7
            assert response.headers["x-digistrat-truncated"] == "true"
            response = http.post("/sparql", content=b"ASK { ?s ?p ?o }", headers={
                "Content-Type": "application/sparql-query",
                "Accept": "application/sparql-results+xml"})
            assert response.status_code == 200 and b"<boolean>true</boolean>" in response.content
            description = http.get("/sparql", headers={"Accept": "text/turtle"})
            assert f"<{base}/sparql>".encode() in description.content
            slow = http.get("/sparql", params={
                "query": "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"})
            assert slow.status_code == 503 and slow.json()["type"] == "query-timeout"
            assert http.get("/sparql", params={"query": "ASK {}"}).status_code == 200
            # a download through the real HTTP stack: its checksum as ETag, 304, a range
            # (206, the right bytes), HEAD without a body
            whole = http.get("/-/downloads/digistrat.nq.gz")
            etag = whole.headers["etag"]
            assert whole.status_code == 200 and len(whole.content) > 100
            assert http.get("/-/downloads/digistrat.nq.gz",
                            headers={"If-None-Match": etag}).status_code == 304
            part = http.get("/-/downloads/digistrat.nq.gz",
                            headers={"Range": "bytes=10-99", "If-Range": etag})
            assert part.status_code == 206 and part.content == whole.content[10:100]
            assert part.headers["content-range"] == f"bytes 10-99/{len(whole.content)}"
            head = http.head("/-/downloads/digistrat.nq.gz")
            assert head.status_code == 200 and head.content == b""
            assert head.headers["etag"] == etag
            assert int(head.headers["content-length"]) == len(whole.content)
        helpers = children_of(process.pid)
        assert helpers  # the query zygote ...
        helpers += [w for z in helpers for w in children_of(z)]
        assert len(helpers) >= 2  # ... and its worker
        if kernel_merges_pages():  # memory_merge: every process marked (Linux 6.4+)
            for pid in (process.pid, *helpers):
                assert "ksm_merge_any: yes" in Path(f"/proc/{pid}/ksm_stat").read_text(), pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in helpers)
