"""Shared fixtures: the real project, its store, and the real app behind a test client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from kg.project import Project
from kg.store import Store

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def project() -> Project:
    return Project(ROOT)


@pytest.fixture(scope="session")
def store(project: Project) -> Store:
    """The bundled ontology, shapes and data, loaded once for the whole run."""
    return Store.load(project)


@pytest.fixture(scope="module")
def make_client(store: Store) -> Iterator[Callable[..., TestClient]]:
    """A factory of clients over the real app, with settings overridden per test; the apps
    (and their worker pools) are closed at the end of the test module."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        overrides.setdefault("public_url", "http://testserver")
        client = TestClient(create_app(Settings(**overrides), store),
                            raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def client(store: Store) -> Iterator[TestClient]:
    """The one app with default settings, shared by every test of the session; its public
    address (setting public_url) is the test client's own."""
    app = create_app(Settings(public_url="http://testserver"), store)
    with TestClient(app, raise_server_exceptions=False) as shared:
        yield shared


@pytest.fixture(autouse=True)
def _no_cookies_from_other_tests(request: pytest.FixtureRequest) -> None:
    """The shared client keeps cookies (a language chosen by one test would be another's
    choice too): each test starts without any."""
    if "client" in request.fixturenames:
        request.getfixturevalue("client").cookies.clear()
