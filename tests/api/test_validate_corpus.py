"""The corpus of bad submissions: each file's answer matches its ``.expect.json`` sidecar."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from validate_helpers import Case, Listener, corpus

CASES = corpus()
ERROR_KEYS = {"ok", "status", "type", "error", "errors"}


def test_the_corpus_covers_every_kind_of_bad_submission() -> None:
    names = {case.name for case in CASES}
    for needed in ("syntax-turtle.ttl", "syntax-ntriples.nt", "syntax-jsonld.jsonld",
                   "syntax-rdfxml.rdf", "missing-required.ttl", "wrong-datatypes.ttl",
                   "ags-seven-digits.ttl", "bfs-letters.ttl", "end-before-start.ttl",
                   "dangling.ttl", "billion-laughs.rdf", "remote-context.jsonld.tmpl"):
        assert needed in names


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_corpus_case(client: TestClient, case: Case) -> None:
    expect = case.expect
    with Listener() as listener:
        started = time.monotonic()
        response = client.post("/validate", content=case.body(listener.port),
                               headers={"Content-Type": case.media_type,
                                        "Accept": "application/json"})
        elapsed = time.monotonic() - started
        time.sleep(0.2)  # a connection attempt made late would still be seen
    if expect.get("listener") == "no-connection":
        assert listener.connections == [], "the submission caused a network connection"
    assert response.status_code == expect["status"], response.text
    body = response.json()
    if "max_seconds" in expect:
        assert elapsed < expect["max_seconds"]
    if "must_not_contain" in expect:
        assert expect["must_not_contain"] not in response.text
    if expect["status"] != 200:
        assert set(body) >= ERROR_KEYS
        assert body["ok"] is False and body["status"] == expect["status"]
        assert body["type"] == expect["type"]
        assert body["errors"] and body["error"]
        for key in ("line", "column"):
            if key in expect:
                assert body[key] == expect[key], body
        return
    assert body["conforms"] is expect["conforms"]
    violations = {(r["focus_node"], r["path"], r["severity"]) for r in body["results"]
                  if r["severity"] == "Violation"}
    assert violations == {tuple(v) for v in expect["violations"]}
    assert body["summary"]["violations"] == sum(r["severity"] == "Violation"
                                                for r in body["results"])
    for focus, path, value in expect.get("dangling", []):
        assert any(r["focus_node"] == focus and r["path"] == path and r["value"] == value
                   and r["source_shape"].endswith("#DanglingReference")
                   for r in body["results"]), (focus, path, value)


def test_remote_context_message_is_clear(client: TestClient) -> None:
    case = next(c for c in CASES if c.name == "remote-context.jsonld.tmpl")
    with Listener() as listener:
        response = client.post("/validate", content=case.body(listener.port),
                               headers={"Content-Type": "application/ld+json"})
    assert response.status_code == 400
    assert "remote JSON-LD contexts are not loaded" in response.json()["error"]
    assert listener.connections == []


def test_oversized_body_by_content_length(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_upload_bytes=1_000)
    body = b"# padding\n" * 200
    response = client.post("/validate", content=body, headers={"Content-Type": "text/turtle"})
    assert response.status_code == 413
    assert response.json()["type"] == "too-large"
    assert response.json()["max_upload_bytes"] == 1_000


def test_oversized_body_without_content_length_is_counted_while_read(
        make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_upload_bytes=1_000)
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10_000):  # 700 kB if read to the end; sent without Content-Length
            yield b"# padding padding padding padding padding padding padding padding\n"

    response = client.post("/validate", content=chunks(),
                           headers={"Content-Type": "text/turtle"})
    assert response.status_code == 413
    assert response.json()["type"] == "too-large"


def test_too_many_triples(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_upload_triples=10)
    body = "".join(f"<https://example.org/s{i}> <https://example.org/p> \"{i}\" .\n"
                   for i in range(11)).encode()
    response = client.post("/validate", content=body,
                           headers={"Content-Type": "application/n-triples"})
    assert response.status_code == 413
    assert response.json()["type"] == "too-many-triples"


@pytest.mark.parametrize("media_type", ["image/png", "text/html", "application/pdf"])
def test_unsupported_media_type(client: TestClient, media_type: str) -> None:
    response = client.post("/validate", content=b"x", headers={"Content-Type": media_type})
    assert response.status_code == 415
    assert response.json()["type"] == "unsupported-media-type"
    assert set(response.json()) >= ERROR_KEYS


def test_missing_content_type_is_415(client: TestClient) -> None:
    response = client.post("/validate", content=b"<a> <b> <c> .",
                           headers={"Content-Type": ""})
    assert response.status_code == 415


def test_server_still_answers_after_the_corpus(client: TestClient) -> None:
    for case in CASES:
        if case.is_template:
            continue
        client.post("/validate", content=case.body(),
                    headers={"Content-Type": case.media_type})
    assert client.get("/-/health").status_code == 200
    good = (CASES[0].path.parent.parent.parent / "templates" / "strategy.ttl").read_bytes()
    response = client.post("/validate", content=good, headers={"Content-Type": "text/turtle"})
    assert response.status_code == 200
