"""The load case of docs/security.md: cheap queries while 64 large uploads and 4 runaway
queries arrive at once, against a real ``digistrat serve`` on loopback.

    .venv/bin/python bench/attack_load.py [--uploads 64] [--runaways 4] [--seconds 20]

Prints the cheap query's latency (p50, p99, max, errors), the answers the uploads and
runaway queries got, and the memory of the server's process tree (summed RSS, and summed
PSS, which counts shared pages once): before, at its peak (sampled every 50 ms) and 10 s
after the load ended. Figures are written to
bench/results/attack-load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support import free_port, process_tree_pss_mb, process_tree_rss_mb  # noqa: E402

ASK = "ASK { ?s ?p ?o }"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def upload_body() -> bytes:
    line = ('<https://w3id.org/digistrat/id/source/s{n}> a '
            '<https://w3id.org/digistrat/ontology#SourceDocument> ; '
            '<http://purl.org/dc/terms/title> "Quelle {n}"@de .\n')
    return "".join(line.format(n=n) for n in range(12_300)).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=64)
    parser.add_argument("--runaways", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    digistrat = str(Path(sys.executable).parent / "digistrat")
    server = subprocess.Popen([digistrat, "serve", "--root", str(ROOT), "--port", str(port),
                               "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/-/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        for _ in range(20):  # warm up
            httpx.get(url + "/sparql", params={"query": ASK})
        time.sleep(1)
        before = process_tree_rss_mb(server.pid)
        before_pss = process_tree_pss_mb(server.pid)
        peak = before
        peak_pss = before_pss
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak, peak_pss
            while not stop.is_set():
                peak = max(peak, process_tree_rss_mb(server.pid))
                peak_pss = max(peak_pss, process_tree_pss_mb(server.pid))
                time.sleep(0.05)

        body = upload_body()
        uploads: list[str] = []
        runaways: list[int] = []

        def upload() -> None:
            try:
                response = httpx.post(url + "/validate", content=body, timeout=300,
                                      headers={"Content-Type": "text/turtle",
                                               "Accept": "application/json"})
                kind = "conforms" if response.status_code == 200 else \
                    response.json().get("type", "?")
                uploads.append(f"{response.status_code} {kind}")
            except httpx.HTTPError:
                uploads.append("no answer")

        def runaway() -> None:
            try:
                runaways.append(httpx.get(url + "/sparql", params={"query": RUNAWAY},
                                          timeout=60).status_code)
            except httpx.HTTPError:
                runaways.append(-1)

        sampler = threading.Thread(target=sample)
        sampler.start()
        threads = [threading.Thread(target=upload) for _ in range(args.uploads)]
        threads += [threading.Thread(target=runaway) for _ in range(args.runaways)]
        for thread in threads:
            thread.start()
        latencies: list[float] = []
        errors = 0
        end = time.monotonic() + args.seconds
        with httpx.Client() as client:
            while time.monotonic() < end:
                started = time.perf_counter()
                response = client.get(url + "/sparql", params={"query": ASK}, timeout=30)
                latencies.append((time.perf_counter() - started) * 1000)
                errors += response.status_code != 200
                time.sleep(0.02)
        for thread in threads:
            thread.join(timeout=600)
        time.sleep(10)
        stop.set()
        sampler.join()
        after = process_tree_rss_mb(server.pid)
        after_pss = process_tree_pss_mb(server.pid)
        latencies.sort()
        result = {
            "uploads": args.uploads, "runaways": args.runaways,
            "cheap_queries": len(latencies), "cheap_errors": errors,
            "cheap_p50_ms": round(statistics.median(latencies), 1),
            "cheap_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
            "cheap_max_ms": round(latencies[-1], 1),
            "upload_answers": {str(s): uploads.count(s) for s in sorted(set(uploads))},
            "runaway_answers": {str(s): runaways.count(s) for s in sorted(set(runaways))},
            "rss_mb_before": round(before), "rss_mb_peak": round(peak),
            "rss_mb_after": round(after), "pss_mb_before": round(before_pss),
            "pss_mb_peak": round(peak_pss), "pss_mb_after": round(after_pss),
            "cores": os.cpu_count(),
        }
        print(json.dumps(result, indent=1))
        out = ROOT / "bench" / "results" / "attack-load.json"
        out.write_text(json.dumps(result, indent=1) + "\n")
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
