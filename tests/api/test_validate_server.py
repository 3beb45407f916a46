"""The validation service in a real server process: validations run off the event loop."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support import free_port, running
from validate_helpers import big_submission

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE = ROOT / "templates" / "strategy.ttl"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    env = dict(os.environ, DIGISTRAT_ROOT=str(ROOT), DIGISTRAT_VALIDATION_TIMEOUT_MS="60000")
    command = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    url = f"http://127.0.0.1:{port}"
    with running(command, url + "/-/health", ready_seconds=60, env=env, cwd=ROOT):
        yield url


def test_health_is_answered_while_a_validation_runs(server: str) -> None:
    warm = httpx.post(server + "/validate", content=TEMPLATE.read_bytes(),
                      headers={"Content-Type": "text/turtle"}, timeout=60)
    assert warm.status_code == 200 and warm.json()["conforms"] is True
    outcome: dict[str, object] = {}

    def validate() -> None:
        # 150 elements finished before the health request in one CI run once SHACL-SPARQL
        # queries ran once for all focus nodes (0.78 s in process); 1,500 took 7.8 s
        response = httpx.post(server + "/validate", content=big_submission(1500),
                              headers={"Content-Type": "text/turtle"}, timeout=120)
        outcome["status"] = response.status_code
        outcome["finished"] = time.monotonic()

    worker = threading.Thread(target=validate)
    worker.start()
    time.sleep(0.5)  # the big submission is being parsed and validated now
    started = time.monotonic()
    health = httpx.get(server + "/-/health", timeout=5)
    answered = time.monotonic()
    still_running = worker.is_alive()
    worker.join(timeout=120)
    assert health.status_code == 200
    assert answered - started < 2
    assert still_running, "the validation ended before the health request; make it bigger"
    assert outcome["status"] == 200
    assert outcome["finished"] > answered  # type: ignore[operator]


def test_oversized_streamed_body_is_refused_without_reading_it_all(server: str) -> None:
    sent = []

    def chunks() -> Iterator[bytes]:
        for _ in range(2_000):  # 20 MB if it were all read; the cap is 2 MB
            sent.append(1)
            yield b"#" * 10_000 + b"\n"

    response = httpx.post(server + "/validate", content=chunks(),
                          headers={"Content-Type": "text/turtle"}, timeout=30)
    assert response.status_code == 413
    assert response.json()["type"] == "too-large"
    assert httpx.get(server + "/-/health", timeout=5).status_code == 200
