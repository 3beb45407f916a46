"""Fuzzing every operation of the OpenAPI description (which covers /sparql) against a real
server process on loopback, with a bounded budget: no answer may be a 5xx other than 503
(a time limit or a busy pool), the server must keep answering, and the canary listener on
loopback must hear nothing."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from support import Canary, free_port, running

ROOT = Path(__file__).resolve().parents[2]
DIGISTRAT = str(Path(sys.executable).parent / "digistrat")
EXAMPLES = int(os.environ.get("DIGISTRAT_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    listener = Canary()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, canary: Canary) -> Iterator[str]:
    port = free_port()
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path_factory.mktemp("cache")))
    command = [DIGISTRAT, "serve", "--root", str(ROOT), "--port", str(port), "-q",
               "--query-timeout-ms", "2000", "--validation-timeout-ms", "5000"]
    url = f"http://127.0.0.1:{port}"
    with running(command, url + "/-/health", ready_seconds=120, env=env):
        yield url


def test_no_operation_answers_a_server_error(base_url: str, canary: Canary) -> None:
    """Every operation, EXAMPLES generated requests each (DIGISTRAT_FUZZ_EXAMPLES)."""
    api = schemathesis.openapi.from_url(base_url + "/-/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 20
    failures: list[tuple[str, str, int, str]] = []
    for operation in operations:

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            response = case.call(base_url=base_url, timeout=30)
            if response.status_code >= 500 and response.status_code != 503:
                failures.append((case.method, case.formatted_path, response.status_code,
                                 response.text[:300]))

        run()
    assert not failures, failures[:5]
    assert canary.connections == 0


def test_the_description_covers_the_endpoint(base_url: str) -> None:
    paths = httpx.get(base_url + "/-/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/sparql"])
    assert "post" in paths["/validate"]


def test_still_answering_and_nothing_heard(base_url: str, canary: Canary) -> None:
    response = httpx.get(base_url + "/sparql", params={"query": "ASK {}"})
    assert response.status_code == 200
    assert canary.connections == 0
