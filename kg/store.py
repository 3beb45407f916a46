"""The query store: every project file in its own named graph of a pyoxigraph store."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import pickle
import shutil
import sys
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pyoxigraph as ox
from rdflib import Graph

from kg.errors import KGError, LoadError
from kg.namespaces import bind_prefixes
from kg.project import Project
from kg.rdfio import graph_from_quads, load_file
from kg.workers import Handler, Header, WorkerError, run_once

MANIFEST = "digistrat-manifest.json"

Progress = Callable[[str], None]


class StoreError(KGError):
    """The on-disk store cannot be written or read."""


@dataclass(frozen=True)
class GraphInfo:
    iri: str
    file: str
    triples: int


class Solutions(list):  # type: ignore[type-arg]
    """SELECT solutions read to the end: a list of rows with the query's ``variables``.

    pyoxigraph's iterators (solutions, triples, quads) may only be freed on the thread that
    made them; a page's rows are read in one thread of the server and may be freed by the
    garbage collector in another, so no iterator leaves this module or kg.remote."""

    def __init__(self, solutions: Iterable[ox.QuerySolution], variables: list[ox.Variable]
                 ) -> None:
        super().__init__(solutions)
        self.variables = variables

    @classmethod
    def read(cls, solutions: ox.QuerySolutions) -> Solutions:
        return cls(solutions, list(solutions.variables))


def read_result(result: Any) -> Any:
    """A pyoxigraph query result read to the end: :class:`Solutions`, a list of triples, or
    a boolean."""
    if isinstance(result, ox.QuerySolutions):
        return Solutions.read(result)
    if isinstance(result, ox.QueryTriples):
        return list(result)
    return result


T = TypeVar("T")
R = TypeVar("R", bound="GraphReading")


class GraphReading:
    """What both stores derive from their named graphs (:attr:`graphs`) and :meth:`quads`:
    the graphs of a layer, and graphs as one rdflib graph."""

    project: Project
    graphs: list[GraphInfo]
    network = False  # whether reading it needs the network (a child that reads it gets it)

    def quads(self, subject: str | None = None, graph: str | None = None) -> list[ox.Quad]:
        raise NotImplementedError

    def graph_iris(self, layer: str | None = None) -> list[str]:
        return [g.iri for g in self.graphs
                if layer is None or self.project.layer_of_graph(g.iri) == layer]

    def rdflib_graph(self, graph_iris: list[str]) -> Graph:
        """The union of some named graphs as one rdflib graph (for pyshacl and serialisers)."""
        graph = Graph()
        bind_prefixes(graph.namespace_manager)
        for iri in graph_iris:
            graph_from_quads(self.quads(graph=iri), graph)
        return graph

    def layer_graph(self, *layers: str) -> Graph:
        return self.rdflib_graph([iri for layer in layers for iri in self.graph_iris(layer)])

    def reopened(self: R) -> R:
        """This store for a freshly forked process (see the subclasses)."""
        raise NotImplementedError

    def remember(self: R, key: str, compute: Callable[[R], T]) -> T:
        """``compute(store)``, worked out once per store and kept: the data does not change
        while it is served, so a page that summarises the whole graph (the tables, coverage,
        the downloads' checksums) costs its reads once, not on every request.

        It is worked out in a child process (:func:`kg.workers.run_once`), on this store as
        reopened there, and handed back pickled, with whatever else the child remembered on
        the way: pyoxigraph's reads write to the in-memory store's pages, and every page the
        serving process writes to is copied from the ones it shares with its workers (the
        home page's tables added 340 MB to the service at 1M triples); the reading's leftovers
        go with the child too, and the service's event loop does not wait for a thread that
        holds the interpreter. In that child, a summary that needs another works it out in
        place. A child that fails raises StoreError."""
        with _REMEMBER_LOCK:
            kept = _REMEMBERED.setdefault(self, {})
        if key not in kept:  # one computation per key, even when requests arrive together;
            with self._lock_of(key):  # other keys do not wait for it (the tables took 27 s
                if key not in kept:  # at 10M)
                    if _IN_SUMMARY_CHILD:
                        kept[key] = compute(self)
                    else:
                        kept.update(self._worked_out_apart(key, compute))
        return kept[key]  # type: ignore[no-any-return]

    def forget(self, key: str) -> None:
        """Drop what :meth:`remember` keeps under ``key``: the next call works it out again
        (the dumps, when their files are gone)."""
        with self._lock_of(key):
            _REMEMBERED.get(self, {}).pop(key, None)

    def _lock_of(self, key: str) -> threading.Lock:
        """The lock held while ``key`` is worked out (or forgotten)."""
        with _REMEMBER_LOCK:
            return _COMPUTING.setdefault(self, {}).setdefault(key, threading.Lock())

    def _worked_out_apart(self: R, key: str, compute: Callable[[R], Any]) -> dict[str, Any]:
        """``key`` and what else computing it remembered, from a child process."""
        known = dict(_REMEMBERED.get(self, {}))

        def prepare() -> Callable[[], Handler]:
            def handle(header: Header, body: bytes) -> tuple[Header, bytes]:
                _become_summary_child()
                there = self.reopened()
                kept = _REMEMBERED[there] = dict(known)
                kept[key] = compute(there)  # a summary it needs is worked out in place
                made = {k: v for k, v in kept.items() if k not in known}
                return {"ok": True}, pickle.dumps(made, protocol=pickle.HIGHEST_PROTOCOL)
            return lambda: handle

        try:
            reply, body = run_once(prepare, {}, b"", timeout_s=SUMMARY_TIMEOUT_S,
                                   network=self.network)
        except WorkerError as err:
            raise StoreError(f"the summary {key!r} could not be worked out: {err}") from None
        if not reply.get("ok"):
            raise StoreError(f"the summary {key!r} could not be worked out: "
                             f"{reply.get('message')}")
        try:
            made: dict[str, Any] = _SummaryUnpickler(io.BytesIO(body)).load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
            raise StoreError(f"the summary {key!r} could not be read back: {err}") from None
        return made


#: Classes outside ``kg`` that a summary may hold (the store's terms, ordered mappings,
#: dates and decimals); within ``kg``, its dataclasses.
_SUMMARY_CLASSES = frozenset({
    ("collections", "OrderedDict"), ("datetime", "date"), ("datetime", "datetime"),
    ("datetime", "time"), ("datetime", "timedelta"), ("datetime", "timezone"),
    ("decimal", "Decimal"), ("pyoxigraph", "NamedNode"), ("pyoxigraph", "BlankNode"),
    ("pyoxigraph", "Literal"), ("pyoxigraph", "Triple"), ("pyoxigraph", "Quad"),
    ("pyoxigraph", "DefaultGraph"),
})


class _SummaryUnpickler(pickle.Unpickler):
    """Reads a summary back from its child, naming nothing but plain data: a pickle may name
    any callable (``os.system``), and the child read the store (over a remote store, answers
    from the network), so what it hands back is not trusted to name more than a summary's
    classes: those above and the dataclasses of ``kg``'s modules already imported (whose
    ``__init__`` only assigns)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SUMMARY_CLASSES:
            return super().find_class(module, name)
        if module.startswith("kg.") and module in sys.modules:  # nothing is imported for it
            found = super().find_class(module, name)
            if isinstance(found, type) and dataclasses.is_dataclass(found):
                return found
        raise pickle.UnpicklingError(f"it names {module}.{name}, which a summary may not "
                                     "hold")


#: How long a child may take to work out a summary (the tables took 27 s at 10M triples
#: in process, 93 s over Virtuoso).
SUMMARY_TIMEOUT_S = 3600.0

#: True in the child that works out a summary: one it needs is worked out there, in place.
_IN_SUMMARY_CHILD = False

_REMEMBERED: weakref.WeakKeyDictionary[GraphReading, dict[str, Any]] = \
    weakref.WeakKeyDictionary()
_COMPUTING: weakref.WeakKeyDictionary[GraphReading, dict[str, threading.Lock]] = \
    weakref.WeakKeyDictionary()
_REMEMBER_LOCK = threading.Lock()  # held only to find a key's lock


def _become_summary_child() -> None:
    """In the child that works out a summary: summaries are worked out in place, under
    locks of its own (those it inherited may be held by threads that are not there)."""
    global _IN_SUMMARY_CHILD, _COMPUTING, _REMEMBER_LOCK
    _IN_SUMMARY_CHILD = True
    _COMPUTING = weakref.WeakKeyDictionary()
    _REMEMBER_LOCK = threading.Lock()


class Store(GraphReading):
    """A read-mostly wrapper over a pyoxigraph store holding one project's files.

    In memory by default; on disk when a path is given, where a store built from the same
    files is reopened without reloading them.

    Everything that reads the graph (views, reports, dumps, the validation's context) reads it
    through :meth:`query`, :meth:`quads`, :meth:`layer_graph`, :attr:`graphs` and ``len()``;
    :class:`kg.remote.RemoteStore` offers the same over a remote SPARQL endpoint.
    """

    def __init__(self, ox_store: ox.Store, graphs: list[GraphInfo], project: Project,
                 digests: dict[str, str] | None = None, path: Path | None = None) -> None:
        self.ox = ox_store
        self.graphs = graphs
        self.project = project
        # each loaded file's sha-256 as it was read, by its path under the root
        self.digests = digests or {}
        self.fingerprint = _fingerprint(self.digests) if digests else ""
        self.path = path  # the on-disk store's folder; None in memory

    def reopened(self) -> Store:
        """This store for a freshly forked process: an on-disk store is opened again,
        read-only (RocksDB's handle does not survive a fork); an in-memory one is shared."""
        if self.path is None:
            return self
        return Store(ox.Store.read_only(str(self.path)), self.graphs, self.project,
                     self.digests, self.path)

    # --- building ------------------------------------------------------------------------

    @classmethod
    def load(cls, project: Project, path: Path | None = None,
             progress: Progress | None = None, files: list[Path] | None = None) -> Store:
        """Load ``files`` (default: every ontology, shapes and data file) into a store.

        Raises LoadError on the first file that does not parse; nothing is half-written to an
        on-disk store in that case: it is built in a folder beside it, removed then.

        An on-disk store at ``path`` is reopened (read-only) when its manifest names the same
        files and its content still has the checksum the manifest records; otherwise it is
        rebuilt: written completely in a folder beside it, then moved into place, so that no
        reader ever opens a half-written store. Raises StoreError (one line) when the folder
        cannot be written.
        """
        files = project.all_files() if files is None else files
        if path is not None:
            reopened = cls._reopen(project, path, {
                project.relative(file): hashlib.sha256(file.read_bytes()).hexdigest()
                for file in files}, progress)
            if reopened is not None:
                return reopened
            return cls._build_on_disk(project, path, files, progress)
        ox_store = ox.Store()
        graphs, digests = _fill(ox_store, project, files, progress)
        return cls(ox_store, graphs, project, digests)

    @classmethod
    def _reopen(cls, project: Project, path: Path, digests: dict[str, str],
                progress: Progress | None) -> Store | None:
        manifest = path / MANIFEST
        try:
            saved = json.loads(manifest.read_text()) if manifest.is_file() else None
        except (OSError, ValueError):
            saved = None
        if saved is None:
            if path.exists() and progress:
                progress(f"The store at {path} has no readable manifest; rebuilding it")
            return None
        if saved.get("fingerprint") != _fingerprint(digests):
            if progress:
                progress(f"The files changed since the store at {path} was built; rebuilding it")
            return None
        try:
            ox_store = ox.Store.read_only(str(path))
            checksum = content_checksum(ox_store)
        except (OSError, ValueError, RuntimeError) as err:  # RocksDB reports damage so
            if progress:
                progress(f"The store at {path} cannot be read ({_first_line(err)}); "
                         "rebuilding it")
            return None
        if checksum != saved.get("checksum"):
            if progress:
                progress(f"The store at {path} does not hold what its manifest records "
                         "(its content was changed or damaged); rebuilding it")
            return None
        if progress:
            progress(f"Reopened the store at {path} (files unchanged)")
        graphs = [GraphInfo(**g) for g in saved["graphs"]]
        return cls(ox_store, graphs, project, digests, path)

    @classmethod
    def _build_on_disk(cls, project: Project, path: Path, files: list[Path],
                       progress: Progress | None) -> Store:
        building = path.with_name(f"{path.name}.building-{os.getpid()}")
        try:
            if building.exists():
                shutil.rmtree(building)
            building.mkdir(parents=True)
            ox_store = ox.Store(str(building))
            graphs, digests = _fill(ox_store, project, files, progress)
            ox_store.flush()
            checksum = content_checksum(ox_store)
            del ox_store  # closes the database before it is moved
            (building / MANIFEST).write_text(json.dumps(
                {"fingerprint": _fingerprint(digests), "checksum": checksum,
                 "graphs": [g.__dict__ for g in graphs]}, indent=1))
            if path.exists():
                old = path.with_name(f"{path.name}.old-{os.getpid()}")
                path.rename(old)
                building.rename(path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                building.rename(path)
        except LoadError:
            shutil.rmtree(building, ignore_errors=True)
            raise
        except OSError as err:
            shutil.rmtree(building, ignore_errors=True)
            raise StoreError(f"cannot write the store at {path}: {_first_line(err)}") from None
        return cls(ox.Store.read_only(str(path)), graphs, project, digests, path)

    # --- reading -------------------------------------------------------------------------

    def query(self, text: str, *, union: bool = True) -> Any:
        """Run a trusted query (the views' own; never a client's, which the endpoint runs in
        confined workers); the default graph is the union of all graphs unless ``union`` is
        False. The result read to the end (:func:`read_result`)."""
        return read_result(self.ox.query(text, use_default_graph_as_union=union))

    def query_in_parts(self, text_of_part: Callable[[str], str], key: str) -> list[Any]:
        """The answers that together answer the query ``text_of_part("")``, for a query too
        large for one answer of a remote store (:meth:`kg.remote.RemoteStore.query_in_parts`,
        which puts a FILTER on ``?key`` into each part; ``?key`` must be bound in every
        solution). Here one part: the whole answer."""
        return [self.query(text_of_part(""))]

    def describe(self, subjects: list[str]) -> list[ox.Triple]:
        """The triples of ``subjects`` (SPARQL terms, ``<iri>``) with the closure over
        blank-node objects: Oxigraph's DESCRIBE."""
        values = " ".join(subjects)
        triples: list[ox.Triple] = self.query(f"DESCRIBE ?s WHERE {{ VALUES ?s {{ {values} }} }}")
        return triples

    def quads(self, subject: str | None = None, graph: str | None = None
              ) -> list[ox.Quad]:
        """The quads about ``subject`` and/or in ``graph`` (every quad when both are None)."""
        return list(self.ox.quads_for_pattern(ox.NamedNode(subject) if subject else None,
                                              None, None,
                                              ox.NamedNode(graph) if graph else None))

    def __len__(self) -> int:
        """The quads, as counted per graph when the store was filled (it is not changed
        after). Not ``len(self.ox)``: that walks every quad, and in a process forked from the
        one that loaded the store it copies the store's pages (pyoxigraph's reads write to
        them): at 1M triples the first health check made 268 MB of the server's pages its
        own."""
        return sum(g.triples for g in self.graphs)


def _fill(ox_store: ox.Store, project: Project, files: list[Path],
          progress: Progress | None) -> tuple[list[GraphInfo], dict[str, str]]:
    """Load each file into its own graph (:func:`kg.rdfio.load_file`): the graphs, and the
    digests of the bytes loaded. Raises LoadError on the first file that does not parse."""
    digests: dict[str, str] = {}
    iris: list[tuple[str, str]] = []
    for number, file in enumerate(files, 1):
        iri, relative, data = project.graph_iri(file), project.relative(file), \
            file.read_bytes()
        digests[relative] = hashlib.sha256(data).hexdigest()
        load_file(ox_store, file, graph=ox.NamedNode(iri), source=relative, data=data)
        iris.append((iri, relative))
        if progress:
            progress(f"[{number}/{len(files)}] {relative}")
    counts = {row["g"].value: int(row["n"].value) for row in ox_store.query(
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")}
    return [GraphInfo(iri, relative, counts.get(iri, 0)) for iri, relative in iris], digests


def content_checksum(ox_store: ox.Store) -> str:
    """An order-independent checksum of every quad of a store (count and sum of hashes)."""
    total = count = 0
    for quad in ox_store:
        digest = hashlib.blake2b(str(quad).encode(), digest_size=8).digest()
        total = (total + int.from_bytes(digest, "big")) % (1 << 64)
        count += 1
    return f"{count}:{total:016x}"


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def _fingerprint(digests: dict[str, str]) -> str:
    """One sha-256 over the files' paths and digests, in the order they were loaded."""
    digest = hashlib.sha256()
    for relative, file_digest in digests.items():
        digest.update(relative.encode())
        digest.update(bytes.fromhex(file_digest))
    return digest.hexdigest()
