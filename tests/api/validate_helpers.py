"""Helpers of the /validate tests: the corpus, a loopback listener, result sets."""

from __future__ import annotations

import json
import re
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

CORPUS = Path(__file__).resolve().parent.parent / "validation_corpus"
MEDIA_TYPES = {"ttl": "text/turtle", "nt": "application/n-triples",
               "jsonld": "application/ld+json", "rdf": "application/rdf+xml"}


@dataclass
class Case:
    """One corpus file and its expected answer (the ``.expect.json`` sidecar)."""

    path: Path
    expect: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def is_template(self) -> bool:
        return self.path.suffix == ".tmpl"

    @property
    def media_type(self) -> str:
        name = self.path.name.removesuffix(".tmpl")
        return MEDIA_TYPES[name.rsplit(".", 1)[1]]

    def body(self, port: int | None = None) -> bytes:
        data = self.path.read_bytes()
        if self.is_template:
            assert port is not None
            data = data.replace(b"{PORT}", str(port).encode())
        return data


def corpus() -> list[Case]:
    cases = []
    for expect in sorted(CORPUS.glob("*.expect.json")):
        path = CORPUS / expect.name.removesuffix(".expect.json")
        cases.append(Case(path, json.loads(expect.read_text(encoding="utf-8"))))
    return cases


@dataclass
class Listener:
    """A plain TCP server on loopback that records every connection made to it."""

    sock: socket.socket = field(default_factory=socket.socket)
    connections: list[tuple[str, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def __enter__(self) -> Listener:
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, address = self.sock.accept()
            except OSError:
                continue
            self.connections.append(address)
            conn.close()

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.sock.close()


_BNODE = re.compile(r"_:[A-Za-z0-9]+")


def result_set(results: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    """Results as comparable tuples; blank node labels (random per parse) blanked out."""
    def norm(value: Any) -> Any:
        return _BNODE.sub("_:b", value) if isinstance(value, str) else value

    return {(norm(r["focus_node"]), norm(r["path"]), norm(r["value"]), r["severity"],
             r["source_shape"], norm(r["message"])) for r in results}


def big_submission(elements: int) -> bytes:
    """A strategy with many elements: slow enough to validate to overlap other requests."""
    base = "https://w3id.org/digistrat/id/"
    lines = ["@prefix ds: <https://w3id.org/digistrat/ontology#> .",
             "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .",
             f"<{base}strategy/big-2030> a ds:Strategy ."]
    for n in range(1, elements + 1):
        lines.append(f'<{base}element/big-2030-{n}> a ds:ActionField ; skos:prefLabel "E{n}"@de ;'
                     f" ds:isElementOf <{base}strategy/big-2030> ; ds:position {n} .")
    return "\n".join(lines).encode()
