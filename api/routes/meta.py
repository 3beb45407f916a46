"""System URLs under ``/-/``: health and settings."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from api.deps import SettingsDep, StoreDep

router = APIRouter()


@router.get("/-/health")
def health(store: StoreDep) -> dict[str, Any]:
    return {"ok": True, "graphs": len(store.graphs), "quads": len(store)}


@router.get("/-/settings.json")
def settings_json(settings: SettingsDep) -> dict[str, Any]:
    return asdict(settings)
