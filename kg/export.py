"""Dumps of the whole dataset for download: TriG, N-Quads, Turtle and JSON-LD."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg.formats import DUMPS, Format
from kg.namespaces import SERIALIZATION_PREFIXES
from kg.store import GraphReading, Store
from kg.workers import process_state


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
    return _serialized(canonical_quads(store), next(f for f in DUMPS if f.name == name))


def _serialized(quads: list[ox.Quad], entry: Format) -> bytes:
    fmt = entry.ox_format
    if entry.dump_keeps_graphs:
        prefixes = SERIALIZATION_PREFIXES if fmt == ox.RdfFormat.TRIG else None
        return ox.serialize(quads, format=fmt, prefixes=prefixes)
    triples = {ox.Triple(q.subject, q.predicate, q.object) for q in quads}
    ordered = sorted(triples, key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))
    return ox.serialize(ordered, format=fmt, prefixes=SERIALIZATION_PREFIXES)


def _write(target: Path, data: bytes) -> None:
    """``data`` into ``target``, written beside it and moved there when complete."""
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(data)
    partial.replace(target)


@dataclass(frozen=True)
class DumpFile:
    """One dump written to a file: its format, whether compressed, where, its size and
    SHA-256."""

    format: str
    compressed: bool
    path: str
    size: int
    sha256: str


#: The forms every dump is offered in: plain (False) and gzip-compressed (True).
DUMP_FORMS = (False, True)


def dump_names(forms: tuple[bool, ...] = DUMP_FORMS) -> list[str]:
    """The file names :func:`write_dumps` gives the dumps, in its order, without making them
    (what VoID names)."""
    return [_dump_name(entry, compressed) for entry in DUMPS for compressed in forms]


def _dump_name(entry: Format, compressed: bool) -> str:
    return entry.dump_file + (".gz" if compressed else "")


def write_dumps(store: Store, folder: Path, forms: tuple[bool, ...] = DUMP_FORMS
                ) -> list[DumpFile]:
    """Every dump written into ``folder`` in each of ``forms`` (plain: False, gzip-compressed:
    True), the dataset canonicalised once for all of them, in the order of
    :data:`kg.formats.DUMPS`."""
    folder.mkdir(parents=True, exist_ok=True)
    quads = canonical_quads(store)
    files = []
    for entry in DUMPS:
        data = _serialized(quads, entry)
        for compressed in forms:
            body = gzip.compress(data, mtime=0) if compressed else data
            target = folder / _dump_name(entry, compressed)
            _write(target, body)
            files.append(DumpFile(entry.name, compressed, str(target), len(body),
                                  hashlib.sha256(body).hexdigest()))
    return files


def export(store: Store, folder: Path, *, compress: bool = False) -> list[Path]:
    """Write every dump into ``folder`` (``.gz`` compressed when asked); return the paths."""
    return [Path(file.path) for file in write_dumps(store, folder, (compress,))]


def dump_folder(store: GraphReading) -> Path:
    """A temporary folder for the dumps of ``store``, made at first use and removed with
    the store (or when the process ends). Its name holds the process's id: the folders of
    processes that ended without removing theirs (killed) are removed when a new one is
    made (at 1M triples the dumps take about 500 MB)."""
    with _FOLDERS_LOCK:
        folder = _FOLDERS.get(store)
        if folder is None:
            prefix = f"{DUMP_PREFIX}{os.getpid()}-"
            folder = _FOLDERS[store] = Path(tempfile.mkdtemp(prefix=prefix))
            weakref.finalize(store, shutil.rmtree, folder, ignore_errors=True)
            _remove_orphans(folder.parent)
        return folder


DUMP_PREFIX = "digistrat-dumps-"


def _remove_orphans(parent: Path) -> None:
    """Remove the dump folders under ``parent`` whose process no longer runs (only ours:
    a folder of another user's process is not ours to check or remove)."""
    for folder in parent.glob(f"{DUMP_PREFIX}*-*"):
        pid = folder.name.removeprefix(DUMP_PREFIX).split("-", 1)[0]
        if not pid.isdigit() or not folder.is_dir() or folder.stat().st_uid != os.getuid():
            continue
        if process_state(int(pid)) is None:
            shutil.rmtree(folder, ignore_errors=True)


_FOLDERS: weakref.WeakKeyDictionary[GraphReading, Path] = weakref.WeakKeyDictionary()
_FOLDERS_LOCK = threading.Lock()
