"""Where a digistrat project keeps its files, and which named graph each file becomes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kg.formats import is_rdf_file
from kg.namespaces import GRAPH

LAYERS = ("ontology", "shapes", "data")


@dataclass(frozen=True)
class Project:
    """A checkout holding ``ontology/``, ``shapes/``, ``data/`` and ``queries/``."""

    root: Path

    @classmethod
    def locate(cls, root: Path | str | None = None) -> Project:
        """The project at ``root``, ``$DIGISTRAT_ROOT``, the working directory or this checkout."""
        candidates = [Path(root)] if root else []
        if os.environ.get("DIGISTRAT_ROOT"):
            candidates.append(Path(os.environ["DIGISTRAT_ROOT"]))
        candidates += [Path.cwd(), Path(__file__).resolve().parent.parent]
        for candidate in candidates:
            if (candidate / "ontology").is_dir() and (candidate / "shapes").is_dir():
                return cls(candidate.resolve())
            if root:
                break
        where = root or ", ".join(str(c) for c in candidates)
        raise FileNotFoundError(f"no digistrat project (ontology/ and shapes/) at {where}")

    def files(self, layer: str) -> list[Path]:
        """The RDF files of one layer, sorted, as paths under the root."""
        folder = self.root / layer
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.rglob("*") if p.is_file() and is_rdf_file(p))

    def all_files(self) -> list[Path]:
        return [path for layer in LAYERS for path in self.files(layer)]

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.root).as_posix()

    def graph_iri(self, path: Path) -> str:
        """``graph/{path without suffix}``, e.g. ``…/graph/data/zuerich``."""
        rel = self.relative(path)
        return str(GRAPH) + rel.rsplit(".", 1)[0]

    def files_of_graphs(self, graph_iris: list[str]) -> list[str]:
        """The file (relative path) each graph IRI was loaded from, where the project has it;
        else the graph's path without a suffix. The project's files are listed once."""
        names = {self.graph_iri(path): self.relative(path) for path in self.all_files()}
        return [names.get(iri) or iri.removeprefix(str(GRAPH)) for iri in graph_iris]

    def layer_of_graph(self, graph_iri: str) -> str | None:
        rest = graph_iri.removeprefix(str(GRAPH))
        layer = rest.split("/", 1)[0]
        return layer if layer in LAYERS and rest != graph_iri else None

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"
