"""Validate submitted data in the context of the graph: the ONE engine of CLI and service.

A submission may reference municipalities, bodies and concepts that the graph already
holds. Their descriptions are added to the data graph for validation, but only results
about the submission's own resources are reported. A reference into the digistrat
namespace (an object, a class or a property) that resolves neither in the submission nor
in the graph is reported as a violation of ``dsh:DanglingReference``.

The work is split in three steps so that the middle one can run elsewhere:

1. ``prepare_task`` (needs the store): gathers the context and the dangling references;
2. a *runner* runs pyshacl on the task and returns the ``sh:ValidationReport`` triples;
   in process by default (``PreparedShapes.run``), or in a worker process that is killed at
   a deadline (``ValidationPool``, used by the HTTP service);
3. ``finish_report`` keeps the results about the submission and adds the dangling ones.

Speed: the shapes graph is harvested by pyshacl once per store and kept, and the SPARQL
text of SHACL-SPARQL constraints is parsed once (rdflib otherwise re-parses it for every
focus node). Only the submission's own resources are focus nodes; the ontology,
vocabularies and the referenced descriptions are context, never validated themselves.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import pyoxigraph as ox
from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from kg.errors import KGError
from kg.namespaces import BASE, DSH, bind_prefixes
from kg.rdfio import to_rdflib
from kg.store import Store
from kg.validate import (
    SEVERITIES,
    ValidationReport,
    install_query_cache,
    result_of,
    tidy_messages,
)

Triple = tuple[Node, Node, Node]
log = logging.getLogger("digistrat")

DANGLING_SHAPE = DSH["DanglingReference"]
DANGLING_MESSAGES = {
    "en": "This points to {iri}, which is neither in the submission nor in the graph. "
          "Check the spelling of the IRI, or describe the resource in the submission.",
    "de": "Dies verweist auf {iri}, das weder in der Einreichung noch im Graphen vorkommt. "
          "Prüfen Sie die Schreibweise der IRI oder beschreiben Sie die Ressource in der "
          "Einreichung.",
}
UNKNOWN_TERM_MESSAGES = {
    "en": "The property {iri} is not defined in the digistrat ontology. Check its spelling "
          "against the ontology (https://w3id.org/digistrat/ontology).",
    "de": "Die Eigenschaft {iri} ist in der digistrat-Ontologie nicht definiert. Prüfen Sie "
          "die Schreibweise anhand der Ontologie (https://w3id.org/digistrat/ontology).",
}

# Blank nodes of a submission become IRIs under this prefix while pyshacl runs (pyshacl's
# focus-node filter only keeps IRIs) and are turned back into blank nodes in the report.
SKOLEM = "urn:x-digistrat-bnode:"
# How far the graph's descriptions of referenced resources are followed (a body → its
# municipality; an organisational unit → its department → the municipality).
CONTEXT_HOPS = 3
MAX_CONTEXT_RESOURCES = 5_000


class ShapesError(KGError):
    """The server's own shapes could not be used (a bug in shapes/, not in the submission)."""


class ValidationTimeoutError(KGError):
    """A validation ran past its time limit and its worker was stopped."""


class ValidationBusyError(KGError):
    """Every validation worker stayed busy until the time limit."""


# --- step 1: the task ---------------------------------------------------------------------


@dataclass
class Dangling:
    subject: Node
    predicate: URIRef
    target: URIRef
    is_property: bool = False  # the predicate itself is the unknown term


@dataclass
class ValidationTask:
    """What a runner needs: plain triples, so that it can be sent to another process."""

    data: list[Triple]
    context: list[Triple]
    focus: list[str]
    own: set[Node] = field(default_factory=set)
    dangling: list[Dangling] = field(default_factory=list)

    def payload(self) -> tuple[list[Triple], list[Triple], list[str]]:
        return self.data, self.context, self.focus


def prepare_task(store: Store, submission: Graph, *, with_data: bool = True) -> ValidationTask:
    """Skolemise the submission, collect its context from the store, find dangling IRIs."""
    own: set[Node] = {s for s in submission.subjects() if not isinstance(s, Literal)}
    data = [(_skolem(s), p, _skolem(o)) for s, p, o in submission]
    focus = sorted(str(_skolem(node)) for node in own)
    if not with_data:
        return ValidationTask(data, [], focus, own, [])
    context, dangling = _context(store, submission, own)
    return ValidationTask(data, context, focus, own, dangling)


def _skolem(node: Node) -> Node:
    return URIRef(SKOLEM + str(node)) if isinstance(node, BNode) else node


def _unskolem(node: Node) -> Node:
    if isinstance(node, URIRef) and str(node).startswith(SKOLEM):
        return BNode(str(node)[len(SKOLEM):])
    return node


def _described(store: Store, iri: str) -> list[ox.Quad]:
    return list(store.ox.quads_for_pattern(ox.NamedNode(iri), None, None, None))


def _context(store: Store, submission: Graph, own: set[Node]) -> tuple[list[Triple],
                                                                        list[Dangling]]:
    """The graph's descriptions of the digistrat IRIs the submission references."""
    dangling: list[Dangling] = []
    seen: set[str] = {str(s) for s in own if isinstance(s, URIRef)}
    frontier: list[str] = []
    cache: dict[str, list[ox.Quad]] = {}

    def lookup(iri: str) -> list[ox.Quad]:
        if iri not in cache:
            cache[iri] = _described(store, iri)
        return cache[iri]

    for subject, predicate, target in submission:
        if str(predicate).startswith(BASE) and predicate not in own and not lookup(
                str(predicate)):
            dangling.append(Dangling(subject, predicate, predicate, is_property=True))  # type: ignore[arg-type]
        if not isinstance(target, URIRef) or not str(target).startswith(BASE):
            continue
        iri = str(target)
        if iri in seen:
            continue
        if not lookup(iri):
            dangling.append(Dangling(subject, predicate, target))  # type: ignore[arg-type]
            continue
        seen.add(iri)
        frontier.append(iri)
    context: list[Triple] = []
    for _ in range(CONTEXT_HOPS):
        following: list[str] = []
        for iri in frontier:
            for quad in lookup(iri):
                context.append((to_rdflib(quad.subject), to_rdflib(quad.predicate),
                                to_rdflib(quad.object)))
                obj = quad.object
                if (isinstance(obj, ox.NamedNode) and obj.value.startswith(BASE + "id/")
                        and obj.value not in seen and len(seen) < MAX_CONTEXT_RESOURCES):
                    seen.add(obj.value)
                    following.append(obj.value)
        frontier = following
    # Blank nodes in descriptions (a time horizon) come along with their owner's triples
    # only one level deep; enough for the shapes, which look at most one node further.
    return context, _unique(dangling)


def _unique(dangling: list[Dangling]) -> list[Dangling]:
    seen: set[tuple[Node, Node, Node]] = set()
    kept = []
    for item in dangling:
        key = (item.subject, item.predicate, item.target)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


# --- step 2: running pyshacl --------------------------------------------------------------


Runner = Callable[[ValidationTask], list[Triple]]


class PreparedShapes:
    """The shapes graph harvested once by pyshacl, with the ontology layer as context."""

    def __init__(self, shapes: Iterable[Triple], ontology: Iterable[Triple]) -> None:
        from pyshacl.shapes_graph import ShapesGraph

        install_query_cache()
        self.shapes = Graph()
        bind_prefixes(self.shapes.namespace_manager)
        for triple in shapes:
            self.shapes.add(triple)
        self.ontology = list(ontology)
        self._shapes_graph = ShapesGraph(self.shapes)
        self._lock = threading.Lock()  # pyshacl's cached shapes are not shared by threads
        _install_focus_filter()

    @classmethod
    def of_store(cls, store: Store) -> PreparedShapes:
        """The prepared shapes of ``store``, built on first use and kept with the store."""
        with _PREPARED_LOCK:
            prepared = _PREPARED.get(store)
            if prepared is None:
                prepared = cls(store.layer_graph("shapes"), store.layer_graph("ontology"))
                _PREPARED[store] = prepared
            return prepared

    def run(self, task: ValidationTask) -> list[Triple]:
        return self.run_payload(*task.payload())

    def run_payload(self, data: list[Triple], context: list[Triple],
                    focus: list[str]) -> list[Triple]:
        """Validate ``focus`` nodes of ``data`` + ``context`` + ontology; the report triples."""
        from pyshacl import Validator
        from pyshacl.errors import ValidationFailure
        from pyshacl.graph_abstraction import DataGraph

        graph = Graph()
        for part in (data, context, self.ontology):
            for triple in part:
                graph.add(triple)
        options = {"inference": "none", "advanced": True, "inplace": True,
                   "allow_warnings": True, "allow_infos": True, "abort_on_first": False,
                   }
        with self._lock:
            _FOCUS.allowed = {URIRef(iri) for iri in focus}
            _FOCUS.shapes_graph = self._shapes_graph
            try:
                validator = Validator(DataGraph.from_rdflib(graph), shacl_graph=self.shapes,
                                      options=options)
                validator.shacl_graph = self._shapes_graph
                _, report, _ = validator.run()
            except ValidationFailure as err:
                raise ShapesError(f"the shapes cannot be used: {err.message}") from None
            finally:
                _FOCUS.allowed = _FOCUS.shapes_graph = None
        tidy_messages(report, self.shapes)
        return list(report)

    def warm_up(self) -> None:
        """Run every shape once (one node of each class), so its SPARQL is parsed now."""
        classes = {o for o in self.shapes.objects(None, SH.targetClass)
                   if isinstance(o, URIRef)}
        data: list[Triple] = []
        for number, cls in enumerate(sorted(classes)):
            node = URIRef(f"{SKOLEM}warm-{number}")
            data.append((node, RDF.type, cls))
            for predicate in self.shapes.objects(None, SH.targetSubjectsOf):
                if isinstance(predicate, URIRef):
                    data.append((node, predicate, node))
        self.run_payload(data, [], sorted({str(s) for s, _, _ in data}))


_FOCUS = threading.local()
_FOCUS_FILTER_INSTALLED = False


def _install_focus_filter() -> None:
    """Let a run of ``PreparedShapes`` make only the submission's nodes focus nodes.

    Targets are computed as usual, then cut to ``_FOCUS.allowed`` — only for top-level
    shapes of our shapes graph in this thread. pyshacl's own ``focus_nodes`` option cannot be
    used: it also filters the value nodes that sh:node and sh:or hand to nested shapes, which
    then pass without being checked.
    """
    global _FOCUS_FILTER_INSTALLED
    if _FOCUS_FILTER_INSTALLED:
        return
    from pyshacl.shape import Shape

    original = Shape.focus_nodes

    def focus_nodes(self: Any, data_graph: Any, debug: bool = False) -> Any:
        nodes = original(self, data_graph, debug=debug)
        allowed = getattr(_FOCUS, "allowed", None)
        if allowed is None or self.sg is not getattr(_FOCUS, "shapes_graph", None):
            return nodes
        return {node for node in nodes if node in allowed}

    Shape.focus_nodes = focus_nodes  # type: ignore[method-assign]
    _FOCUS_FILTER_INSTALLED = True


_PREPARED: weakref.WeakKeyDictionary[Store, PreparedShapes] = weakref.WeakKeyDictionary()
_PREPARED_LOCK = threading.Lock()


# --- step 3: the report -------------------------------------------------------------------


def finish_report(task: ValidationTask, report_triples: Iterable[Triple],
                  lang: str) -> ValidationReport:
    """Keep the results about the submission's own resources; add the dangling ones."""
    graph = Graph()
    bind_prefixes(graph.namespace_manager)
    for s, p, o in report_triples:
        if isinstance(o, Literal) and p == SH.resultMessage and SKOLEM in str(o):
            o = Literal(str(o).replace(SKOLEM, "_:"), lang=o.language, datatype=o.datatype)
        graph.add((_unskolem(s), p, _unskolem(o)))
    report = next(graph.subjects(RDF.type, SH.ValidationReport), None)
    if report is None:
        report = BNode()
        graph.add((report, RDF.type, SH.ValidationReport))
    for result in list(graph.objects(report, SH.result)):
        if graph.value(result, SH.focusNode) not in task.own:
            graph.remove((report, SH.result, result))
            _remove_tree(graph, result)
    for item in task.dangling:
        _add_dangling(graph, report, item)
    results = [result_of(graph, node, lang)
               for node in graph.objects(report, SH.result)]
    order = {s: i for i, s in enumerate(SEVERITIES)}
    results.sort(key=lambda r: (order[r.severity], r.focus_node, r.path or "", r.message))
    conforms = not any(r.severity == "Violation" for r in results)
    graph.set((report, SH.conforms, Literal(conforms)))
    return ValidationReport(results, graph)


def _remove_tree(graph: Graph, node: Node) -> None:
    for triple in list(graph.triples((node, None, None))):
        graph.remove(triple)
        if isinstance(triple[2], BNode) and not any(graph.subjects(None, triple[2])):
            _remove_tree(graph, triple[2])


def _add_dangling(graph: Graph, report: Node, item: Dangling) -> None:
    result = BNode()
    graph.add((report, SH.result, result))
    graph.add((result, RDF.type, SH.ValidationResult))
    graph.add((result, SH.focusNode, item.subject))
    graph.add((result, SH.resultPath, item.predicate))
    if not item.is_property:
        graph.add((result, SH.value, item.target))
    graph.add((result, SH.resultSeverity, SH.Violation))
    graph.add((result, SH.sourceShape, DANGLING_SHAPE))
    graph.add((result, SH.sourceConstraintComponent, DANGLING_SHAPE))
    messages = UNKNOWN_TERM_MESSAGES if item.is_property else DANGLING_MESSAGES
    for lang, text in messages.items():
        graph.add((result, SH.resultMessage, Literal(text.format(iri=item.target), lang=lang)))


# --- the one entry point ------------------------------------------------------------------


def validate_submission(store: Store, submission: Graph, *, lang: str = "en",
                        with_data: bool = True, runner: Runner | None = None
                        ) -> ValidationReport:
    """Validate ``submission`` against the store's shapes, with the graph as context.

    ``runner`` runs pyshacl (default: in this process, with the store's prepared shapes).
    """
    task = prepare_task(store, submission, with_data=with_data)
    run = runner or PreparedShapes.of_store(store).run
    return finish_report(task, run(task), lang)


# --- worker processes with a deadline -----------------------------------------------------


def _worker_entry(fd: int) -> None:
    """Entry point of a worker process: its end of the socket pair is ``fd``."""
    conn = Connection(fd)
    try:
        shapes, ontology = conn.recv()
    except (EOFError, OSError):  # the parent ended or killed us before we started
        return
    _worker_main(conn, shapes, ontology)


def _worker_main(conn: Connection, shapes: list[Triple], ontology: list[Triple]) -> None:
    """A validation worker: prepare the shapes once, then validate task after task."""
    try:
        prepared = PreparedShapes(shapes, ontology)
        prepared.warm_up()
    except Exception as err:  # reported to the parent, which logs it
        conn.send(("error", f"{type(err).__name__}: {err}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            payload = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(("ok", prepared.run_payload(*payload)))
        except ShapesError as err:
            conn.send(("shapes", str(err)))
        except Exception as err:
            conn.send(("error", f"{type(err).__name__}: {err}"))


class _Worker:
    """A worker process, started with ``python -c`` (not multiprocessing's spawn, which
    re-imports the parent's ``__main__``), talking over a socket pair."""

    def __init__(self, init: tuple[list[Triple], list[Triple]]) -> None:
        parent, child = socket.socketpair()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import sys; from kg.submission import _worker_entry; "
             "_worker_entry(int(sys.argv[1]))", str(child.fileno())],
            pass_fds=(child.fileno(),), env=env, stdin=subprocess.DEVNULL)
        child.close()
        self.conn = Connection(parent.detach())
        # The child reads this once it has imported pyshacl; do not wait for that here.
        threading.Thread(target=self._send_init, args=(init,), daemon=True).start()
        self.ready = False

    def _send_init(self, init: tuple[list[Triple], list[Triple]]) -> None:
        with contextlib.suppress(OSError):  # killed before it started
            self.conn.send(init)

    def wait_ready(self, deadline: float) -> bool:
        """True once the worker has prepared its shapes; False if not by ``deadline``."""
        if not self.ready:
            if not self.conn.poll(max(0.0, deadline - time.monotonic())):
                return False
            self._receive(deadline, expect="ready")
            self.ready = True
        return True

    def call(self, payload: Any, deadline: float) -> list[Triple]:
        self.conn.send(payload)
        return self._receive(deadline, expect="ok")  # type: ignore[no-any-return]

    def _receive(self, deadline: float, expect: str) -> Any:
        if not self.conn.poll(max(0.0, deadline - time.monotonic())):
            raise ValidationTimeoutError("the validation ran past its time limit and was "
                                         "stopped")
        try:
            kind, value = self.conn.recv()
        except (EOFError, OSError):
            raise KGError("the validation worker ended unexpectedly") from None
        if kind == "shapes":
            raise ShapesError(value)
        if kind != expect:
            raise KGError(f"validation worker: {value}")
        return value

    def kill(self) -> None:
        self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.error("validation worker %s did not end after SIGKILL", self.process.pid)
        self.conn.close()


class ValidationPool:
    """Worker processes that run pyshacl; a validation past its deadline is killed.

    A thread cannot be stopped in Python; a process can. Each worker holds the prepared
    shapes, so a task carries only the submission and its context. A killed (or crashed)
    worker is replaced at once by a fresh one.
    """

    def __init__(self, store: Store, workers: int = 1) -> None:
        self._init = (list(store.layer_graph("shapes")), list(store.layer_graph("ontology")))
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        for _ in range(max(1, workers)):
            self._start()

    def _start(self) -> None:
        worker = _Worker(self._init)
        with self._lock:
            self._all.append(worker)
        self._idle.put(worker)

    def _retire(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
        self._start()

    def pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._all if w.process.pid is not None]

    def runner(self, timeout_s: float) -> Runner:
        """A runner for ``validate_submission`` with a deadline ``timeout_s`` from now."""
        deadline = time.monotonic() + timeout_s

        def run(task: ValidationTask) -> list[Triple]:
            try:
                worker = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise ValidationBusyError("every validation worker is busy; try again "
                                          "later") from None
            try:
                ready = worker.wait_ready(deadline)
            except BaseException:
                self._retire(worker)
                raise
            if not ready:  # still starting: not its fault, keep it
                self._idle.put(worker)
                raise ValidationBusyError("the validation service is starting; try again "
                                          "in a few seconds")
            try:
                result = worker.call(task.payload(), time.monotonic() + timeout_s)
            except ShapesError:
                self._idle.put(worker)
                raise
            except BaseException:
                self._retire(worker)
                raise
            self._idle.put(worker)
            return result

        return run

    def close(self) -> None:
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:
            worker.kill()


_POOLS: dict[tuple[int, int], ValidationPool] = {}
_POOLS_LOCK = threading.Lock()


@atexit.register
def _close_pools() -> None:
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()


def pool_for(store: Store, workers: int = 1) -> ValidationPool:
    """The worker pool of ``store`` (one per store and size, started on first use)."""
    key = (id(store), workers)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = ValidationPool(store, workers)
            _POOLS[key] = pool
        return pool
