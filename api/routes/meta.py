"""System URLs under ``/-/``: health and settings."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.deps import SettingsDep, StoreDep

router = APIRouter()


@router.get("/-/health")
def health(request: Request, store: StoreDep) -> Response:
    """The true state of the service: 200 when every pool can run work, else 503."""
    services = {}
    for name in ("query_backend", "validation_pool"):
        service = getattr(request.app.state, name, None)
        services[name] = service.health() if service is not None else {"ok": False}
    ok = all(s.get("ok") for s in services.values())
    watchdog = getattr(request.app.state, "memory_watchdog", None)
    return JSONResponse({"ok": ok, "graphs": len(store.graphs), "quads": len(store),
                         "queries": services["query_backend"],
                         "validation": services["validation_pool"],
                         "memory": watchdog.health() if watchdog is not None else None},
                        status_code=200 if ok else 503)


@router.get("/-/settings.json")
def settings_json(settings: SettingsDep) -> dict[str, Any]:
    return asdict(settings)
