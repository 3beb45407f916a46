"""The ``digistrat`` command group: a thin adapter over ``kg``.

It knows nothing of the web: the ``serve`` command is added to this group by
:mod:`api.cli`, which is what the console script runs.
"""

from __future__ import annotations

import contextlib
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
from kg.submission import SubmissionError, file_type_error, sniff_file_type, validate_files
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
    sys.exit(EXIT_OK if run_check(project_at(root), quiet, lang, infos) else EXIT_VIOLATIONS)


def run_check(project: Project, quiet: bool, lang: str = "en", infos: bool = False,
              warnings: bool = True) -> bool:
    """Load everything, validate data/ and run every query; True when all is well."""
    store = load_store(project, quiet)
    if not quiet:
        click.echo("Validating data/ against shapes/ …", err=True)
    try:
        report = validate_data(store, lang=lang)
    except KGError as err:  # shapes pyshacl cannot use
        fail(str(err))
    assert report is not None  # no cache: always validated
    print_text_report(report, "data/", infos, warnings)
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
        if warnings or not rows:
            click.echo(f"query {query.name}: {rows} rows  {mark}")
    return not failed


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
    parts = [read_part(name, lang) for name in files]
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


def read_part(name: str, lang: str = "en") -> tuple[str, str, bytes]:
    """A file to validate: (name, syntax, bytes); the syntax from the suffix (RDF, or csv
    and xlsx for the spreadsheet template). A file that is no RDF (an image, a PDF, an
    office document …) is named as such, with what to do instead."""
    path = Path(name)
    if not path.is_file():
        fail(f"{name}: no such file")
    try:
        data = path.read_bytes()
    except OSError as err:
        fail(f"{name}: {err.strerror}")
    kind = sniff_file_type(data)
    if kind is not None and kind.usable:
        return name, "xlsx", data
    if kind is not None:
        err = file_type_error(kind, lang)
        fail(f"{name}: {err.message} {err.context['advice']}")
    if path.suffix.lower() in (".csv", ".tsv"):
        return name, "csv", data
    try:
        return name, syntax_for_path(path).name, data
    except KGError as err:
        fail(str(err))


def print_text_report(report: ValidationReport, what: str, infos: bool = True,
                      warnings: bool = True) -> None:
    counts = report.counts()
    verdict = "conforms" if report.conforms else "does not conform"
    click.echo(f"{what} {verdict}: {counts['Violation']} violations, {counts['Warning']} "
               f"warnings, {counts['Info']} infos")
    colours = {"Violation": "red", "Warning": "yellow", "Info": "blue"}
    for result in report.results:
        if (result.severity == "Info" and not infos) or (
                result.severity == "Warning" and not warnings):
            continue
        line = getattr(result, "line", None)
        where = f"  (line {line}" + (f", column {result.column})"  # type: ignore[attr-defined]
                                     if getattr(result, "column", None) else ")") if line else ""
        click.secho(f"{result.severity}: {result.focus_node}{where}",
                    fg=colours[result.severity])
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
              "http://127.0.0.1:7878/store (oxigraph serve), http://host:3030/ds/data "
              "(Fuseki) or http://host:8890/sparql-graph-crud-auth (Virtuoso).")
@click.option("--timeout-s", type=float, default=60.0, show_default=True,
              help="Time limit of each PUT request, in seconds.")
@click.option("--user", envvar="DIGISTRAT_STORE_USER", metavar="NAME",
              help="Log in to the store as NAME when it asks (HTTP Digest or Basic); the "
              "password is read from the environment variable DIGISTRAT_STORE_PASSWORD. "
              "Env: DIGISTRAT_STORE_USER.")
def load_command(root: str | None, quiet: bool, target: str, timeout_s: float,
                 user: str | None) -> None:
    """Push the dataset into a SPARQL store: one HTTP PUT per named graph (SPARQL 1.1
    Graph Store HTTP Protocol), replacing each graph's content there.

    Then serve it with ``digistrat serve --sparql-endpoint URL`` (the store's query URL).
    A store that needs a login (Virtuoso) gets the user from --user or
    DIGISTRAT_STORE_USER and the password from DIGISTRAT_STORE_PASSWORD (never from the
    command line, where other users of the machine could read it); see docs/deploy.md.
    """
    import os

    from kg.remote import push_dataset

    password = os.environ.get("DIGISTRAT_STORE_PASSWORD")
    if user and not password:
        fail(f"--user {user}: set the password in DIGISTRAT_STORE_PASSWORD")
    project = project_at(root)
    store = load_store(project, quiet)
    try:
        count = push_dataset(store, target, progress=progress_printer(quiet),
                             timeout_s=timeout_s, user=user or None, password=password)
    except KGError as err:
        fail(str(err))
    click.echo(f"Wrote {count} named graphs ({len(store):,} triples) and their union to "
               f"{target}")


# --- import ------------------------------------------------------------------------------


@main.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False))
@root_option
@quiet_option
@click.option("--lang", type=click.Choice(["en", "de"]), default="en", show_default=True,
              help="Language of the messages.")
@click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")
def import_command(file: str, root: str | None, quiet: bool, lang: str, dry_run: bool) -> None:
    """Put a conforming submission FILE (Turtle, JSON-LD, … or a spreadsheet of the
    template) into data/: the file of its municipality is extended (or created), then
    ``check`` runs; if it fails, data/ is restored.

    The submission is validated first, in the context of the graph (as ``validate`` does);
    it must conform. Its resources must be new to the graph (a source the graph already
    describes in the same words is left out). The data file is written to a temporary file
    and moved into place, so data/ is never half-written. Exit 0 when imported, 1 when the
    submission or the check fails, 2 when the file cannot be read or its resources clash.
    """
    import datetime as dt

    from kg.intake import ImportConflictError, IntakeError, plan_import

    project = project_at(root)
    part = read_part(file, lang)
    store = load_store(project, quiet=True)
    try:
        result = validate_files(store, [part], lang=lang, return_data=True)
    except SubmissionError as err:
        fail(err.located())
    except KGError as err:
        fail(str(err))
    if not result.report.conforms:
        print_text_report(result.report, file)
        click.secho("not imported: the submission does not conform; nothing was written",
                    fg="red", err=True)
        sys.exit(EXIT_VIOLATIONS)
    assert result.data is not None
    try:
        plan = plan_import(store, result.data, Path(file).name, dt.date.today().isoformat())
    except ImportConflictError as err:
        fail(f"not imported: {err}")
    except IntakeError as err:
        fail(f"not imported: {err.localized(lang)}")
    relative = project.relative(plan.target)
    click.echo(f"{relative}: {'created' if plan.created else 'extended'}, "
               f"+{plan.triples} triples, {len(plan.added)} new resources")
    for iri in plan.added:
        click.echo(f"  + {iri}")
    for iri in plan.kept:
        click.echo(f"  = {iri} (already in the graph, left as it is)")
    if dry_run:
        click.echo("dry run: nothing written")
        return
    write_atomically(plan.target, plan.text)
    if not quiet:
        click.echo("Running check …", err=True)
    if not run_check(project, quiet=True, lang=lang, warnings=False):
        if plan.original is None:
            plan.target.unlink()
        else:
            write_atomically(plan.target, plan.original)
        click.secho(f"check failed: {relative} restored; nothing imported", fg="red", err=True)
        sys.exit(EXIT_VIOLATIONS)
    old = 0 if plan.original is None else plan.original.count("\n")
    click.echo(f"imported: {relative} now has {plan.text.count(chr(10))} lines "
               f"(+{plan.text.count(chr(10)) - old}); check passed")


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and move it into place."""
    import os
    import tempfile

    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        else:
            os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
