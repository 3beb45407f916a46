"""Views across the graph: the comparison matrix of municipalities and themes, and the
timeline of adoptions and successions."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from kg.store import Store
from kg.views import municipality, paging, strategy
from kg.views.strategy import StrategySummary

# --- comparison matrix -----------------------------------------------------------------------


#: Municipalities (lanes) of the timeline a page (as the home page's municipalities).
TIMELINE_PAGE_SIZE = 200


@dataclass(frozen=True)
class Timeline:
    """The strategies of the timeline by municipality, the municipalities that have one (in
    name order), and the years every page shares."""

    by_municipality: dict[str, list[StrategySummary]]  # "" for strategies of no municipality
    municipalities: list[tuple[str, str]]  # (IRI, name)
    first: int
    last: int


def timeline(items: list[StrategySummary], munis: list[tuple[str, str]]) -> Timeline:
    by_municipality: dict[str, list[StrategySummary]] = defaultdict(list)
    for s in items:
        by_municipality[s.municipality].append(s)
    years = [s.year for s in items if s.year is not None]
    first, last = (min(years), max(years)) if years else (2000, 2025)
    return Timeline(dict(by_municipality), [m for m in munis if m[0] in by_municipality],
                    first - 1, last + 1)


def timeline_of(store: Store, lang: str) -> Timeline:
    """The whole timeline of ``store`` in ``lang`` (kept once made: :func:`timeline` over
    every strategy and municipality)."""
    return timeline(strategy.strategies(store, lang), municipality.municipalities(store, lang))


def timeline_page(t: Timeline, asked: str | None) -> dict[str, Any]:
    """Page ``asked`` of the timeline: its municipalities' lanes and undated strategies (and,
    on the last page, the strategies of no municipality); errors as
    :func:`kg.views.paging.paged`."""
    page = paging.paged(t.municipalities, asked, TIMELINE_PAGE_SIZE, "/-/timeline")
    owners = [m[0] for m in page.items] + ([""] if page.page == page.pages else [])
    items = [s for owner in owners for s in t.by_municipality.get(owner, [])]
    return {**timeline_layout(items, list(page.items), t.first, t.last), "page": page}


def timeline_layout(items: list[StrategySummary], munis: list[tuple[str, str]],
                    first: int, last: int) -> dict[str, Any]:
    """Coordinates for the timeline SVG: one lane per municipality, x by year from ``first``
    to ``last``."""
    dated = [s for s in items if s.year is not None]
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
