"""Validation messages link to ``/shapes#<shape>``: every shape a result can name has that
anchor on the shapes page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from kg.store import Store

SHAPES = """PREFIX sh: <http://www.w3.org/ns/shacl#>
SELECT DISTINCT ?shape WHERE {
  { ?node sh:targetClass ?cls ; sh:property ?shape } UNION { ?shape sh:sparql ?c }
  FILTER(isIRI(?shape))
}"""


def test_every_targeted_shape_has_an_anchor(client: TestClient, store: Store) -> None:
    page = client.get("/shapes", headers={"Accept": "text/html"}).text
    anchors = set(re.findall(r'id="([^"]+)"', page))
    shapes = [row["shape"].value for row in store.ox.query(SHAPES,
                                                            use_default_graph_as_union=True)]
    assert len(shapes) > 100
    missing = [s for s in shapes if s.rsplit("#", 1)[-1] not in anchors]
    assert missing == []
    assert "AdoptingBodyOfOwner" in anchors and "Strategy-lifecycleStatus" in anchors
