"""The ``digistrat`` console command: ``kg``'s command group plus ``serve``.

``kg`` knows nothing of the web; this module adds the one command that needs it, so that the
core's commands stay importable without FastAPI or uvicorn.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import click
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from api.settings import Settings, parse_setting
from kg.cli import (
    EXIT_VIOLATIONS,
    fail,
    load_store,
    main,
    print_text_report,
    project_at,
    quiet_option,
    root_option,
)
from kg.errors import KGError
from kg.validate import default_cache_dir, validate_data

__all__ = ["main"]


def _setting_options(command: Callable[..., None]) -> Callable[..., None]:
    """One ``--name`` option per service setting, typed and documented from the list."""
    for f in reversed(fields(Settings)):
        env = "DIGISTRAT_" + f.name.upper()
        kind: type = int if isinstance(f.default, int) else str
        command = click.option(
            "--" + f.name.replace("_", "-"), f.name, type=kind, default=None,
            help=f"{f.metadata['help']} [env {env}; default {f.default!r}]")(command)
    return command


@main.command()
@root_option
@quiet_option
@click.option("--store", "store_path", type=click.Path(file_okay=False), default=None,
              help="Keep the store on disk at this folder; reopened without reloading "
              "when the files are unchanged. Default: in memory.")
@_setting_options
def serve(root: str | None, quiet: bool, store_path: str | None, **overrides: object) -> None:
    """Serve the SPARQL endpoint, linked-data pages and validation service over HTTP.

    Refuses to start when data/ violates shapes/ (and prints the report). With
    --sparql-endpoint every read goes to that store (filled with `digistrat load --to`, which
    validates nothing itself: validate with `digistrat check` before loading); no local data
    is loaded, so several such instances can serve one store side by side.
    """
    for name, value in list(overrides.items()):
        if isinstance(value, str):
            try:
                overrides[name] = parse_setting(name, value)
            except ValueError as err:
                fail(str(err))
    try:
        settings = Settings.from_env(**overrides)
    except ValueError as err:
        fail(str(err))
    project = project_at(root)
    if settings.sparql_endpoint:
        _serve(create_app(settings, project=project), settings, quiet)
        return
    store = load_store(project, quiet, Path(store_path) if store_path else None)
    started = time.perf_counter()
    try:
        report = validate_data(store, cache_dir=default_cache_dir(), isolated=True)
    except KGError as err:
        fail(str(err))
    if report is not None and not report.conforms:
        print_text_report(report, "data/", infos=False)
        fail("data/ violates the shapes; not serving it", EXIT_VIOLATIONS)
    if not quiet:
        how = ("validated before, files unchanged" if report is None
               else f"validated {report.scope}" if report.scope else "validated")
        click.echo(f"data/ conforms to shapes/ ({how}, {time.perf_counter() - started:.2f} s)",
                   err=True)
    _serve(create_app(settings, store), settings, quiet)


def _serve(app: FastAPI, settings: Settings, quiet: bool) -> None:
    backend = (f"the store at {settings.sparql_endpoint}" if settings.sparql_endpoint
               else f"{settings.query_workers} query worker processes")
    click.echo(f"Serving on http://{settings.host}:{settings.port}/  "
               f"(SPARQL: /sparql on {backend} · validation: /validate)", err=True)
    uvicorn.run(app, host=settings.host, port=settings.port,
                log_level="warning" if quiet else "info", access_log=not quiet)
