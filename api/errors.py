"""One JSON error shape for every error the service answers, and never a traceback.

``{"ok": false, "status": 400, "type": "query-syntax", "error": "a; b",
"errors": ["a", "b"], …context keys such as line, column}``
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("digistrat")


class ApiError(Exception):
    """An error to answer with the one JSON shape."""

    def __init__(self, status: int, type_: str, *messages: str, headers: dict[str, str]
                 | None = None, **context: Any) -> None:
        super().__init__("; ".join(messages))
        self.status = status
        self.type = type_
        self.messages = list(messages)
        self.headers = headers or {}
        self.context = context


def error_body(status: int, type_: str, messages: list[str], **context: Any) -> dict[str, Any]:
    return {"ok": False, "status": status, "type": type_, "error": "; ".join(messages),
            "errors": messages, **context}


def error_response(err: ApiError) -> Response:
    return JSONResponse(error_body(err.status, err.type, err.messages, **err.context),
                        status_code=err.status, headers=err.headers)


_TYPES = {400: "bad-request", 404: "not-found", 405: "method-not-allowed",
          406: "not-acceptable", 413: "too-large", 415: "unsupported-media-type"}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, err: ApiError) -> Response:
        return error_response(err)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, err: StarletteHTTPException) -> Response:
        message = err.detail if isinstance(err.detail, str) else "error"
        return error_response(ApiError(err.status_code, _TYPES.get(err.status_code, "error"),
                                       message, headers=dict(err.headers or {})))

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, err: RequestValidationError) -> Response:
        messages = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()]
        return error_response(ApiError(400, "bad-request", *messages))

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, err: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(ApiError(500, "internal", "internal error; it has been logged"))
