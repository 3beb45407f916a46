"""The query store: every project file in its own named graph of a pyoxigraph store."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from kg.namespaces import bind_prefixes
from kg.project import Project
from kg.rdfio import graph_from_quads, parse_file

MANIFEST = "digistrat-manifest.json"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class GraphInfo:
    iri: str
    file: str
    triples: int


class Store:
    """A read-mostly wrapper over a pyoxigraph store holding one project's files.

    In memory by default; on disk when a path is given, where a store built from the same
    files is reopened without reloading them.
    """

    def __init__(self, ox_store: ox.Store, graphs: list[GraphInfo], project: Project,
                 fingerprint: str = "") -> None:
        self.ox = ox_store
        self.graphs = graphs
        self.project = project
        self.fingerprint = fingerprint  # sha-256 over the loaded files' paths and contents

    # --- building ------------------------------------------------------------------------

    @classmethod
    def load(cls, project: Project, path: Path | None = None,
             progress: Progress | None = None, files: list[Path] | None = None) -> Store:
        """Load ``files`` (default: every ontology, shapes and data file) into a store.

        Raises LoadError on the first file that does not parse; nothing is half-written to an
        on-disk store in that case, because every file is parsed before anything is added.
        """
        files = project.all_files() if files is None else files
        fingerprint = _fingerprint(project, files)
        if path is not None:
            manifest = path / MANIFEST
            if manifest.is_file():
                saved = json.loads(manifest.read_text())
                if saved.get("fingerprint") == fingerprint:
                    if progress:
                        progress(f"Reopened the store at {path} (files unchanged)")
                    graphs = [GraphInfo(**g) for g in saved["graphs"]]
                    return cls(ox.Store(str(path)), graphs, project, fingerprint)
        parsed: list[tuple[Path, str, list[ox.Quad]]] = []
        for number, file in enumerate(files, 1):
            iri = project.graph_iri(file)
            quads = parse_file(file, graph=ox.NamedNode(iri), source=project.relative(file))
            parsed.append((file, iri, quads))
            if progress:
                progress(f"[{number}/{len(files)}] {project.relative(file)}: {len(quads)} triples")
        if path is not None:
            path.mkdir(parents=True, exist_ok=True)
            ox_store = ox.Store(str(path))
            ox_store.clear()
            (path / MANIFEST).unlink(missing_ok=True)
        else:
            ox_store = ox.Store()
        graphs = []
        for file, iri, quads in parsed:
            ox_store.add_graph(ox.NamedNode(iri))
            ox_store.extend(quads)
            graphs.append(GraphInfo(iri, project.relative(file), len(set(quads))))
        if path is not None:
            ox_store.flush()
            (path / MANIFEST).write_text(json.dumps(
                {"fingerprint": fingerprint, "graphs": [g.__dict__ for g in graphs]}, indent=1))
        return cls(ox_store, graphs, project, fingerprint)

    # --- reading -------------------------------------------------------------------------

    def graph_iris(self, layer: str | None = None) -> list[str]:
        return [g.iri for g in self.graphs
                if layer is None or self.project.layer_of_graph(g.iri) == layer]

    def rdflib_graph(self, graph_iris: list[str]) -> Graph:
        """The union of some named graphs as one rdflib graph (for pyshacl and serialisers)."""
        graph = Graph()
        bind_prefixes(graph.namespace_manager)
        for iri in graph_iris:
            graph_from_quads(self.ox.quads_for_pattern(None, None, None, ox.NamedNode(iri)),
                             graph)
        return graph

    def layer_graph(self, *layers: str) -> Graph:
        return self.rdflib_graph([iri for layer in layers for iri in self.graph_iris(layer)])

    def __len__(self) -> int:
        return len(self.ox)


def _fingerprint(project: Project, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for file in files:
        digest.update(project.relative(file).encode())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()
