"""Dumps of the whole dataset for download: TriG, N-Quads, Turtle and JSON-LD."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyoxigraph as ox

from kg.formats import DUMPS
from kg.namespaces import SERIALIZATION_PREFIXES
from kg.store import Store


def dump(store: Store, name: str) -> bytes:
    """The dataset in one dump format (:data:`kg.formats.DUMPS`); Turtle holds the union of
    all graphs."""
    entry = next(f for f in DUMPS if f.name == name)
    fmt = entry.ox_format
    quads = store.ox.quads_for_pattern(None, None, None, None)
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
