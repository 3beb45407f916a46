"""Dumps of the whole dataset for download: TriG, N-Quads, Turtle and JSON-LD."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyoxigraph as ox

from kg.namespaces import SERIALIZATION_PREFIXES
from kg.store import Store

# name → (file name, format, whether named graphs are kept)
DUMPS: dict[str, tuple[str, ox.RdfFormat, bool]] = {
    "trig": ("digistrat.trig", ox.RdfFormat.TRIG, True),
    "nquads": ("digistrat.nq", ox.RdfFormat.N_QUADS, True),
    "turtle": ("digistrat.ttl", ox.RdfFormat.TURTLE, False),
    "jsonld": ("digistrat.jsonld", ox.RdfFormat.JSON_LD, True),
}


def dump(store: Store, name: str) -> bytes:
    """The dataset in one dump format; Turtle holds the union of all graphs."""
    _, fmt, keep_graphs = DUMPS[name]
    quads = store.ox.quads_for_pattern(None, None, None, None)
    if keep_graphs:
        prefixes = SERIALIZATION_PREFIXES if fmt == ox.RdfFormat.TRIG else None
        return ox.serialize(quads, format=fmt, prefixes=prefixes)
    triples = {ox.Triple(q.subject, q.predicate, q.object) for q in quads}
    ordered = sorted(triples, key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))
    return ox.serialize(ordered, format=fmt, prefixes=SERIALIZATION_PREFIXES)


def export(store: Store, folder: Path, *, compress: bool = False) -> list[Path]:
    """Write every dump into ``folder`` (``.gz`` compressed when asked); return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (file_name, _, _) in DUMPS.items():
        data = dump(store, name)
        target = folder / (file_name + (".gz" if compress else ""))
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(gzip.compress(data, mtime=0) if compress else data)
        tmp.replace(target)
        written.append(target)
    return written
