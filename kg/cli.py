"""The ``digistrat`` command group: a thin adapter over ``kg``.

It knows nothing of the web: the ``serve`` command is added to this group by
:mod:`api.cli`, which is what the console script runs.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import click
import pyoxigraph as ox

from kg.coverage import coverage
from kg.errors import KGError, QueryError
from kg.export import export as export_dumps
from kg.formats import RESULT_FORMATS, SYNTAXES, named, syntax_for_path, syntax_named
from kg.namespaces import PREFIXES
from kg.project import Project
from kg.queries import load_queries
from kg.sparql import run_query, serialize_solutions, serialize_triples
from kg.stats import instances_per_class, triples_per_graph
from kg.store import Store
from kg.submission import SubmissionError, validate_files
from kg.validate import ValidationReport, validate_data

EXIT_OK, EXIT_VIOLATIONS, EXIT_UNUSABLE = 0, 1, 2


def fail(message: str, code: int = EXIT_UNUSABLE) -> NoReturn:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


def progress_printer(quiet: bool) -> Callable[[str], None] | None:
    if quiet:
        return None
    return lambda line: click.echo(line, err=True)


def project_at(root: str | None) -> Project:
    try:
        return Project.locate(root)
    except FileNotFoundError as err:
        fail(str(err))


def load_store(project: Project, quiet: bool, store_path: Path | None = None) -> Store:
    started = time.perf_counter()
    try:
        store = Store.load(project, store_path, progress=progress_printer(quiet))
    except KGError as err:
        fail(str(err))
    if not quiet:
        click.echo(f"Loaded {len(store.graphs)} files ({len(store):,} quads) in "
                   f"{time.perf_counter() - started:.2f} s", err=True)
    return store


root_option = click.option("--root", type=click.Path(file_okay=False, exists=True),
                           help="The project folder (holding ontology/, shapes/, data/). "
                           "Default: $DIGISTRAT_ROOT, the working directory, or this checkout.")
quiet_option = click.option("-q", "--quiet", is_flag=True, help="Print no progress lines.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="digistrat")
def main() -> None:
    """digistrat: a knowledge graph of municipal digital strategies.

    Load, validate, query and export the ontology, shapes and data of a project, or serve
    them over HTTP (SPARQL endpoint, linked-data pages, validation service).
    """


# --- check -------------------------------------------------------------------------------


@main.command()
@root_option
@quiet_option
@click.option("--lang", type=click.Choice(["en", "de"]), default="en", show_default=True,
              help="Language of the validation messages.")
@click.option("--infos", is_flag=True, help="List the results of severity Info too.")
def check(root: str | None, quiet: bool, lang: str, infos: bool) -> None:
    """Load everything, validate data/ against shapes/ and run every query in queries/.

    Exit 0 when all is well, 1 on any shape violation or failing query, 2 when a file cannot
    be read.
    """
    project = project_at(root)
    store = load_store(project, quiet)
    if not quiet:
        click.echo("Validating data/ against shapes/ …", err=True)
    report = validate_data(store, lang=lang)
    assert report is not None  # no cache: always validated
    print_text_report(report, "data/", infos)
    failed = not report.conforms
    try:
        queries = load_queries(project.queries_dir)
    except ValueError as err:
        fail(str(err))
    for query in queries:
        try:
            outcome = run_query(store, query.text)
        except QueryError as err:
            click.secho(f"query {query.name}: {err}", fg="red")
            failed = True
            continue
        result = outcome.result
        rows = int(bool(result)) if isinstance(result, ox.QueryBoolean) else len(list(result))
        mark = "ok" if rows else "NO ROWS"
        failed = failed or not rows
        click.echo(f"query {query.name}: {rows} rows  {mark}")
    sys.exit(EXIT_VIOLATIONS if failed else EXIT_OK)


# --- validate ----------------------------------------------------------------------------


@main.command(name="validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@root_option
@click.option("--format", "output", type=click.Choice(["text", "json", "turtle"]),
              default="text", show_default=True, help="How to print the report.")
@click.option("--lang", type=click.Choice(["en", "de"]), default="en", show_default=True,
              help="Language of the messages.")
@click.option("--without-graph", is_flag=True,
              help="Validate the files alone, without the project's data as context.")
def validate_command(files: tuple[str, ...], root: str | None, output: str, lang: str,
                     without_graph: bool) -> None:
    """Validate RDF FILES against the shapes, in the context of the graph.

    The files may reference municipalities, bodies and concepts already in the graph. Exit 0
    when they conform, 1 on violations (warnings do not count), 2 when a file cannot be read.
    """
    project = project_at(root)
    parts: list[tuple[str, str, bytes]] = []
    for name in files:
        path = Path(name)
        if not path.is_file():
            fail(f"{name}: no such file")
        try:
            parts.append((name, syntax_for_path(path).name, path.read_bytes()))
        except (KGError, OSError) as err:
            fail(str(err))
    store = load_store(project, quiet=True)
    try:  # parsed and validated in a confined process, with the service's code
        report = validate_files(store, parts, lang=lang, with_data=not without_graph).report
    except SubmissionError as err:
        fail(err.located())
    except KGError as err:
        fail(str(err))
    if output == "json":
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    elif output == "turtle":
        click.echo(report.graph.serialize(format="turtle"))
    else:
        print_text_report(report, ", ".join(files))
    sys.exit(EXIT_OK if report.conforms else EXIT_VIOLATIONS)


def print_text_report(report: ValidationReport, what: str, infos: bool = True) -> None:
    counts = report.counts()
    verdict = "conforms" if report.conforms else "does not conform"
    click.echo(f"{what} {verdict}: {counts['Violation']} violations, {counts['Warning']} "
               f"warnings, {counts['Info']} infos")
    colours = {"Violation": "red", "Warning": "yellow", "Info": "blue"}
    for result in report.results:
        if result.severity == "Info" and not infos:
            continue
        click.secho(f"{result.severity}: {result.focus_node}", fg=colours[result.severity])
        if result.path:
            click.echo(f"  path:    {result.path}")
        if result.value:
            click.echo(f"  value:   {result.value}")
        click.echo(f"  message: {result.message}")
        click.echo(f"  shape:   {result.source_shape}")


# --- query -------------------------------------------------------------------------------


@main.command()
@click.argument("query")
@root_option
@click.option("--format", "output", default=None,
              help="Result format: table, "
              + ", ".join(f.name for f in RESULT_FORMATS)
              + " for SELECT/ASK (default: table, for people); "
              + ", ".join(f.name for f in SYNTAXES)
              + " for CONSTRUCT/DESCRIBE (default turtle).")
def query(query: str, root: str | None, output: str | None) -> None:
    """Run a SPARQL QUERY (a .rq file, a name from queries/, or the query text)."""
    project = project_at(root)
    text = query
    path = Path(query)
    saved = project.queries_dir / f"{query}.rq"
    if query.endswith(".rq") or path.is_file():
        if not path.is_file():
            fail(f"{query}: no such file")
        text = path.read_text(encoding="utf-8")
    elif saved.is_file():
        text = saved.read_text(encoding="utf-8")
    store = load_store(project, quiet=True)
    try:
        outcome = run_query(store, text)
    except QueryError as err:
        fail(str(err))
    if outcome.form in ("select", "ask"):
        fmt = output or "table"
        if fmt == "table":
            click.echo(_table(outcome.result))  # type: ignore[arg-type]
            return
        try:
            chosen = named(fmt, "results")
        except KGError:
            fail(f"--format {fmt}: SELECT and ASK results come as table, "
                 f"{', '.join(f.name for f in RESULT_FORMATS)}")
        click.echo(serialize_solutions(outcome, chosen.name).decode("utf-8"), nl=False)
        return
    try:
        syntax = syntax_named(output or "turtle")
    except KGError as err:
        fail(str(err))
    click.echo(serialize_triples(outcome, syntax.ox_format).decode("utf-8"), nl=False)


def _table(result: ox.QuerySolutions | ox.QueryBoolean, width: int = 48) -> str:
    """Solutions as an aligned text table: IRIs with the project prefixes, literals bare."""
    if isinstance(result, ox.QueryBoolean):
        return "yes" if bool(result) else "no"
    names = [v.value for v in result.variables]
    prefixes = sorted(PREFIXES.items(), key=lambda item: -len(item[1]))

    def show(term: object) -> str:
        if term is None:
            return ""
        if isinstance(term, ox.NamedNode):
            text = next((f"{p}:{term.value[len(iri):]}" for p, iri in prefixes
                         if term.value.startswith(iri)), term.value)
        else:
            text = str(getattr(term, "value", term))
        text = " ".join(text.split())
        return text if len(text) <= width else text[:width - 1] + "…"

    rows = [[show(solution[name]) for name in names] for solution in result]
    widths = [max([len(name), *(len(row[i]) for row in rows)]) for i, name in enumerate(names)]
    lines = ["  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.append(f"({len(rows)} rows)")
    return "\n".join(line.rstrip() for line in lines)


# --- export ------------------------------------------------------------------------------


@main.command()
@click.argument("folder", type=click.Path(file_okay=False))
@root_option
@quiet_option
@click.option("--gzip", "compress", is_flag=True, help="Compress each dump with gzip.")
def export(folder: str, root: str | None, quiet: bool, compress: bool) -> None:
    """Write dumps of the whole dataset into FOLDER (TriG, N-Quads, Turtle, JSON-LD)."""
    project = project_at(root)
    store = load_store(project, quiet)
    for path in export_dumps(store, Path(folder), compress=compress):
        click.echo(f"wrote {path} ({path.stat().st_size:,} bytes)")


# --- stats -------------------------------------------------------------------------------


@main.command()
@root_option
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def stats(root: str | None, output: str) -> None:
    """Triples per graph, instances per class, coverage by country and missing facts."""
    project = project_at(root)
    store = load_store(project, quiet=True)
    graphs = triples_per_graph(store)
    classes = instances_per_class(store)
    report = coverage(store)
    if output == "json":
        click.echo(json.dumps({
            "graphs": [{"graph": g, "file": f, "triples": n} for g, f, n in graphs],
            "classes": [{"class": c, "instances": n} for c, n in classes],
            "countries": [c.__dict__ for c in report.countries],
            "missing": [m.__dict__ for m in report.missing],
        }, indent=2, ensure_ascii=False))
        return
    click.echo("Triples per graph")
    for _, file, count in graphs:
        click.echo(f"  {count:>7,}  {file}")
    click.echo(f"  {sum(n for _, _, n in graphs):>7,}  in all")
    click.echo("Instances per class (data/)")
    nm = store.layer_graph("ontology").namespace_manager
    for cls, count in classes:
        click.echo(f"  {count:>7,}  {nm.normalizeUri(cls)}")
    click.echo("Coverage by country")
    click.echo(f"  {'country':<12} {'municip.':>8} {'strategies':>10} {'elements':>8} "
               f"{'statements':>10} {'sourced':>8}")
    for c in report.countries:
        click.echo(f"  {c.country:<12} {c.municipalities:>8} {c.strategies:>10} "
                   f"{c.elements:>8} {c.statements:>10} {c.sourced_statements:>8}")
    click.echo(f"Known missing facts ({len(report.missing)})")
    for m in report.missing:
        click.echo(f"  {m.label}: {m.what}  <{m.resource}>")


# --- load --------------------------------------------------------------------------------


@main.command(name="load")
@root_option
@quiet_option
@click.option("--to", "target", required=True, metavar="URL",
              help="Graph Store Protocol endpoint of the target store, e.g. "
              "http://127.0.0.1:7878/store (oxigraph serve) or http://host:3030/ds/data "
              "(Fuseki).")
@click.option("--timeout-s", type=float, default=60.0, show_default=True,
              help="Time limit of each PUT request, in seconds.")
def load_command(root: str | None, quiet: bool, target: str, timeout_s: float) -> None:
    """Push the dataset into a SPARQL store: one HTTP PUT per named graph (SPARQL 1.1
    Graph Store HTTP Protocol), replacing each graph's content there.

    Then serve it with ``digistrat serve --sparql-endpoint URL`` (the store's query URL).
    """
    from kg.remote import push_dataset

    project = project_at(root)
    store = load_store(project, quiet)
    try:
        count = push_dataset(store, target, progress=progress_printer(quiet), timeout_s=timeout_s)
    except KGError as err:
        fail(str(err))
    click.echo(f"Wrote {count} named graphs ({len(store):,} triples) to {target}")
