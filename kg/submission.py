"""Validate submitted data in the context of the graph: the ONE engine of CLI and service.

A submission may reference municipalities, bodies and concepts that the graph already
holds. Their descriptions are added to the data graph for validation, but only results
about the submission's own resources are reported. A reference into the digistrat
namespace (an object, a class or a property) that resolves neither in the submission nor
in the graph is reported as a violation of ``dsh:DanglingReference``.

The work is split in three steps so that the middle one can run elsewhere:

1. ``prepare_task`` (needs the store): gathers the context and the dangling references;
2. a *runner* runs pyshacl on the task and returns the ``sh:ValidationReport`` triples
   (``PreparedShapes.run``);
3. ``finish_report`` keeps the results about the submission and adds the dangling ones.

Submitted bytes are parsed and validated only in confined worker processes
(:class:`ValidationPool` for the service, :func:`validate_files` for the command line, the
same code in both): a parser or validator that fails on hostile input costs its worker, never
the server.

Speed: the shapes graph is harvested by pyshacl once per store and kept, and the
SHACL-SPARQL constraints run on pyoxigraph, each text checked once (kg.pyshacl_tuning).
Only the submission's own resources are focus nodes; the ontology, vocabularies and the
referenced descriptions are context, never validated themselves.
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from kg.errors import KGError, LoadError, TimeLimitError
from kg.formats import RdfSyntax, syntax_named
from kg.i18n import LANGUAGES, gettext
from kg.namespaces import BASE, DSH, bind_prefixes
from kg.plain_store import PlainStore
from kg.positions import first_statements
from kg.pyshacl_tuning import OxigraphQueriedGraph, install
from kg.rdfio import graph_from_quads, parse_bytes, to_rdflib
from kg.store import Store
from kg.validate import (
    SEVERITIES,
    ValidationReport,
    ValidationResult,
    result_of,
    tidy_messages,
    top_level_results,
)
from kg.workers import (
    MemoryBudgetError,
    PoolBusyError,
    PoolSpec,
    WorkerCrashedError,
    WorkerPool,
    WorkerTimeoutError,
    ask_parent,
    run_once,
)

Triple = tuple[Node, Node, Node]
log = logging.getLogger("digistrat")


@dataclass(frozen=True)
class PositionedResult(ValidationResult):
    """A result with where its focus node is first stated in the submission (1-based line;
    column where the syntax has one: not for spreadsheet rows)."""

    line: int | None = None
    column: int | None = None

    def as_dict(self) -> dict[str, Any]:  # type: ignore[override]
        return {**super().as_dict(), "line": self.line, "column": self.column}

DANGLING_SHAPE = DSH["DanglingReference"]
DANGLING_MESSAGE = ("This points to {iri}, which is neither in the submission nor in the "
                    "graph. Check the spelling of the IRI, or describe the resource in the "
                    "submission.")
UNKNOWN_TERM_MESSAGE = ("The property {iri} is not defined in the digistrat ontology. Check "
                        "its spelling against the ontology "
                        "(https://w3id.org/digistrat/ontology).")

# Blank nodes of a submission become IRIs under this prefix while pyshacl runs (pyshacl's
# focus-node filter only keeps IRIs) and are turned back into blank nodes in the report.
SKOLEM = "urn:x-digistrat-bnode:"
# How far the graph's descriptions of referenced resources are followed (a body → its
# municipality; an organisational unit → its department → the municipality).
CONTEXT_HOPS = 3
MAX_CONTEXT_RESOURCES = 5_000


class ShapesError(KGError):
    """The server's own shapes could not be used (a bug in shapes/, not in the submission)."""


class ValidationTimeoutError(TimeLimitError):
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
    return list(store.quads(subject=iri))


class AskingStore:
    """The graph's descriptions for a validation worker whose store it cannot reach (a
    remote store, across the network): each one is asked of the serving process
    (:func:`kg.workers.ask_parent`), which reads it from its store."""

    def quads(self, subject: str | None = None, graph: str | None = None) -> list[ox.Quad]:
        header, body = ask_parent({"describe": subject})
        if not header.get("ok"):
            return []
        return list(ox.parse(body, format=ox.RdfFormat.N_QUADS))


def answer_describe(store: Store):  # type: ignore[no-untyped-def]
    """The serving process's answer to :class:`AskingStore`: the quads about an IRI."""
    def answer(header: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
        subject = header.get("describe")
        if not isinstance(subject, str) or not subject.startswith(BASE):
            return {"ok": False}, b""
        quads = store.quads(subject=subject)
        return {"ok": True}, ox.serialize(quads, format=ox.RdfFormat.N_QUADS)
    return answer


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

        install()
        self.shapes = Graph(store=PlainStore())  # pyshacl reads it for every focus node
        bind_prefixes(self.shapes.namespace_manager)
        for triple in shapes:
            self.shapes.add(triple)
        self.ontology = list(ontology)
        self._base = OxigraphQueriedGraph()
        for triple in self.ontology:
            self._base.add(triple)
        # SHACL rules would add triples to the data graph: then each run gets a copy
        self._reusable = not any(True for _ in self.shapes.triples((None, SH.rule, None)))
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

        options = {"inference": "none", "advanced": True, "inplace": True,
                   "allow_warnings": True, "allow_infos": True, "abort_on_first": False,
                   }
        with self._lock:
            # The ontology layer stays in one graph; a run adds the submission and its
            # context and takes them away again (pyshacl adds nothing to the data graph
            # without inference and rules), which saves copying the ontology every time.
            graph = self._base if self._reusable else _copy_of(self._base)
            added = [t for t in dict.fromkeys((*data, *context)) if t not in graph]
            for triple in added:
                graph.add(triple)
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
                for triple in added:
                    graph.remove(triple)
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


def _copy_of(graph: Graph) -> OxigraphQueriedGraph:
    copy = OxigraphQueriedGraph()
    for triple in graph:
        copy.add(triple)
    return copy


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
    # the report's own results: those under sh:detail explain them and are not counted
    results = [result_of(graph, node, lang) for node in top_level_results(graph)]
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
    message = UNKNOWN_TERM_MESSAGE if item.is_property else DANGLING_MESSAGE
    for lang in LANGUAGES:
        text = gettext(lang, message).format(iri=item.target)
        graph.add((result, SH.resultMessage, Literal(text, lang=lang)))


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


# --- submissions: parsed and validated in confined workers --------------------------------

#: Deepest nesting a submitted JSON-LD document may have (objects and arrays).
MAX_JSON_DEPTH = 64


class SubmissionError(KGError):
    """A submission that cannot be validated (unreadable, too large, refused)."""

    def __init__(self, kind: str, message: str, **context: Any) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.context = context

    def located(self) -> str:
        """The message with where it happened: ``file, line 3, column 7: …``."""
        where = str(self.context.get("source") or "")
        if self.context.get("line") is not None:
            where += f", line {self.context['line']}"
            if self.context.get("column") is not None:
                where += f", column {self.context['column']}"
        return f"{where.lstrip(', ')}: {self.message}" if where else self.message


def _json_depth(value: Any) -> int:
    deepest, todo = 0, [(value, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            todo.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            todo.extend((v, depth + 1) for v in node)
    return deepest


#: What a submission's first bytes say it is, when it is no RDF text at all.
@dataclass(frozen=True)
class FileType:
    kind: str  # image, pdf, word-processing, presentation, spreadsheet, archive, html, binary
    name: str  # PNG, PDF, DOCX …
    usable: bool = False  # True for the spreadsheets read here (XLSX)


#: (English) what the file is and what to do instead, by kind; German in kg/locale/de.po.
FILE_TYPE_MESSAGES = {
    "image": ("This file is an image ({name}), not RDF data.",
              "Describe the strategy with the form at /validate/new, or upload the data as "
              "Turtle, JSON-LD, RDF/XML or N-Triples."),
    "pdf": ("This file is a PDF document ({name}), not RDF data.",
            "This is the strategy document: describe it with the form at /validate/new, and "
            "give its address as the document URL there."),
    "word-processing": ("This file is a text document ({name}), not RDF data.",
                        "Describe the strategy with the form at /validate/new; copy the "
                        "source's own words from the document into its quote field."),
    "presentation": ("This file is a presentation ({name}), not RDF data.",
                     "Describe the strategy with the form at /validate/new; copy the "
                     "source's own words from the slides into its quote field."),
    "spreadsheet": ("This file is a spreadsheet ({name}) that cannot be read here.",
                    "Fill in the spreadsheet template (CSV or XLSX, one row per element: "
                    "/validate/templates/strategy-elements-en.xlsx) and upload that."),
    "archive": ("This file is a compressed archive ({name}), not RDF data.",
                "Unpack it and upload the RDF file inside it."),
    "html": ("This file is a web page ({name}), not RDF data.",
             "Save the data itself, not the page; or give the page's address as the source "
             "URL in the form at /validate/new."),
    "binary": ("This file is not text: it holds binary data ({name}).",
               "Upload RDF as Turtle, JSON-LD, RDF/XML or N-Triples text, a spreadsheet of "
               "the template, or describe the strategy with the form at /validate/new."),
}

_MAGIC: list[tuple[int, bytes, FileType]] = [
    (0, b"%PDF-", FileType("pdf", "PDF")),
    (0, b"\x89PNG\r\n\x1a\n", FileType("image", "PNG")),
    (0, b"\xff\xd8\xff", FileType("image", "JPEG")),
    (0, b"GIF87a", FileType("image", "GIF")),
    (0, b"GIF89a", FileType("image", "GIF")),
    (0, b"II*\x00", FileType("image", "TIFF")),
    (0, b"MM\x00*", FileType("image", "TIFF")),
    (0, b"\x00\x00\x01\x00", FileType("image", "ICO")),
    (0, b"{\\rtf", FileType("word-processing", "RTF")),
    (0, b"\x1f\x8b", FileType("archive", "gzip")),
    (0, b"7z\xbc\xaf\x27\x1c", FileType("archive", "7z")),
    (0, b"Rar!\x1a\x07", FileType("archive", "RAR")),
    (0, b"\xfd7zXZ\x00", FileType("archive", "xz")),
    (0, b"(\xb5/\xfd", FileType("archive", "zstd")),
]
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODF = {b"application/vnd.oasis.opendocument.spreadsheet": ("spreadsheet", "ODS"),
        b"application/vnd.oasis.opendocument.text": ("word-processing", "ODT"),
        b"application/vnd.oasis.opendocument.presentation": ("presentation", "ODP")}
#: How much of a file's start is looked at (a bounded prefix, never parsed).
SNIFF_BYTES = 8192


def sniff_file_type(data: bytes) -> FileType | None:
    """What kind of non-RDF file ``data`` is, from magic bytes in its first
    :data:`SNIFF_BYTES` (images, PDF, office documents, spreadsheets, archives, web pages,
    other binary data); None for text that may be RDF (or CSV)."""
    head = data[:SNIFF_BYTES]
    for offset, magic, kind in _MAGIC:
        if head[offset:offset + len(magic)] == magic:
            return kind
    if head[:3] == b"BZh" and head[4:10] == b"1AY&SY":
        return FileType("archive", "bzip2")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FileType("image", "WebP")
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"avif"):
        return FileType("image", "HEIC/AVIF")
    if head[:2] == b"BM" and len(head) > 14 and head[6:10] == b"\x00\x00\x00\x00":
        return FileType("image", "BMP")
    if head[:4] == b"PK\x03\x04":
        for media, (kind, name) in _ODF.items():
            if media in head[:200]:
                return FileType(kind, name)
        if b"xl/" in head:
            return FileType("spreadsheet", "XLSX", usable=True)
        if b"word/" in head:
            return FileType("word-processing", "DOCX")
        if b"ppt/" in head:
            return FileType("presentation", "PPTX")
        return FileType("archive", "ZIP")
    if head[:8] == _OLE:
        if "Workbook".encode("utf-16-le") in data[:65536] or \
                "Book".encode("utf-16-le") in data[:65536]:
            return FileType("spreadsheet", "XLS")
        if "PowerPoint".encode("utf-16-le") in data[:65536]:
            return FileType("presentation", "PPT")
        return FileType("word-processing", "DOC")
    start = head.lstrip()[:200].lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return FileType("html", "HTML")
    if start.startswith(b"<svg") or (start.startswith(b"<?xml") and b"<svg" in head[:1024]):
        return FileType("image", "SVG")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return None  # UTF-16 text: the parser says what is wrong with it
    if b"\x00" in head:
        return FileType("binary", "?")
    return None


def file_type_error(kind: FileType, lang: str = "en") -> SubmissionError:
    """The error for a file that is no RDF, in ``lang``: what it is, and what to do."""
    what, advice = FILE_TYPE_MESSAGES[kind.kind]
    return SubmissionError("file-type", gettext(lang, what).format(name=kind.name),
                           file_type=kind.kind, detected=kind.name,
                           advice=gettext(lang, advice))


#: Spreadsheets of the template (kg.intake), read in the worker like RDF.
TABLE_SYNTAXES = ("csv", "xlsx")


@dataclass
class ParsedSubmission:
    graph: Graph
    #: where each subject (as results show it) is first stated: (line, column)
    positions: dict[str, tuple[int, int | None]]


def parse_submission(data: bytes, syntax: RdfSyntax, max_triples: int) -> Graph:
    """Parse submitted bytes (no base IRI: relative IRIs are an error) into an rdflib graph."""
    return read_submission(data, syntax, max_triples).graph


def read_submission(data: bytes, syntax: RdfSyntax, max_triples: int,
                    lang: str = "en") -> ParsedSubmission:
    """Parse submitted bytes (no base IRI) into a graph, with where each subject is stated.

    Runs in a confined worker. A file that is no RDF text (an image, a PDF, an office
    document …) is named as such. JSON-LD is first read as JSON with a depth limit; RDF/XML
    goes through defusedxml (:func:`kg.rdfio.check_xml`).
    """
    kind = sniff_file_type(data)
    if kind is not None:
        raise file_type_error(kind, lang)
    if syntax.name == "jsonld":
        try:
            document = json.loads(data)
        except RecursionError:
            raise SubmissionError("too-deep", "the JSON-LD document is nested more than "
                                  f"{MAX_JSON_DEPTH} levels deep") from None
        except ValueError as err:
            line, column = getattr(err, "lineno", None), getattr(err, "colno", None)
            raise SubmissionError("syntax", f"jsonld: {getattr(err, 'msg', err)}",
                                  **({"line": line, "column": column} if line else {})) from None
        if _json_depth(document) > MAX_JSON_DEPTH:
            raise SubmissionError("too-deep", "the JSON-LD document is nested more than "
                                  f"{MAX_JSON_DEPTH} levels deep")
    try:
        quads = parse_bytes(data, syntax, source="request body")
    except LoadError as err:
        if "remote context" in err.message.lower():
            raise SubmissionError(
                "remote-context", "remote JSON-LD contexts are not loaded (no network access "
                "is caused by a submission); put the @context into the document itself"
            ) from None
        context = {k: v for k, v in (("line", err.line), ("column", err.column))
                   if v is not None}
        raise SubmissionError("syntax", f"{syntax.name}: {err.message}", **context) from None
    if len(quads) > max_triples:
        raise SubmissionError("too-many-triples", f"the submission holds {len(quads):,} "
                              f"triples; at most {max_triples:,} are validated (setting "
                              "max_upload_triples)", limit_triples=max_triples)
    graph = graph_from_quads(quads)
    bind_prefixes(graph.namespace_manager)
    return ParsedSubmission(graph, first_statements(data, syntax.name, quads))


def read_table_submission(store: Store, data: bytes, kind: str,
                          lang: str = "en") -> ParsedSubmission:
    """A spreadsheet of the template (CSV or XLSX) as RDF, with each element's row as its
    line. Runs in a confined worker: the spreadsheet is submitted bytes."""
    from kg.intake import IntakeError, graph_from_form, iris_for, read_table
    from kg.views.intake import city_slugs

    sniffed = sniff_file_type(data)
    if kind == "xlsx" and (sniffed is None or not sniffed.usable):
        if sniffed is not None:
            raise file_type_error(sniffed)
        raise SubmissionError("syntax", "xlsx: the file is not an XLSX spreadsheet")
    if kind == "csv" and sniffed is not None:
        raise file_type_error(sniffed)
    slugs = city_slugs(store)
    try:
        form, rows = read_table(data, kind, table_lookup(store))
        graph = graph_from_form(form, slugs)
    except IntakeError as err:
        context = {"line": err.row} if err.row is not None else {}
        raise SubmissionError("table", f"{kind}: {err.localized(lang)}", **context) from None
    iris = iris_for(form, slugs[form.municipality])
    positions: dict[str, tuple[int, int | None]] = {}
    first = rows.get("", 2)
    for subject in {s for s in graph.subjects() if isinstance(s, URIRef)}:
        positions[str(subject)] = (first, None)
    for n in range(1, len(form.elements) + 1):
        if str(n) in rows:
            positions[str(iris.element(n))] = (rows[str(n)], None)
    for node in {s for s in graph.subjects() if isinstance(s, BNode)}:
        positions["_:" + str(node)] = (first, None)
    return ParsedSubmission(graph, positions)


def table_lookup(store: Store) -> Any:
    """How cells of the template name municipalities, bodies and concepts (in de and en)."""
    from kg.intake import lookup_from
    from kg.views.intake import directory

    books = [directory(store, lang) for lang in LANGUAGES]
    concepts: dict[str, list[tuple[str, str]]] = {}
    for book in books:
        for name, choices in book.concepts.items():
            concepts.setdefault(name, []).extend((c.value, c.label) for c in choices)
    return lookup_from(
        [(c.value, c.label) for book in books for c in book.municipalities],
        [(b.value, b.label) for book in books for _, bodies in book.bodies for b in bodies],
        concepts)


@dataclass
class SubmissionResult:
    """What a validation worker sends back: the report and the size of the submission (and,
    when asked for, the submission's own graph)."""

    report: ValidationReport
    triples: int
    data: Graph | None = None


def _report_reply(report: ValidationReport, triples: int,
                  positions: dict[str, tuple[int, int | None]],
                  data: Graph | None = None) -> tuple[dict[str, Any], bytes]:
    body = report.graph.serialize(format="nt", encoding="utf-8")
    results = []
    for result in report.results:
        line, column = positions.get(result.focus_node, (None, None))
        results.append({**result.as_dict(), "line": line, "column": column})
    header: dict[str, Any] = {"ok": True, "triples": triples, "results": results}
    if data is not None:
        header["report_bytes"] = len(body)
        body += data.serialize(format="nt", encoding="utf-8")
    return header, body


def _graph_of(nt: bytes) -> Graph:
    graph = Graph()
    bind_prefixes(graph.namespace_manager)
    if nt:
        graph.parse(data=nt.decode("utf-8"), format="nt")
    return graph


def result_from_reply(header: dict[str, Any], body: bytes) -> SubmissionResult:
    """A worker's reply as a result, or the SubmissionError it reports, raised."""
    if not header.get("ok"):
        raise _reply_error(header)
    data = None
    if "report_bytes" in header:  # our own worker's N-Triples, not submitted bytes
        cut = int(header["report_bytes"])
        body, data = body[:cut], _graph_of(body[cut:])
    results = [PositionedResult(**r) for r in header["results"]]
    return SubmissionResult(ValidationReport(results, _graph_of(body)),  # type: ignore[arg-type]
                            int(header["triples"]), data)


def _reply_error(header: dict[str, Any]) -> Exception:
    kind = str(header.get("kind") or "internal")
    context = dict(header.get("context") or {})
    if kind == "shapes":
        return ShapesError(str(header.get("message")))
    if kind == "memory":
        return SubmissionError("too-complex", str(header.get("message")))
    if kind in ("internal", "worker-start"):
        return KGError(f"validation worker: {header.get('message')}")
    return SubmissionError(kind, str(header.get("message")), **context)


def _read_parts(store: Store, header: dict[str, Any], body: bytes
                ) -> tuple[Graph, dict[str, tuple[int, int | None]]]:
    """The submission's graph (every part: RDF, CSV or XLSX) and its positions."""
    graph = Graph()
    bind_prefixes(graph.namespace_manager)
    positions: dict[str, tuple[int, int | None]] = {}
    offset = 0
    lang = str(header.get("lang", "en"))
    for source, syntax, size in header.get("parts") or [
            ["request body", header["syntax"], len(body)]]:
        data = body[offset:offset + int(size)]
        try:
            if syntax in TABLE_SYNTAXES:
                parsed = read_table_submission(store, data, syntax, lang)
            else:
                parsed = read_submission(data, syntax_named(syntax),
                                         int(header["max_triples"]), lang)
        except SubmissionError as err:
            if err.kind == "file-type":  # in the reader's language
                kind = FileType(err.context["file_type"], err.context["detected"])
                err = file_type_error(kind, lang)
            err.context["source"] = source
            raise err from None
        graph += parsed.graph
        for node, where in parsed.positions.items():
            positions.setdefault(node, where)
        offset += int(size)
    if len(graph) > int(header["max_triples"]):
        raise SubmissionError("too-many-triples", f"the submission holds {len(graph):,} "
                              f"triples; at most {int(header['max_triples']):,} are "
                              "validated (setting max_upload_triples)",
                              limit_triples=int(header["max_triples"]))
    return graph, positions


def _handle_submission(store: Store, prepared: PreparedShapes, header: dict[str, Any],
                       body: bytes) -> tuple[dict[str, Any], bytes]:
    try:
        if header.get("task") == "form":
            return _handle_form(store, header, body)
        graph, positions = _read_parts(store, header, body)
        report = validate_submission(store, graph, lang=str(header.get("lang", "en")),
                                     with_data=bool(header.get("with_data", True)),
                                     runner=prepared.run)
    except SubmissionError as err:
        return {"ok": False, "kind": err.kind, "message": err.message,
                "context": err.context}, b""
    except ShapesError as err:
        return {"ok": False, "kind": "shapes", "message": str(err)}, b""
    return _report_reply(report, len(graph), positions,
                         graph if header.get("return_data") else None)


def _handle_form(store: Store, header: dict[str, Any], body: bytes
                 ) -> tuple[dict[str, Any], bytes]:
    """A file the form made (or a spreadsheet of the template) as the form's fields."""
    from kg.intake import IntakeError, form_from_graph
    from kg.views.intake import city_slugs, directory

    graph, _ = _read_parts(store, header, body)
    known = [b.value for _, bodies in directory(store, "en").bodies for b in bodies]
    try:
        form = form_from_graph(graph, city_slugs(store), known)
    except IntakeError as err:
        raise SubmissionError("not-a-form", err.localized(str(header.get("lang", "en")))
                              ) from None
    return {"ok": True, "form": form.as_dict()}, b""


def submission_worker(store: Store, store_path: str | None = None,  # type: ignore[no-untyped-def]
                      warm: bool = True):
    """The ``prepare`` of the validation pool: the zygote harvests the shapes once (every
    worker inherits them); each worker reads the graph's context from the in-memory store it
    shares, or opens the on-disk store at ``store_path`` read-only."""
    shapes = list(store.layer_graph("shapes"))
    ontology = list(store.layer_graph("ontology"))
    graphs, project = store.graphs, store.project
    memory = None if store_path else store.ox
    remote = memory is None and store_path is None  # a remote store: ask the server

    def prepare():  # type: ignore[no-untyped-def]
        prepared = PreparedShapes(shapes, ontology)
        if warm:  # a pool's workers serve many tasks; a single run parses what it needs
            prepared.warm_up()

        def make():  # type: ignore[no-untyped-def]
            if remote:
                own: Any = AskingStore()
            else:
                source = ox.Store.read_only(store_path) if store_path else memory
                own = Store(source, graphs, project)  # type: ignore[arg-type]
            return lambda header, body: _handle_submission(own, prepared, header, body)
        return make
    return prepare


class ValidationPool:
    """The confined workers that parse and validate submissions (separate from the query
    workers, so uploads never delay queries)."""

    def __init__(self, store: Store, workers: int = 1, queue_limit: int = 8,
                 memory_mb: int = 768, store_path: str | None = None) -> None:
        self.pool = WorkerPool(PoolSpec("validation", size=max(1, workers), overflow=0,
                                        queue_limit=queue_limit, memory_mb=memory_mb,
                                        nice=5, recycle_mb=memory_mb // 2),
                               submission_worker(store, store_path),
                               answer_asks=answer_describe(store))

    def admits(self) -> bool:
        """Whether a new submission would be queued (checked before reading its body)."""
        health = self.pool.health()
        return bool(health["idle"] or health["waiting"] < self.pool.spec.queue_limit)

    async def validate(self, data: bytes, syntax: str, *, lang: str, max_triples: int,
                       timeout_s: float, with_data: bool = True) -> SubmissionResult:
        header = {"syntax": syntax, "lang": lang, "max_triples": max_triples,
                  "with_data": with_data}
        reply, body = await self._run(header, data, timeout_s)
        return result_from_reply(reply, body)

    async def read_form(self, data: bytes, syntax: str, *, lang: str, max_triples: int,
                        timeout_s: float) -> dict[str, Any]:
        """Parse a file the form made (RDF, or a spreadsheet of the template) in a worker
        and return the form's fields (``kg.intake.StrategyForm.as_dict``)."""
        header = {"task": "form", "syntax": syntax, "lang": lang, "max_triples": max_triples}
        reply, _ = await self._run(header, data, timeout_s)
        if not reply.get("ok"):
            raise _reply_error(reply)
        return dict(reply["form"])

    async def _run(self, header: dict[str, Any], data: bytes,
                   timeout_s: float) -> tuple[dict[str, Any], bytes]:
        try:
            return await self.pool.run(header, data, timeout_s)
        except WorkerTimeoutError:
            raise ValidationTimeoutError(
                f"the validation ran past {timeout_s * 1000:,.0f} ms (setting "
                "validation_timeout_ms) and was stopped", round(timeout_s * 1000)) from None
        except WorkerCrashedError:
            raise SubmissionError("too-complex", "the submission could not be validated: "
                                  "its worker ended while reading it (too large or nested "
                                  "too deeply?)") from None
        except (PoolBusyError, MemoryBudgetError) as err:
            raise ValidationBusyError(str(err)) from None

    @property
    def worker_pids(self) -> list[int]:
        return self.pool.worker_pids

    def pools(self) -> list[WorkerPool]:
        return [self.pool]

    def health(self) -> dict[str, Any]:
        return self.pool.health()

    def check(self) -> None:
        self.pool.check()

    def close(self) -> None:
        self.pool.close()


def validate_files(store: Store, parts: list[tuple[str, str, bytes]], *, lang: str = "en",
                   max_triples: int = 1_000_000, with_data: bool = True,
                   timeout_s: float = 600.0, return_data: bool = False) -> SubmissionResult:
    """Validate files, given as (name, syntax, bytes), as one submission in one confined
    process: the command line's way in. The service uses :class:`ValidationPool`; the
    worker runs the same code. ``syntax`` is an RDF syntax's name, or csv/xlsx for a
    spreadsheet of the template. With ``return_data``, the parsed submission comes back too
    (as N-Triples written by the worker)."""
    header = {"lang": lang, "max_triples": max_triples, "with_data": with_data,
              "return_data": return_data,
              "parts": [[name, syntax, len(data)] for name, syntax, data in parts]}
    try:
        reply, body = run_once(submission_worker(store, warm=False), header,
                               b"".join(data for _, _, data in parts), timeout_s=timeout_s)
    except WorkerCrashedError as err:
        raise SubmissionError("too-complex", str(err)) from None
    return result_from_reply(reply, body)
