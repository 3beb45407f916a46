"""Build the FastAPI application over a loaded store."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.errors import install_error_handlers
from api.rendering import STATIC_DIR
from api.routes import meta, pages, resources, sparql, validation
from api.settings import Settings
from kg.project import Project
from kg.store import Store


def create_app(settings: Settings | None = None, store: Store | None = None,
               project: Project | None = None) -> FastAPI:
    """The service over ``store`` (loaded from ``project`` when not given)."""
    settings = settings or Settings.from_env()
    if store is None:
        store = Store.load(project or Project.locate())
    app = FastAPI(title="digistrat", version="0.1.0", docs_url="/-/api", redoc_url=None,
                  openapi_url="/-/openapi.json")
    app.state.settings = settings
    app.state.store = store
    install_error_handlers(app)
    app.mount("/-/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(meta.router)
    app.include_router(sparql.router)
    app.include_router(validation.router)
    app.include_router(pages.router)
    app.include_router(resources.router)  # last: it answers the dataset's IRI space
    return app
