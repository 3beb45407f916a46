"""Fixtures for the endpoint tests: a real ``oxigraph serve`` on loopback, filled with the
bundled dataset by ``digistrat load --to``, as the remote backend."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import free_port, running

from api.cli import main

OXIGRAPH = Path(sys.executable).parent / "oxigraph"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def oxigraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``oxigraph serve`` on a free loopback port, as it comes: no union default graph
    (digistrat names the graphs of the default graph in each request)."""
    if not OXIGRAPH.exists():
        pytest.fail("the oxigraph server is not installed in the venv (test extras)")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(OXIGRAPH), "serve", "--location", str(tmp_path_factory.mktemp("oxigraph")),
               "--bind", f"127.0.0.1:{port}", "--timeout-s", "60"]
    with running(command, base + "/query?query=ASK%7B%7D", ready_seconds=30):
        yield base


@pytest.fixture(scope="session")
def loaded(oxigraph: str) -> str:
    result = CliRunner().invoke(main, ["load", "--root", str(ROOT), "--to",
                                       oxigraph + "/store", "-q"])
    assert result.exit_code == 0, result.output
    assert "Wrote" in result.output
    return oxigraph
