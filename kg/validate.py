"""Validate RDF against the project's SHACL shapes with pyshacl, into a typed report."""

from __future__ import annotations

import gc
import gzip
import hashlib
import json
import logging
import os
import re
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any
from typing import Literal as TypingLiteral

import pyoxigraph as ox
from pyshacl import validate as pyshacl_validate
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from kg.errors import KGError
from kg.incremental import (
    ANALYSIS,
    ReadScope,
    Record,
    TooFarError,
    UnboundedShapesError,
    focus_names,
    neighbourhood,
    read_scope,
    seeds_of,
)
from kg.namespaces import bind_prefixes
from kg.plain_store import plain_copy
from kg.pyshacl_tuning import OxigraphQueriedGraph, install, read_selections
from kg.store import Store

if TYPE_CHECKING:
    from collections.abc import Callable

    from kg.workers import Header, Prepare

Severity = TypingLiteral["Violation", "Warning", "Info"]
SEVERITIES: tuple[Severity, ...] = ("Violation", "Warning", "Info")
LANGUAGES = ("en", "de")
#: At start-up, data of more than half this many triples is validated in parts, each in a
#: child process of its own, as many at a time as there are cores (:func:`validate_data`): as
#: many parts as cores, or more, of about this size (at 1M triples on 2 cores, parts of 50k,
#: 100k and 250k took 123, 105 and 113 s; a part's process peaked at 0.8, 0.9 and 1.3 GB).
PART_TRIPLES = 100_000
#: A part whose reach holds more than this many times the resources it describes would repeat
#: too much of the others' work: then all the data is validated at once.
REACH_PER_PART = 3
log = logging.getLogger("digistrat")


@dataclass(frozen=True)
class ValidationResult:
    """One result of a validation, in terms a reader can act on."""

    focus_node: str
    path: str | None
    value: str | None
    severity: Severity
    message: str
    source_shape: str
    constraint: str

    def as_dict(self) -> dict[str, str | None]:
        return {"focus_node": self.focus_node, "path": self.path, "value": self.value,
                "severity": self.severity, "message": self.message,
                "source_shape": self.source_shape, "constraint": self.constraint}


@dataclass
class ValidationReport:
    """The outcome of validating one data graph. ``conforms`` ignores warnings and infos."""

    results: list[ValidationResult]
    graph: Graph = field(repr=False)
    scope: str = ""  # what was validated and how, when not all of it at once (validate_data)

    @property
    def conforms(self) -> bool:
        return not any(r.severity == "Violation" for r in self.results)

    def counts(self) -> dict[str, int]:
        return {s: sum(r.severity == s for r in self.results) for s in SEVERITIES}

    def as_dict(self) -> dict[str, object]:
        return {"conforms": self.conforms, "counts": self.counts(),
                "results": [r.as_dict() for r in self.results]}


def validate(data: Graph, shapes: Graph, *, context: Graph | None = None,
             lang: str = "en", in_place: bool = False) -> ValidationReport:
    """Validate ``data`` (with ``context``, e.g. the ontology and vocabularies) on ``shapes``.

    Inference stays off: RDFS inference hides wrong-class violations. Class targets reach
    subclasses through the rdfs:subClassOf triples of the ontology in ``context``.
    With ``in_place``, ``data`` is an :class:`OxigraphQueriedGraph` made for this validation
    (:func:`kg.incremental.neighbourhood`'s): the context is added to it, not both copied.
    """
    # pyshacl's own ont_graph mixing copies only RDFS/OWL axioms, not SKOS concepts, so the
    # context is merged here; the merged graph is ours, so pyshacl may work in place.
    if in_place:
        assert isinstance(data, OxigraphQueriedGraph)
        combined, parts = data, (context,)
    else:
        combined, parts = OxigraphQueriedGraph(), (data, context)
    for part in parts:
        if part is not None:
            for triple in part:
                combined.add(triple)
    install()
    # pyshacl reads the shapes graph again for every focus node: a copy without contexts
    _, report_graph, _ = pyshacl_validate(
        combined, shacl_graph=plain_copy(shapes), inference="none", advanced=True, inplace=True,
        allow_warnings=True, allow_infos=True, abort_on_first=False, meta_shacl=False,
        do_owl_imports=False,
    )
    if not isinstance(report_graph, Graph):  # pyshacl gives back its ValidationFailure
        message = getattr(report_graph, "message", report_graph)
        raise KGError(f"the shapes cannot be used: {message}")
    tidy_messages(report_graph, shapes)
    bind_prefixes(report_graph.namespace_manager)
    results = [result_of(report_graph, node, lang) for node in top_level_results(report_graph)]
    return ValidationReport(_ordered(results), report_graph)


def _ordered(results: list[ValidationResult]) -> list[ValidationResult]:
    """Violations first, then by focus node, path, message, shape, constraint and value (so
    the order does not depend on the order in which pyshacl met them)."""
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(results, key=lambda r: (order[r.severity], r.focus_node, r.path or "",
                                          r.message, r.source_shape, r.constraint,
                                          r.value or ""))


def validate_data(store: Store, *, lang: str = "en", cache_dir: Path | None = None,
                  isolated: bool = False) -> ValidationReport | None:
    """Validate the store's ``data/`` layer (with the ontology) against its shapes.

    With ``cache_dir``, a conforming verdict is remembered: under the store's fingerprint (a
    hash of every loaded file's path and content) and the versions of pyshacl and rdflib, and
    as a record of each data file's digest (:mod:`kg.incremental`). The same files are not
    validated again (None is returned); when only some data files changed since a conforming
    verdict over the same shapes, ontology and validator, only the resources those changes
    can reach are validated again (:attr:`ValidationReport.scope` says so). Anything else
    validates everything.

    With ``isolated``, the validation runs in a forked child process, so the rdflib graphs
    it needs (several times the store's size) are freed with the child instead of staying
    in this process; the report then holds the results but no report graph. Validating all
    the data of more than half :data:`PART_TRIPLES` triples (on a first start, or after a
    change that reaches most of it) is then done in parts, in children side by side
    (:func:`_in_parts`), when the shapes' reach is bounded.
    """
    verdicts = _Verdicts(store, cache_dir) if cache_dir and store.fingerprint else None
    record = verdicts.record() if verdicts else None
    changed = record.changed(verdicts.digests) if verdicts and record else None
    if verdicts and verdicts.known() and changed == []:
        return None
    # the shapes' scope: the record's, else worked out here (once, before a child is forked)
    scope = (record.scope if record else _read_scope(store)) if verdicts else None
    if verdicts and (verdicts.known() or changed == []):
        task = _Task("seeds", scope, changed)  # these files conformed; marker or record old
    elif record is not None and changed:
        task = _Task("changes", scope, changed, sorted({iri for name in changed
                                                        for iri in record.seeds.get(name, [])}))
    else:
        task = _Task("all", scope, None)
    cores = len(os.sched_getaffinity(0))
    parts = _parts(store, cores) if isolated and task.mode != "seeds" else []
    task.all_when_far = len(parts) < 2
    outcome = None
    if len(parts) > 1 and task.mode == "all":
        whole_scope = scope if verdicts else _read_scope(store)
        outcome = _in_parts(store, lang, whole_scope, parts, cores) if whole_scope else None
    if outcome is None:
        try:
            outcome = _in_child(store, lang, task) if isolated else task.run(store, lang)
        except TooFarError:  # a change that reaches most of the data, and parts to take it
            log.info("validating everything: the changes reach most of the data")
            task = _Task("all", scope, None)
            outcome = (_in_parts(store, lang, scope, parts, cores) if scope else None) \
                or _in_child(store, lang, task)
    report, seeds = outcome
    if verdicts and (report is None or report.conforms):
        verdicts.remember(report, seeds, scope, record if task.changed is not None else None)
    return report


def _read_scope(store: Store) -> ReadScope | None:
    """How far the store's shapes read, or None when no bound can be given."""
    try:
        return read_scope(store.layer_graph("shapes"), store.layer_graph("ontology"))
    except UnboundedShapesError as err:
        log.info("validating everything: %s", err)
        return None


@dataclass
class _Task:
    """What to validate: ``all``; the ``changed`` files' reach (with the seeds they had at the
    last verdict); or nothing, only the ``seeds`` of files known to conform. Seeds are worked
    out with ``scope`` (none without it) for the ``changed`` files (all when None)."""

    mode: TypingLiteral["all", "changes", "seeds"]
    scope: ReadScope | None
    changed: list[str] | None
    old_seeds: list[str] = field(default_factory=list)
    #: when the changes reach most of the data: validate everything here, or raise
    #: TooFarError (for the caller to validate everything in parts)
    all_when_far: bool = True

    def run(self, store: Store, lang: str
            ) -> tuple[ValidationReport | None, dict[str, list[str]] | None]:
        shapes, context = store.layer_graph("shapes"), store.layer_graph("ontology")
        scope = self.scope
        seeds = seeds_of(store, scope, self.changed) if scope else None
        if self.mode == "seeds":
            return None, seeds
        if self.mode == "changes" and scope and seeds is not None and self.changed:
            start = set(self.old_seeds).union(*(seeds.get(name, []) for name in self.changed))
            try:
                around = neighbourhood(store, scope, start)
            except TooFarError:
                if not self.all_when_far:
                    raise
                log.info("validating everything: the changes reach most of the data")
            else:
                report = validate(around.graph, shapes, context=context, lang=lang,
                                  in_place=True)
                names = focus_names(around.focus)
                files = len(self.changed)
                return ValidationReport(
                    [r for r in report.results if r.focus_node in names], report.graph,
                    scope=f"the reach of {files} changed file{'s' * (files != 1)}: "
                          f"{len(around.focus):,} resources"), seeds
        return validate(store.layer_graph("data"), shapes, context=context, lang=lang), seeds


def _in_child(store: Store, lang: str, task: _Task
              ) -> tuple[ValidationReport | None, dict[str, list[str]] | None]:
    """The validation in a confined child process (:func:`_in_children`)."""

    def prepare():  # type: ignore[no-untyped-def]
        source = store.reopened()

        def make():  # type: ignore[no-untyped-def]
            def handle(header: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
                try:
                    report, seeds = task.run(source, lang)
                except TooFarError:
                    return {"ok": True, "too_far": True}, b""
                reply: dict[str, Any] = {"ok": True, "report": None}
                if report is not None:
                    reply["report"] = {"results": [r.as_dict() for r in report.results],
                                       "scope": report.scope}
                return reply, gzip.compress(json.dumps(seeds).encode(), 1)
            return handle
        return make

    [(reply, body)] = _in_children(prepare, [({}, b"")])
    if reply.get("too_far"):
        raise TooFarError
    seeds = json.loads(gzip.decompress(body))
    found = reply["report"]
    if found is None:
        return None, seeds
    return ValidationReport([ValidationResult(**r) for r in found["results"]], Graph(),
                            scope=found["scope"]), seeds


def _in_children(prepare: Prepare, tasks: list[tuple[Header, bytes]], *, at_once: int = 1,
                 stop_at: Callable[[Header], bool] | None = None) -> list[tuple[Header, bytes]]:
    """The replies of the validation's ``tasks``, each run in a confined child process
    (:func:`kg.workers.run_each`); a child that crashed or failed is a :class:`KGError`."""
    from kg.workers import WorkerCrashedError, run_each

    try:
        replies = run_each(prepare, tasks, timeout_s=24 * 3600, at_once=at_once,
                           stop_at=stop_at)
    except WorkerCrashedError as err:
        raise KGError(f"the validation process failed: {err}") from None
    for reply, _ in replies:
        if not reply.get("ok"):
            raise KGError(f"the validation process failed: {reply.get('message')}")
    return replies


def _parts(store: Store, cores: int) -> list[list[str]]:
    """The data files in parts of about equal size (:data:`PART_TRIPLES`); one part, with
    all of them, for data of up to half that size."""
    sizes: dict[str, int] = {}
    for info in store.graphs:
        if store.project.layer_of_graph(info.iri) == "data":
            sizes[info.file] = sizes.get(info.file, 0) + info.triples
    total = sum(sizes.values())
    count = max(cores, round(total / PART_TRIPLES)) if total > PART_TRIPLES / 2 else 1
    target = total / count
    parts: list[list[str]] = [[]]
    size = 0
    for name in sorted(sizes):
        if size >= target:
            parts.append([])
            size = 0
        parts[-1].append(name)
        size += sizes[name]
    return parts


def _in_parts(store: Store, lang: str, scope: ReadScope, parts: list[list[str]], cores: int
              ) -> tuple[ValidationReport, dict[str, list[str]]] | None:
    """All the data validated part by part, each part's files as if they had changed (their
    reach, :func:`kg.incremental.neighbourhood`), in confined children, as many at a time as
    there are cores; so only a part's rdflib graphs are in memory at once, per child.

    A resource's results are those of the first part whose reach holds it: a part validates
    each resource of its reach over all the data the resource's shapes read, so any such part
    gives them all. A result whose focus node no reach holds (a literal, a resource of the
    ontology) is kept as many times as the part that reports it most often. None, and then
    everything is validated at once, when a part's reach holds more than :data:`REACH_PER_PART`
    times the resources it describes, or the part describes a blank node that no resource
    holds (no reach starts from it).
    """
    def prepare():  # type: ignore[no-untyped-def]
        source = store.reopened()
        shapes, context = source.layer_graph("shapes"), source.layer_graph("ontology")

        def make():  # type: ignore[no-untyped-def]
            def handle(header: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
                seeds = seeds_of(source, scope, header["files"])
                described = _described(source, header["files"])
                gc.disable()  # the reach is built, not thrown away: nothing to collect
                try:
                    around = neighbourhood(source, scope, set().union(*seeds.values()),
                                           limit=REACH_PER_PART * len(described))
                except TooFarError:
                    return {"ok": True, "whole": "a part reaches too far"}, b""
                finally:
                    _collect_seldom()
                if not described <= around.focus:
                    return {"ok": True, "whole": "a blank node no resource holds"}, b""
                report = validate(around.graph, shapes, context=context, lang=lang,
                                  in_place=True)
                reply = {"ok": True, "results": [r.as_dict() for r in report.results]}
                found = {"seeds": seeds, "focus": sorted(focus_names(around.focus))}
                return reply, gzip.compress(json.dumps(found).encode(), 1)
            return handle
        return make

    at_once = min(len(parts), cores)
    started = time.perf_counter()
    read_selections(store.layer_graph("shapes"))  # here, not again in every part
    replies = _in_children(prepare, [({"files": files}, b"") for files in parts],
                           at_once=at_once, stop_at=lambda reply: "whole" in reply)
    claimed: set[str] = set()
    kept: list[ValidationResult] = []
    outside: Counter[ValidationResult] = Counter()
    seeds: dict[str, list[str]] = {}
    for reply, body in replies:
        if reply.get("whole"):
            log.info("validating everything at once: %s", reply["whole"])
            return None
        found = json.loads(gzip.decompress(body))
        seeds.update(found["seeds"])
        focus = set(found["focus"])
        results = [ValidationResult(**r) for r in reply["results"]]
        kept += [r for r in results if r.focus_node in focus and r.focus_node not in claimed]
        for result, times in Counter(r for r in results if r.focus_node not in focus).items():
            outside[result] = max(outside[result], times)
        claimed |= focus
    kept += [r for r, times in outside.items() if r.focus_node not in claimed
             for _ in range(times)]
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    how = (f"all the data in {len(parts)} parts, {at_once} at a time (a part's process "
           f"peaked at {peak_mb:,} MB at most)")
    log.info("validated %s in %.1f s", how, time.perf_counter() - started)
    return ValidationReport(_ordered(kept), Graph(), scope=how), seeds


def _collect_seldom() -> None:
    """For the rest of a start-up part's child: what it holds now (the store, the reach) is
    kept until the child ends, so no collection looks at it again, and collections come
    seldom. A part at 1M makes no garbage a collection would find (reference counting frees
    it), and the collector's passes cost it 0.6–0.9 s of 5.4 (``docs/performance.md``)."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    gc.enable()


def _described(store: Store, files: list[str]) -> set[ox.NamedNode | ox.BlankNode]:
    """The subjects of the triples of ``files`` (data files)."""
    wanted = set(files)
    graphs = [info.iri for info in store.graphs if info.file in wanted]
    return {quad.subject for iri in graphs for quad in store.quads(graph=iri)
            if not isinstance(quad.subject, ox.Triple)}


class _Verdicts:
    """The remembered conforming verdicts of one store in ``cache_dir``: a marker per exact
    set of files, and the record of the latest (per shapes, ontology and validator)."""

    def __init__(self, store: Store, cache_dir: Path) -> None:
        validator = f"pyshacl{version('pyshacl')}-rdflib{version('rdflib')}"
        self.marker = cache_dir / f"conforms-{store.fingerprint}-{validator}"
        rules = hashlib.sha256(f"{validator}-{ANALYSIS}".encode())
        for name, digest in store.digests.items():
            if not name.startswith("data/"):
                rules.update(f"{name}\0{digest}\0".encode())
        self.record_path = cache_dir / f"record-{rules.hexdigest()[:32]}.json.gz"
        self.digests = {n: d for n, d in store.digests.items() if n.startswith("data/")}
        self.cache_dir = cache_dir

    def known(self) -> bool:
        return self.marker.is_file()

    def record(self) -> Record | None:
        return Record.read(self.record_path)

    def remember(self, report: ValidationReport | None, seeds: dict[str, list[str]] | None,
                 scope: ReadScope | None, record: Record | None) -> None:
        """The files conform: write their marker, and their record (``seeds`` of the files
        changed since ``record``, or of all files when it is None; none without seeds)."""
        try:
            self.marker.parent.mkdir(parents=True, exist_ok=True)
            self.marker.write_text(json.dumps(report.counts() if report else {}))
            if seeds is not None and scope is not None:
                base = record or Record({}, {}, scope)
                base.updated(self.digests, seeds, scope).write(self.record_path)
        except OSError as err:  # a read-only cache only costs the next start its time
            log.warning("cannot remember the verdict in %s: %s", self.cache_dir, err.strerror)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/digistrat`` (``~/.cache/digistrat`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "digistrat"


def top_level_results(report: Graph) -> list[Node]:
    """The results of the validation report itself (``?report sh:result ?result``).

    Results nested under another result's ``sh:detail`` (pyshacl reports why a value failed
    an ``sh:node`` or ``sh:qualifiedValueShape``) explain that result; they are not results
    of the validation, and counting them would count one failure several times. Other
    engines (Jena SHACL, rudof) count the top-level results only; so does this.
    """
    return [result for report_node in report.subjects(RDF.type, SH.ValidationReport)
            for result in report.objects(report_node, SH.result)]


def result_of(report: Graph, node: Node, lang: str) -> ValidationResult:
    """One sh:ValidationResult node of ``report`` as a typed result."""
    def one(predicate: URIRef) -> Node | None:
        return report.value(node, predicate)

    severity_iri = one(SH.resultSeverity)
    severity: Severity = "Violation"
    for name in SEVERITIES:
        if severity_iri == SH[name]:
            severity = name
    path = one(SH.resultPath)
    value = one(SH.value)
    constraint = one(SH.sourceConstraintComponent)
    return ValidationResult(
        focus_node=_show(report, one(SH.focusNode)) or "",
        path=_show(report, path),
        value=_show(report, value),
        severity=severity,
        message=pick_message(list(report.objects(node, SH.resultMessage)), lang),
        source_shape=_show(report, one(SH.sourceShape)) or "",
        constraint=str(constraint).rsplit("#", 1)[-1] if constraint else "",
    )


def pick_message(messages: list[Node], lang: str) -> str:
    """The message in ``lang``, else in English, else German, else any."""
    literals = [m for m in messages if isinstance(m, Literal)]
    for wanted in (lang, "en", "de", None):
        for message in literals:
            if message.language == wanted or wanted is None:
                return str(message)
    return ""


def _show(report: Graph, node: Node | None) -> str | None:
    """IRIs in full, literals in Turtle form, property paths in SPARQL path syntax."""
    if node is None:
        return None
    if isinstance(node, URIRef):
        return str(node)
    if isinstance(node, Literal):
        return node.n3(report.namespace_manager)
    if isinstance(node, BNode):
        return _path(report, node)
    return str(node)


_PATH_SUFFIXES = ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?"))


def _path(report: Graph, node: BNode) -> str:
    """A blank-node SHACL path (sequence, alternative, inverse, repetition) as SPARQL
    property-path text: ``^ds:adopts``, ``ds:adopts|ds:concerns``, ``ds:isElementOf+``."""
    text, _ = _path_text(report, node)
    return text


def _path_text(report: Graph, node: Node) -> tuple[str, bool]:
    """The path's text, and whether it is compound (needs parentheses inside another)."""
    nm = report.namespace_manager
    if isinstance(node, URIRef):
        return node.n3(nm), False

    def part(item: Node) -> str:
        text, compound = _path_text(report, item)
        return f"({text})" if compound else text

    inverse = report.value(node, SH.inversePath)
    if inverse is not None:
        return "^" + part(inverse), False
    alternatives = report.value(node, SH.alternativePath)
    if alternatives is not None:
        return "|".join(part(i) for i in report.items(alternatives)), True
    for predicate, suffix in _PATH_SUFFIXES:
        repeated = report.value(node, predicate)
        if repeated is not None:
            return part(repeated) + suffix, False
    if report.value(node, RDF.first) is not None:
        return "/".join(part(i) for i in report.items(node)), True
    return "_:" + str(node), False


def tidy_messages(report: Graph, shapes: Graph) -> None:
    """One message per language and result, each with its language tag.

    pyshacl drops the language tags of SHACL-SPARQL messages when it fills in their
    ``{?var}`` slots, and reports both the constraint's message and the shape's. The tags
    are restored by matching each message against the shape's templates, and the shape's
    generic message gives way to the constraint's specific one in the same language.
    """
    for result in list(report.subjects(SH.resultSeverity, None)):
        shape = report.value(result, SH.sourceShape)
        if shape is None:
            continue
        generic = [m for m in shapes.objects(shape, SH.message) if isinstance(m, Literal)]
        templates = list(generic)
        for constraint in shapes.objects(shape, SH.sparql):
            templates += [m for m in shapes.objects(constraint, SH.message)
                          if isinstance(m, Literal)]
        messages = [m for m in report.objects(result, SH.resultMessage)
                    if isinstance(m, Literal)]
        tagged: list[Literal] = []
        for message in messages:
            if message.language is None:
                langs = {t.language for t in templates
                         if t.language and _template_matches(str(t), str(message))}
                if len(langs) == 1:
                    message = Literal(str(message), lang=langs.pop())
            tagged.append(message)
        generic_texts = {str(m) for m in generic}
        keep = [m for m in tagged if str(m) not in generic_texts or not any(
            o.language == m.language and str(o) not in generic_texts for o in tagged)]
        if set(keep) != set(messages):
            report.remove((result, SH.resultMessage, None))
            for message in keep:
                report.add((result, SH.resultMessage, message))


def _template_matches(template: str, text: str) -> bool:
    """Whether ``text`` is ``template`` with its ``{?var}`` / ``{$var}`` slots filled in."""
    parts = re.split(r"\{[?$][A-Za-z_][A-Za-z0-9_]*\}", template)
    return re.fullmatch(".*?".join(re.escape(part) for part in parts), text,
                        flags=re.DOTALL) is not None
