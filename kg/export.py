"""Dumps of the whole dataset for download: TriG, N-Quads, Turtle and JSON-LD."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyoxigraph as ox

from kg.formats import DUMPS
from kg.namespaces import SERIALIZATION_PREFIXES
from kg.store import Store


def canonical_quads(store: Store) -> list[ox.Quad]:
    """Every quad of the store, blank nodes labelled by RDF Dataset Canonicalization
    (RDFC-1.0) and sorted: the same bytes for the same graph, whichever store holds it and
    however often it is rebuilt (so dumps keep their checksums)."""
    dataset = ox.Dataset(store.quads())
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return sorted(dataset, key=lambda q: (str(q.graph_name), str(q.subject), str(q.predicate),
                                          str(q.object)))


def dump(store: Store, name: str) -> bytes:
    """The dataset in one dump format (:data:`kg.formats.DUMPS`); Turtle holds the union of
    all graphs."""
    entry = next(f for f in DUMPS if f.name == name)
    fmt = entry.ox_format
    quads = canonical_quads(store)
    if entry.dump_keeps_graphs:
        prefixes = SERIALIZATION_PREFIXES if fmt == ox.RdfFormat.TRIG else None
        return ox.serialize(quads, format=fmt, prefixes=prefixes)
    triples = {ox.Triple(q.subject, q.predicate, q.object) for q in quads}
    ordered = sorted(triples, key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))
    return ox.serialize(ordered, format=fmt, prefixes=SERIALIZATION_PREFIXES)


def export(store: Store, folder: Path, *, compress: bool = False) -> list[Path]:
    """Write every dump into ``folder`` (``.gz`` compressed when asked); return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for entry in DUMPS:
        data = dump(store, entry.name)
        target = folder / (entry.dump_file + (".gz" if compress else ""))
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(gzip.compress(data, mtime=0) if compress else data)
        tmp.replace(target)
        written.append(target)
    return written
