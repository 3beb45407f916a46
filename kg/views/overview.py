"""Views across the graph: the comparison matrix of municipalities and themes, and the
timeline of adoptions and successions."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from kg.store import Store
from kg.views.common import compact, fallback_label, labels, select
from kg.views.municipality import municipalities
from kg.views.strategy import StrategySummary

# --- comparison matrix -----------------------------------------------------------------------


@dataclass
class Matrix:
    municipalities: list[tuple[str, str]]
    themes: list[tuple[str, str]]
    cells: dict[tuple[str, str], list[tuple[str, str]]]  # (municipality, theme) → (iri, label)


def comparison(store: Store, lang: str) -> Matrix:
    """Municipalities × themes: the strategies and elements of each city on each theme."""
    rows = select(store, """SELECT DISTINCT ?m ?theme ?x WHERE {
        ?s a ds:Strategy ; ds:ownedBy ?m .
        { ?s dct:subject ?theme BIND(?s AS ?x) }
        UNION { ?x (ds:isElementOf|^ds:hasElement)+ ?s . ?x dct:subject ?theme } }""")
    theme_rows = select(store, "SELECT DISTINCT ?t WHERE { ?t a ds:Theme }")
    cells: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    names_wanted = set()
    for row in rows:
        key = (row["m"].value, row["theme"].value)
        cells[key].append((row["x"].value, ""))
        names_wanted.update((row["m"].value, row["theme"].value, row["x"].value))
    theme_iris = {r["t"].value for r in theme_rows} | {t for _, t in cells}
    named = labels(store, names_wanted | theme_iris, lang)
    for key, items in cells.items():
        cells[key] = sorted({(x, named.get(x, fallback_label(x, ""))) for x, _ in items},
                            key=lambda i: i[1].lower())
    munis = municipalities(store, lang)
    themes = sorted(((t, named.get(t, compact(t))) for t in theme_iris),
                    key=lambda x: x[1].lower())
    return Matrix(munis, themes, dict(cells))




def timeline_layout(items: list[StrategySummary],
                    munis: list[tuple[str, str]]) -> dict[str, Any]:
    """Coordinates for the timeline SVG: one lane per municipality, x by year."""
    dated = [s for s in items if s.year is not None]
    years = [s.year for s in dated if s.year is not None]
    first, last = (min(years), max(years)) if years else (2000, 2025)
    first, last = first - 1, last + 1
    lanes = [m for m in munis if any(s.municipality == m[0] for s in dated)]
    left, right, lane_height, top = 220, 40, 56, 40
    width = left + right + max(1, last - first) * 48
    height = top + lane_height * max(1, len(lanes)) + 30

    def x_of(year: int) -> float:
        return left + (year - first) * (width - left - right) / max(1, last - first)

    lane_y = {m[0]: top + lane_height * i + lane_height / 2 for i, m in enumerate(lanes)}
    placed: dict[str, tuple[float, float]] = {}
    stack: dict[tuple[str, int], int] = {}
    points = []
    for s in dated:
        assert s.year is not None
        if s.municipality not in lane_y:
            continue
        shift = stack.get((s.municipality, s.year), 0)
        stack[(s.municipality, s.year)] = shift + 1
        same = sum(1 for o in dated if o.municipality == s.municipality and o.year == s.year)
        x, y = x_of(s.year), lane_y[s.municipality] + (shift - (same - 1) / 2) * 16
        placed[s.iri] = (x, y)
        flip = shift % 2 if same > 1 else len(points) % 2
        points.append({"s": s, "x": x, "y": y, "flip": flip})
    arrows = []
    for s in dated:
        for old in s.replaces:
            if old in placed and s.iri in placed:
                (x1, y1), (x2, y2) = placed[old], placed[s.iri]
                arrows.append({"x1": x1 + 6, "y1": y1, "x2": x2 - 8, "y2": y2})
    ticks = [{"year": y, "x": x_of(y)} for y in range(first, last + 1)
             if (y - first) % (1 if last - first <= 20 else 5) == 0]
    return {"points": points, "arrows": arrows, "ticks": ticks, "width": width,
            "height": height, "lanes": [{"iri": m[0], "label": m[1], "y": lane_y[m[0]]}
                                        for m in lanes],
            "undated": [s for s in items if s.year is None], "top": top}
