"""Charts as inline SVG made on the server (no script, no external file), each with a table of
the same numbers: adoptions per year by country, themes by share of adopted strategies, and
the structure of one strategy.

Every chart is a :class:`Chart`: the SVG as a string (every text in it escaped here), and the
rows of the table that says the same in words and numbers. Colours come from classes
(``api/static/tables.css``), not from style attributes, so the Content Security Policy holds.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from kg.i18n import gettext
from kg.views.strategy import TreeNode, walk
from kg.views.tables import COUNTRY_ORDER, Strategy, Tables, collation_key, country_name

DS = "https://w3id.org/digistrat/ontology#"


@dataclass
class Chart:
    id: str  # unique on its page; the SVG's title and description ids derive from it
    title: str
    summary: str  # one sentence: what the chart shows (the SVG's description)
    svg: str
    headers: list[str]
    rows: list[list[Any]]
    links: list[str] = field(default_factory=list)  # per row, for the first cell ("" none)
    notes: list[str] = field(default_factory=list)
    numeric: list[bool] = field(default_factory=list)  # per column: right-aligned numbers

    @property
    def empty(self) -> bool:
        return not self.rows


def _e(text: Any) -> str:
    return escape(str(text), quote=True)


def _n(value: float) -> str:
    """A coordinate: at most one decimal."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(chart_id: str, width: int, height: int, title: str, summary: str,
         body: list[str]) -> str:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{_e(chart_id)}-svg" '
            f'viewBox="0 0 {width} {height}" role="img" '
            f'aria-labelledby="{_e(chart_id)}-title {_e(chart_id)}-desc">'
            f'<title id="{_e(chart_id)}-title">{_e(title)}</title>'
            f'<desc id="{_e(chart_id)}-desc">{_e(summary)}</desc>')
    return head + "".join(body) + "</svg>"


def _nice_max(value: int) -> tuple[int, int]:
    """An axis maximum ≥ value and a tick step (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1, 1
    raw = value / 4
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(s * power for s in (1, 2, 5, 10) if s * power >= raw)
    step = max(1, int(step))
    return int(math.ceil(value / step) * step), step


def _legend(items: Sequence[tuple[str, str]], x: float, y: float) -> list[str]:
    parts = []
    for css, label in items:
        parts.append(f'<rect x="{_n(x)}" y="{_n(y - 9)}" width="10" height="10" '
                     f'class="{_e(css)}"/><text x="{_n(x + 14)}" y="{_n(y)}" '
                     f'class="legend">{_e(label)}</text>')
        x += 24 + 7.4 * len(label)
    return parts


def _percent(lang: str, value: float) -> str:
    return f"{round(value)} %" if lang == "de" else f"{round(value)}%"


# --- adoptions per year by country -----------------------------------------------------------


def adoptions_by_year(t: Tables, strategies: Sequence[Strategy], chart_id: str = "adoptions"
                      ) -> Chart:
    """Stacked bars: the strategies adopted each year (by the date of the adopting
    decision), by country. Adopted strategies whose decision has no known date are counted in
    a note, not placed in a year."""
    lang = t.lang
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    undated = 0
    for s in strategies:
        if not s.adopted_flag:
            continue
        year = int(s.adopted[:4]) if s.adopted[:4].isdigit() else None
        if year is None:
            undated += 1
            continue
        counts[year][s.country or "?"] += 1
    title = gettext(lang, "Strategies adopted per year, by country")
    countries = [c for c in COUNTRY_ORDER if any(c in v for v in counts.values())]
    countries += sorted({c for v in counts.values() for c in v} - set(countries))
    headers = [gettext(lang, "Year"), *(country_name(lang, c) for c in countries),
               gettext(lang, "Total")]
    notes = []
    if undated:
        notes.append(gettext(lang, "Adopted, date of the decision not known") + f": {undated}")
    if not counts:
        return Chart(chart_id, title, title, "", headers, [], notes=notes)
    years = list(range(min(counts), max(counts) + 1))
    rows = [[y, *(counts[y].get(c, 0) for c in countries), sum(counts[y].values())]
            for y in years if y in counts]
    summary = gettext(lang, "Bars per year; each bar is split by country.") + " " + \
        ", ".join(f"{r[0]}: {r[-1]}" for r in rows)

    width, height = 420, 260
    left, right, top, bottom = 30, 6, 30, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value, step = _nice_max(max(sum(v.values()) for v in counts.values()))
    band = plot_w / len(years)
    bar = max(2.0, band * 0.72)
    body = _legend([(f"s-{c}", country_name(lang, c)) for c in countries], left, 14)
    for tick in range(0, top_value + 1, step):
        y = top + plot_h - plot_h * tick / top_value
        body.append(f'<line x1="{left}" y1="{_n(y)}" x2="{width - right}" y2="{_n(y)}" '
                    f'class="grid"/><text x="{left - 5}" y="{_n(y + 4)}" class="axis" '
                    f'text-anchor="end">{tick}</text>')
    every = max(1, math.ceil(32 / band))
    for i, year in enumerate(years):
        x = left + band * i + (band - bar) / 2
        y = top + plot_h
        stack = counts.get(year, {})
        for c in countries:
            n = stack.get(c, 0)
            if not n:
                continue
            h = plot_h * n / top_value
            y -= h
            body.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(bar)}" height="{_n(h)}" '
                        f'class="s-{_e(c)}"><title>{year} · {_e(country_name(lang, c))}: '
                        f'{n}</title></rect>')
        total = sum(stack.values())
        if total and band >= 14:
            body.append(f'<text x="{_n(x + bar / 2)}" y="{_n(y - 3)}" class="value" '
                        f'text-anchor="middle">{total}</text>')
        if (year - years[0]) % every == 0:
            body.append(f'<text x="{_n(left + band * i + band / 2)}" y="{height - bottom + 16}" '
                        f'class="axis" text-anchor="middle">{year}</text>')
    svg = _svg(chart_id, width, height, title, summary, body)
    return Chart(chart_id, title, summary, svg, headers, rows, notes=notes,
                 numeric=[False] + [True] * (len(headers) - 1))


# --- themes by share of adopted strategies ---------------------------------------------------


def theme_shares(t: Tables, strategies: Sequence[Strategy], chart_id: str = "themes",
                 link: str = "/-/themes/") -> Chart:
    """Horizontal bars: for each theme, the share of the adopted strategies that carry it
    (on the strategy or on one of its elements), largest first."""
    lang = t.lang
    adopted = [s for s in strategies if s.adopted_flag]
    title = gettext(lang, "Themes by share of adopted strategies")
    headers = [gettext(lang, "Theme"), gettext(lang, "Adopted strategies"),
               gettext(lang, "Share")]
    if not adopted:
        return Chart(chart_id, title, title, "", headers, [])
    counts: dict[str, int] = defaultdict(int)
    for s in adopted:
        for theme in s.themes:
            counts[theme] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], collation_key(t.label("theme",
                                                                                kv[0]))))
    rows = [[t.label("theme", k), n, _percent(lang, 100 * n / len(adopted))] for k, n in ranked]
    links = [link + k for k, _ in ranked]
    summary = gettext(lang, "Share of the adopted strategies that name each theme") + \
        f" (n = {len(adopted)}): " + ", ".join(f"{r[0]} {r[2]}" for r in rows[:5]) + " …"

    width, row_h, top, label_w = 440, 20, 8, 190
    bar_w = width - label_w - 44
    height = top + row_h * len(rows) + 8
    body = []
    for i, (key, n) in enumerate(ranked):
        y = top + row_h * i
        share = n / len(adopted)
        label = t.label("theme", key)
        short = label if len(label) <= 28 else label[:27] + "…"
        # no links inside the picture (an image holds no controls); the table has them
        body.append(f'<text x="{label_w - 6}" y="{y + 14}" '
                    f'class="label" text-anchor="end">{_e(short)}<title>{_e(label)}</title>'
                    f'</text>'
                    f'<rect x="{label_w}" y="{y + 3}" width="{_n(max(1.0, bar_w * share))}" '
                    f'height="{row_h - 6}" class="bar"><title>{_e(label)}: {n} / '
                    f'{len(adopted)}</title></rect>'
                    f'<text x="{_n(label_w + bar_w * share + 4)}" y="{y + 14}" '
                    f'class="value">{_e(_percent(lang, 100 * share))}</text>')
    svg = _svg(chart_id, width, height, title, summary, body)
    notes = [gettext(lang, "Adopted: by a decision, or stated as adopted or in force.")
             + f" n = {len(adopted)}"]
    return Chart(chart_id, title, summary, svg, headers, rows, links, notes,
                 numeric=[False, True, True])


# --- the structure of one strategy ------------------------------------------------------------

_GOALS = (DS + "hasGoal", DS + "hasObjective")
_MEASURES = (DS + "hasMeasure",)


def structure_chart(tree: Sequence[TreeNode], names: dict[str, str], lang: str,
                    chart_id: str = "structure") -> Chart:
    """Horizontal stacked bars, one per top-level element of a strategy: how many
    sub-elements, goals and objectives, and measures it holds (at any depth), and its themes.
    ``tree`` and ``names`` are what the strategy page already has
    (:func:`kg.views.strategy.strategy_tree`, labels of the themes)."""
    title = gettext(lang, "Structure of the strategy in numbers")
    headers = [gettext(lang, "Element"), gettext(lang, "Sub-elements"),
               gettext(lang, "Goals and objectives"), gettext(lang, "Measures"),
               gettext(lang, "Themes")]
    # strategy_tree puts the strategy's own goals first as a node without a label: not an element
    top = [n for n in tree if n.label or n.children]
    rows: list[list[Any]] = []
    parts: list[tuple[str, int, int, int]] = []
    links: list[str] = []
    for node in top:
        below = walk(node.children)
        goals = sum(1 for n in [node, *below] for p, _ in n.goals if p in _GOALS)
        measures = sum(1 for n in [node, *below] for p, _ in n.goals if p in _MEASURES)
        themes = sorted({th for n in [node, *below] for th in n.themes},
                        key=lambda th: collation_key(names.get(th, th)))
        label = (f"{node.designation}: " if node.designation else "") + node.label
        rows.append([label, len(below), goals, measures,
                     ", ".join(names.get(th, th.rsplit("/", 1)[-1]) for th in themes)])
        parts.append((node.label, len(below), goals, measures))
        links.append(node.iri)
    if not rows:
        return Chart(chart_id, title, title, "", headers, [])
    summary = gettext(lang, "One bar per top-level element: its sub-elements, goals, measures.")
    width, row_h, top_y, label_w = 440, 24, 26, 190
    bar_w = width - label_w - 32
    biggest = max(1, max(a + b + c for _, a, b, c in parts))
    height = top_y + row_h * len(parts) + 8
    kinds = [("s-sub", gettext(lang, "Sub-elements")),
             ("s-goal", gettext(lang, "Goals and objectives")),
             ("s-measure", gettext(lang, "Measures"))]
    body = _legend(kinds, 4, 14)
    for i, (label, *values) in enumerate(parts):
        y = top_y + row_h * i
        short = label if len(label) <= 28 else label[:27] + "…"
        body.append(f'<text x="{label_w - 6}" y="{y + 16}" class="label" text-anchor="end">'
                    f'{_e(short)}<title>{_e(label)}</title></text>')
        x = float(label_w)
        for (css, kind), value in zip(kinds, values, strict=True):
            if not value:
                continue
            w = bar_w * value / biggest
            body.append(f'<rect x="{_n(x)}" y="{y + 5}" width="{_n(w)}" height="{row_h - 8}" '
                        f'class="{css}"><title>{_e(label)} · {_e(kind)}: {value}</title></rect>')
            x += w
        total = sum(values)
        body.append(f'<text x="{_n(x + 4)}" y="{y + 16}" class="value">{total}</text>')
    svg = _svg(chart_id, width, height, title, summary, body)
    return Chart(chart_id, title, summary, svg, headers, rows, links,
                 numeric=[False, True, True, True, False])
