"""Build the FastAPI application over a loaded store, and own its worker pools.

The app's lifespan starts the services that run untrusted work (the query backend and the
validation pool, see :mod:`kg.workers`) and closes them when the app stops; nothing else
starts or closes them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from api.errors import install_error_handlers
from api.http import HttpHygiene
from api.rendering import STATIC_DIR
from api.routes import meta, pages, resources, search, sparql, tables, validation
from api.settings import Settings
from kg.endpoint import LocalEndpoint, QueryBackend, QueryPoolSettings
from kg.errors import KGError
from kg.project import Project
from kg.remote import RemoteEndpoint, RemoteStore
from kg.store import Store
from kg.submission import ValidationPool
from kg.workers import MemoryWatchdog, merge_identical_pages

log = logging.getLogger("digistrat")


def start_services(app: FastAPI) -> None:
    """Start the query backend and the validation pool the settings ask for."""
    state = app.state
    settings: Settings = state.settings
    store: Store | RemoteStore = state.store
    backend: QueryBackend
    store_path = str(store.path) if store.path else None
    if settings.memory_merge and not merge_identical_pages():  # before the zygotes fork
        log.info("memory_merge: this kernel cannot merge pages (Linux 6.4 or newer can)")
    remote = None
    if settings.sparql_endpoint:
        remote = RemoteEndpoint(settings.sparql_endpoint, settings.query_timeout_ms / 1000,
                                read_timeout_s=settings.store_read_timeout_ms / 1000)
        # every read goes to the remote store: pages, tables, reports, dumps, validation
        store = state.store = RemoteStore(remote, store.project)
    # The store's zygote first: the zygotes forked one after another share the pages the
    # server writes to afterwards (each later one would keep its own old copies of what
    # the server wrote in between); all before any thread starts (kg.store)
    store.start_zygote()
    if remote is not None:
        remote.start_checker(memory_mb=settings.query_worker_memory_mb)
        backend = remote
    else:
        backend = LocalEndpoint(store.ox, QueryPoolSettings(
            workers=settings.query_workers, overflow=settings.query_overflow_workers,
            queue_limit=settings.query_queue_limit,
            memory_mb=settings.query_worker_memory_mb,
            service_allowlist=settings.service_allowlist),
            store_path=store_path)
    state.query_backend = backend
    try:
        state.validation_pool = ValidationPool(
            store, workers=settings.validation_workers,
            queue_limit=settings.validation_queue_limit,
            memory_mb=settings.validation_worker_memory_mb, store_path=store_path)
    except KGError as err:  # a remote store out of reach: /validate says so (503)
        log.error("validation is unavailable: %s", err)
        state.validation_pool = None
    pools = state.validation_pool.pools() if state.validation_pool is not None else []
    state.memory_watchdog = MemoryWatchdog([*backend.pools(), *pools],
                                           settings.memory_budget_mb)
    state.search_index = search.build_index(state.store)  # kg/search.py


def stop_services(app: FastAPI) -> None:
    for name in ("search_index", "memory_watchdog", "query_backend", "validation_pool"):
        service = getattr(app.state, name, None)
        if service is not None:
            service.close()
            setattr(app.state, name, None)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    start_services(app)
    app.state.memory_watchdog.start()
    try:
        yield
    finally:
        stop_services(app)


def create_app(settings: Settings | None = None, store: Store | None = None,
               project: Project | None = None) -> FastAPI:
    """The service over ``store`` (loaded from ``project`` when not given)."""
    settings = settings or Settings.from_env()
    if store is None and not settings.sparql_endpoint:
        store = Store.load(project or Project.locate())
    if store is None:  # a remote store: no local data is loaded (see start_services)
        store = RemoteStore(RemoteEndpoint(settings.sparql_endpoint),
                            project or Project.locate())
    app = FastAPI(title="digistrat", version="0.1.0", docs_url="/-/api", redoc_url=None,
                  openapi_url="/-/openapi.json", lifespan=lifespan)
    app.state.settings = settings
    app.state.store = store
    install_error_handlers(app)
    app.router.redirect_slashes = False  # a redirect would name the Host header's host
    loaded = max((f.stat().st_mtime for f in store.project.all_files()), default=0.0)
    app.state.last_modified = loaded  # when the dataset's files last changed
    app.add_middleware(HttpHygiene, last_modified=loaded, router=app.router)
    app.mount("/-/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(meta.router)
    app.include_router(sparql.SparqlRouter(lambda: app.state.query_backend, settings,
                                           store=lambda: app.state.store))
    app.include_router(validation.router)
    app.include_router(pages.router)
    app.include_router(tables.router)
    app.include_router(search.router)
    app.include_router(resources.router)  # last: it answers the dataset's IRI space
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's description of the routes, with ``/sparql`` (a plain Starlette route)."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        schema["paths"]["/sparql"] = sparql.OPENAPI_PATH
        app.openapi_schema = schema
    return app.openapi_schema
