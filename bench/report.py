"""Turn harness JSON results into the Markdown tables of docs/performance.md.

    .venv/bin/python bench/report.py compare bench/results/compare-100k.json
    .venv/bin/python bench/report.py runaway bench/results/runaway-100k.json
    .venv/bin/python bench/report.py memory bench/results/memory-1m.json
    .venv/bin/python bench/report.py startup bench/results/startup.json
    .venv/bin/python bench/report.py growth bench/results/growth-*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# Issue 15's targets (the first round's were 0.2× for trivial and 0.9× for heavy queries).
TRIVIAL_TARGET_OX = 0.5
HEAVY_TARGET_OX = 1.0
HEAVY_TARGET_RDFLIB = 50.0
MEMORY_TARGET_OX = 3.0  # the process tree's memory, PSS and summed RSS, against oxigraph's


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def compare(data: dict[str, Any]) -> str:
    cells = {(c["server"], c["query"], c["concurrency"]): c for c in data["cells"]}
    servers = list(data["servers"])
    queries = list(dict.fromkeys(c["query"] for c in data["cells"]))
    out = []
    manifest = data["manifest"]
    out.append(f"Data: {manifest['data_triples']:,} data triples, "
               f"{manifest['municipalities']} synthetic municipalities "
               f"(seed {manifest['seed']}).\n")
    head = "| query | kind | rows | conc | " + " | ".join(
        f"{s} req/s | {s} p50 ms | {s} p99 ms" for s in servers) + " |"
    out.append(head)
    out.append("|" + "---|" * (4 + 3 * len(servers)))
    for query in queries:
        for conc in sorted({c for (_, q, c) in cells if q == query and c is not None}):
            first = next(c for (s, q, cc), c in cells.items() if q == query and cc == conc)
            row = [query, first["kind"], fmt(first["rows"]), str(conc)]
            for server in servers:
                cell = cells.get((server, query, conc))
                if cell is None:
                    failed = cells.get((server, query, None))
                    note = f"HTTP {failed['status']}" if failed else "–"
                    row += [note, "–", "–"]
                else:
                    row += [fmt(cell["rps"]), fmt(cell["p50_ms"], 2), fmt(cell["p99_ms"], 2)]
            out.append("| " + " | ".join(row) + " |")
    if data.get("ratios"):
        out.append("\nRatios (digistrat req/s ÷ peer req/s) and targets "
                   f"(heavy: ≥ {HEAVY_TARGET_OX}× oxigraph and ≥ {HEAVY_TARGET_RDFLIB:g}× "
                   f"rdflib-endpoint; trivial: ≥ {TRIVIAL_TARGET_OX}× oxigraph):\n")
        out.append("| query | kind | conc | ÷ oxigraph | target met | ÷ rdflib-endpoint "
                   "| target met | same rows |")
        out.append("|---|---|---|---|---|---|---|---|")
        for r in data["ratios"]:
            ox_ratio, rd_ratio = r.get("vs_oxigraph"), r.get("vs_rdflib_endpoint")
            ox_target = HEAVY_TARGET_OX if r["kind"] == "heavy" else TRIVIAL_TARGET_OX
            ox_ok = "–" if ox_ratio is None else ("yes" if ox_ratio >= ox_target else "**no**")
            if r["kind"] == "heavy" and rd_ratio is not None:
                rd_ok = "yes" if rd_ratio >= HEAVY_TARGET_RDFLIB else "**no**"
            else:
                rd_ok = "(no target)"
            same = all(v for k, v in r.items() if k.startswith("rows_match"))
            out.append(f"| {r['query']} | {r['kind']} | {r['concurrency']} | "
                       f"{fmt(ox_ratio, 2)}× | {ox_ok} | {fmt(rd_ratio, 1)}× | {rd_ok} | "
                       f"{'yes' if same else '**no**'} |")
    out.append("\n| server | ready s | processes | after load: RSS tree MB | PSS tree MB | "
               "after runs: RSS tree MB | PSS tree MB |")
    out.append("|---|---|---|---|---|---|---|")
    settled = ["", "_settled"] if "settle_seconds" in data else [""]
    for name, info in data["servers"].items():
        for suffix in settled:
            load = info["rss_after_load" + suffix]
            runs = info.get("rss_after_runs" + suffix, {})
            label = name + (f" ({data['settle_seconds']:g} s later)" if suffix else "")
            out.append(f"| {label} | {info['ready_seconds']} | {load.get('processes', '–')} "
                       f"| {load['tree_mb']} | {load.get('tree_pss_mb', '–')} | "
                       f"{runs.get('tree_mb', '–')} | {runs.get('tree_pss_mb', '–')} |")
    ours, peer = data["servers"].get("digistrat"), data["servers"].get("oxigraph")
    if ours and peer:
        out.append(f"\nMemory against `oxigraph serve` (target ≤ {MEMORY_TARGET_OX:g}×):")
        for when in (f"rss_after_{w}{suffix}" for suffix in settled for w in ("load", "runs")):
            for key in ("tree_mb", "tree_pss_mb"):
                a, b = ours.get(when, {}).get(key), peer.get(when, {}).get(key)
                if a and b:
                    ok = "yes" if a / b <= MEMORY_TARGET_OX else "**no**"
                    out.append(f"- {when.replace('rss_', '').replace('_', ' ')}, "
                               f"{'PSS' if 'pss' in key else 'summed RSS'}: "
                               f"{a / b:.1f}× ({ok})")
    return "\n".join(out)


def runaway(data: dict[str, Any]) -> str:
    out = [f"Query time limit: {data['timeout_ms']} ms.\n",
           "| runaways | runaway answers (status, ms) | cheap p99 before ms | cheap p50 / p99 "
           "during ms | cheap requests during | cheap p99 after ms | target p99 ≤ 100 ms |",
           "|---|---|---|---|---|---|---|"]
    for r in data["results"]:
        during = r["cheap_during"]
        outcomes = ", ".join(f"{o['status']} / {o['ms']:.0f}" for o in r["runaway_outcomes"])
        ok = "yes" if during["p99_ms"] <= 100 else "**no**"
        out.append(f"| {r['runaways']} | {outcomes} | {r['cheap_before']['p99_ms']} | "
                   f"{during['p50_ms']} / {during['p99_ms']} | {during['requests']} "
                   f"(errors {during['errors']}) | {r['cheap_after']['p99_ms']} | {ok} |")
    return "\n".join(out)


def memory(data: dict[str, Any]) -> str:
    manifest = data["manifest"]
    out = [f"Data: {manifest['data_triples']:,} data triples.\n",
           "| server | ready s | RSS main process MB | RSS process tree MB | PSS tree MB | "
           "processes | "
           "after 2 queries, tree MB | peak tree MB while starting |",
           "|---|---|---|---|---|---|---|---|"]
    for name, info in data["servers"].items():
        load = info["rss_after_load"]
        out.append(f"| {name} | {info['ready_seconds']} | {load['main_mb']} | {load['tree_mb']} "
                   f"| {load.get('tree_pss_mb', '–')} "
                   f"| {load['processes']} | {info['rss_after_queries']['tree_mb']} | "
                   f"{info.get('peak_tree_mb_before_ready', '–')} |")
    return "\n".join(out)


def startup(data: dict[str, Any]) -> str:
    out = ["| run | seconds to first 200 on /-/health | /sparql ASK status | RSS tree MB |",
           "|---|---|---|---|"]
    for number, r in enumerate(data["runs"], 1):
        out.append(f"| {number} | {r['seconds_to_health_200']} | {r['sparql_ask_status']} | "
                   f"{r['rss']['tree_mb']} |")
    out.append(f"\nMedian {data['median_seconds']} s, max {data['max_seconds']} s.")
    return "\n".join(out)


def growth(rows: list[dict[str, Any]]) -> str:
    """Rows of bench/growth.py side by side, smallest first."""
    out = ["| data triples | backend | start s | after load: RSS tree MB | PSS tree MB "
           "| after runs: RSS tree MB | PSS tree MB | strategy page p50 ms | home page p50 ms "
           "| search p50 ms | heavy query req/s (c=8) | trivial query req/s (c=8) |",
           "|" + "---|" * 12]
    for r in sorted(rows, key=lambda r: (r["label"], r["data_triples"])):
        load, runs = r["memory_after_load"], r["memory_after_runs"]
        out.append(" | ".join([
            f"| {r['data_triples']:,}", r["label"] + (
                f" (filled in {r['load_s']} s; its own RSS {r['store_rss_mb']} MB)"
                if "load_s" in r else ""),
            fmt(r["ready_s"]) + ("" if r.get("first_start", True) else " (restart)"),
            fmt(load["tree_mb"]),
            fmt(load["tree_pss_mb"]), fmt(runs["tree_mb"]), fmt(runs["tree_pss_mb"]),
            _page(r["strategy_page"]), _page(r["home_page"]) + (
                f" (first view {r['home_page_first']['ms'] / 1000:.1f} s)"
                if "home_page_first" in r else ""),
            _page(r["search"]), _rps(r["group_by_theme"]),
            _rps(r["lookup_iri"])]) + " |")
    out.append("\nPages at concurrency 1, queries at 8; req/s counts answers with status 200, "
               "and a cell with other answers names them.")
    return "\n".join(out)


def _page(cell: dict[str, Any]) -> str:
    other = {k: v for k, v in cell.get("statuses", {}).items() if k != "200"}
    return fmt(cell["p50_ms"], 2) + (" (" + ", ".join(f"{v}× HTTP {k}" for k, v in other.items())
                                     + f" of {cell['requests']})" if other else "")


def _rps(cell: dict[str, Any]) -> str:
    other = {k: v for k, v in cell.get("statuses", {}).items() if k != "200"}
    return fmt(cell["rps"]) + (" (" + ", ".join(f"{v}× HTTP {k}" for k, v in other.items())
                               + f" of {cell['requests']})" if other else "")


def main(argv: list[str]) -> int:
    kind, paths = argv[1], [Path(p) for p in argv[2:]]
    if kind == "growth":
        print(growth([json.loads(p.read_text()) for p in paths]))
        return 0
    data = json.loads(paths[0].read_text())
    print({"compare": compare, "runaway": runaway, "memory": memory,
           "startup": startup}[kind](data))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
