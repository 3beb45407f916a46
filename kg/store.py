"""The query store: every project file in its own named graph of a pyoxigraph store."""

from __future__ import annotations

import dataclasses
import gc
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
from typing import Any, Generic, TypeVar

import pyoxigraph as ox
from rdflib import Graph

from kg.errors import KGError, LoadError
from kg.namespaces import bind_prefixes
from kg.project import Project
from kg.rdfio import graph_from_quads, load_file
from kg.workers import (
    Handler,
    Header,
    PoolSpec,
    Prepare,
    Started,
    WorkerError,
    Zygote,
    ask_parent,
)

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


#: How long a child may take to work out a summary (the tables took 27 s at 10M triples
#: in process, 93 s over Virtuoso).
SUMMARY_TIMEOUT_S = 3600.0

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

        It is worked out apart, in a child process (:meth:`start_apart`); ``compute`` must
        be picklable (a module's function, or a ``functools.partial`` of one). In that child,
        a summary that needs another asks this process for it, and works it out in place if
        this process has none; what it worked out so comes back and is kept here too."""
        with _REMEMBER_LOCK:
            kept = _REMEMBERED.setdefault(self, {})
        if key not in kept:  # one computation per key, even when requests arrive together;
            with self._lock_of(key):  # other keys do not wait for it (the tables took 27 s
                if key not in kept:  # at 10M)
                    if _MADE_HERE is not None:  # in a child that works out a summary
                        asked, value = _asked_for(key)
                        if not asked:
                            value = _MADE_HERE[key] = compute(self)
                        kept[key] = value
                    else:
                        kept[key] = self.start_apart(compute, f"the summary {key!r}").value()
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

    def start_zygote(self) -> None:
        """Fork now the process from which this store's work apart is forked
        (:meth:`start_apart`), if it is not running. The service does so as it starts, while
        it has one thread: a child forked from a process with threads would inherit the
        locks they hold (a lock held there stays held in the child), and forking the server
        stops its event loop while the kernel copies its page tables (about 20 ms for 800 MB
        resident). It is stopped with the store (or when this process ends), and the work
        apart it is doing with it."""
        with _ZYGOTE_LOCK:
            zygote = _ZYGOTES.get(self)
            if zygote is None:
                zygote = _ZYGOTES[self] = Zygote(
                    PoolSpec("store", size=0, memory_mb=None, network=self.network),
                    _apart_prepare(weakref.ref(self)))
                weakref.finalize(self, zygote.stop)

    def start_apart(self: R, compute: Callable[[R], T], what: str,
                    timeout_s: float = SUMMARY_TIMEOUT_S) -> Apart[T]:
        """Start working out ``compute(store)`` in a confined child forked by this store's
        zygote (:meth:`start_zygote`; started now if it is not running), on the store as
        reopened there (over a remote store, with the network and a client of its own).
        pyoxigraph's reads write to the in-memory store's pages, and every page the serving
        process writes to is copied from the ones it shares with its workers (the home page's
        tables added 340 MB to the service at 1M triples): the reads and their leftovers
        stay in the child, which ends once it has answered. ``compute`` is pickled to the
        child; its value comes back pickled (read with nothing but plain data,
        :class:`_SummaryUnpickler`). ``what`` names it in errors."""
        body = pickle.dumps(compute, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.start_zygote()
            started = _ZYGOTES[self].start({}, body, timeout_s=timeout_s,
                                           answer_asks=self._answer)
        except WorkerError as err:
            raise StoreError(f"{what} could not be worked out: {err}") from None
        return Apart(self, started, what)

    def _answer(self, header: Header, body: bytes) -> tuple[Header, bytes]:
        """A child's ask for a summary this process keeps (its pickle), if it keeps it."""
        kept = _REMEMBERED.get(self, {})
        key = header.get("summary")
        if isinstance(key, str) and key in kept:
            return {"ok": True}, pickle.dumps(kept[key], protocol=pickle.HIGHEST_PROTOCOL)
        return {"ok": False}, b""

    def _keep(self, made: dict[str, Any]) -> None:
        """What a child worked out on the way (a summary its summary needed)."""
        with _REMEMBER_LOCK:
            kept = _REMEMBERED.setdefault(self, {})
            for key, value in made.items():
                kept.setdefault(key, value)


class Apart(Generic[T]):
    """``compute(store)`` being worked out in a child (:meth:`GraphReading.start_apart`)."""

    def __init__(self, store: GraphReading, started: Started, what: str) -> None:
        self._store, self._started, self._what = store, started, what
        self.pid = started.pid  # the child's (forked by the store's zygote)

    def value(self) -> T:
        """Its value, waited for (from any thread; once only). A child that fails, runs past
        its deadline or answers what a summary may not hold raises StoreError."""
        try:
            reply, body = self._started.reply()
        except WorkerError as err:
            raise StoreError(f"{self._what} could not be worked out: {err}") from None
        if not reply.get("ok"):
            raise StoreError(f"{self._what} could not be worked out: {reply.get('message')}")
        collecting = gc.isenabled()
        gc.disable()  # the summary's objects are kept: a collection while they are made
        try:  # would go over each of them again (1M triples: 264 ms with, 82 ms without)
            value, made = _SummaryUnpickler(_Frames(body)).load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
            raise StoreError(f"{self._what} could not be read back: {err}") from None
        finally:
            if collecting:
                gc.enable()
        gc.freeze()  # kept for the store's life: no later collection goes over them either
        self._store._keep(made)
        return value  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Kill the child if it still runs (:meth:`value` then raises StoreError)."""
        self._started.stop()


def _apart_prepare(ref: weakref.ref[GraphReading]) -> Prepare:
    """The store's zygote's preparation: each child it forks works out the ``compute`` it is
    sent, on the store as reopened there."""
    def prepare() -> Callable[[], Handler]:
        def make_handler() -> Handler:
            global _MADE_HERE, _COMPUTING, _REMEMBER_LOCK
            _MADE_HERE = {}  # summaries are asked for, else worked out in place, under
            _COMPUTING = weakref.WeakKeyDictionary()  # locks of this child's own
            _REMEMBER_LOCK = threading.Lock()
            store = ref()
            assert store is not None  # the zygote was forked from a process that holds it

            def handle(header: Header, body: bytes) -> tuple[Header, bytes]:
                compute = pickle.loads(body)  # noqa: S301 - sent by the serving process
                value = compute(store.reopened())
                return {"ok": True}, pickle.dumps((value, _MADE_HERE),
                                                  protocol=pickle.HIGHEST_PROTOCOL)
            return handle
        return make_handler
    return prepare


def _asked_for(key: str) -> tuple[bool, Any]:
    """In a child that works out a summary: the serving process's ``key``, if it keeps it."""
    header, body = ask_parent({"summary": key})
    if not header.get("ok"):
        return False, None
    return True, pickle.loads(body)  # noqa: S301 - sent by the serving process


#: Classes outside ``kg`` that a summary may hold (the store's terms, ordered mappings,
#: dates and decimals); within ``kg``, its dataclasses.
_SUMMARY_CLASSES = frozenset({
    ("collections", "OrderedDict"), ("datetime", "date"), ("datetime", "datetime"),
    ("datetime", "time"), ("datetime", "timedelta"), ("datetime", "timezone"),
    ("decimal", "Decimal"), ("pyoxigraph", "NamedNode"), ("pyoxigraph", "BlankNode"),
    ("pyoxigraph", "Literal"), ("pyoxigraph", "Triple"), ("pyoxigraph", "Quad"),
    ("pyoxigraph", "DefaultGraph"),
})


class _Frames:
    """A body read by the unpickler a frame (64 KiB) at a time through Python code, where
    another thread may take the interpreter (the service's event loop, while a summary of
    the tables at 1M triples is read back)."""

    def __init__(self, body: bytes) -> None:
        self._body = io.BytesIO(body)

    def read(self, size: int = -1) -> bytes:
        return self._body.read(size)

    def readinto(self, buffer: bytearray | memoryview) -> int:
        return self._body.readinto(buffer)

    def readline(self) -> bytes:
        return self._body.readline()


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


#: Summaries worked out in place, in a child that works out a summary (None elsewhere):
#: they go back with its summary.
_MADE_HERE: dict[str, Any] | None = None

_REMEMBERED: weakref.WeakKeyDictionary[GraphReading, dict[str, Any]] = \
    weakref.WeakKeyDictionary()
_COMPUTING: weakref.WeakKeyDictionary[GraphReading, dict[str, threading.Lock]] = \
    weakref.WeakKeyDictionary()
_REMEMBER_LOCK = threading.Lock()  # held only to find a key's lock
_ZYGOTES: weakref.WeakKeyDictionary[GraphReading, Zygote] = weakref.WeakKeyDictionary()
_ZYGOTE_LOCK = threading.Lock()



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
