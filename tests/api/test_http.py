"""What every response shares (api/http.py, api/errors.py): HEAD wherever GET is, with the
same headers and length; one error shape per representation on every path."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from support import asgi_messages

GETTABLE = ["/", "/-/compare", "/-/timeline", "/-/coverage", "/-/downloads",
            "/-/downloads/digistrat.ttl", "/-/downloads/digistrat.nq.gz", "/-/catalog",
            "/.well-known/void", "/sitemap.xml", "/-/context.jsonld", "/validate",
            "/id/municipality/ch-261", "/ontology", "/vocab/theme", "/sparql",
            "/-/strategies", "/-/strategies?format=csv", "/-/municipalities", "/-/themes",
            "/-/themes/open-data", "/-/charts", "/search?q=Bern", "/validate/new"]


@pytest.mark.parametrize("path", GETTABLE)
@pytest.mark.parametrize("accept", ["text/html", "text/turtle", "*/*"])
def test_head_answers_as_get_does(client: TestClient, path: str, accept: str) -> None:
    get = client.get(path, headers={"Accept": accept})
    head = client.head(path, headers={"Accept": accept})
    assert head.status_code == get.status_code, (path, accept)
    assert head.content == b""
    for name in ("content-type", "content-length", "etag", "vary"):
        assert head.headers.get(name) == get.headers.get(name), (path, accept, name)
    if get.status_code == 200:
        assert int(head.headers["content-length"]) == len(get.content) > 0


UNKNOWN = ["/nonexistent", "/-/nope", "/shapes/x", "/id/municipality/nowhere"]


@pytest.mark.parametrize("path", UNKNOWN)
def test_unknown_paths_are_a_404_in_either_representation(client: TestClient,
                                                           path: str) -> None:
    machine = client.get(path, headers={"Accept": "application/json"})
    assert machine.status_code == 404
    assert machine.json()["ok"] is False and machine.json()["type"] == "not-found"
    browser = client.get(path, headers={
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"})
    assert browser.status_code == 404
    assert browser.headers["content-type"].startswith("text/html")
    assert "<h1>404" in browser.text and 'href="/"' in browser.text


def test_an_error_of_the_endpoint_is_a_page_for_browsers(client: TestClient) -> None:
    response = client.get("/sparql", params={"query": "SELECT nonsense"},
                          headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "syntax" in response.text.lower()
    machine = client.get("/sparql", params={"query": "SELECT nonsense"})
    assert machine.json()["type"] == "query-syntax"


def test_a_server_that_can_send_files_by_path_gets_the_body(client: TestClient) -> None:
    """An ASGI server offering the ``http.response.pathsend`` extension (granian does) still
    gets a static file as a body, with its ETag: the middleware hides the extension."""
    sent = asgi_messages(client, "/-/static/style.css", {"http.response.pathsend": {}})
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 200
    assert any(k == b"etag" for k, _ in sent[0]["headers"])  # type: ignore[attr-defined]
    assert sent[1]["body"] == client.get("/-/static/style.css").content
