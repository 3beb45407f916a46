"""One error path for the whole service: a table from each error to its HTTP answer, and one
renderer that answers JSON to machines and an HTML page (in the reader's language) to
browsers, for every path, unknown ones included. Never a traceback.

The JSON shape: ``{"ok": false, "status": 400, "type": "query-syntax", "error": "a; b",
"errors": ["a", "b"], …context keys such as line, column, timeout_ms}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from kg.errors import (
    KGError,
    QueryError,
    QueryRejectedError,
    QueryServiceRefusedError,
    QuerySyntaxError,
    QueryTimeoutError,
    QueryTooComplexError,
    UnsupportedFormatError,
)
from kg.remote import BackendError
from kg.sparql import NotAcceptableError
from kg.submission import (
    ShapesError,
    SubmissionError,
    ValidationBusyError,
    ValidationTimeoutError,
)
from kg.workers import PoolBusyError, PoolClosedError

log = logging.getLogger("digistrat")


class ApiError(Exception):
    """An error to answer with the one shape."""

    def __init__(self, status: int, type_: str, *messages: str, headers: dict[str, str]
                 | None = None, **context: Any) -> None:
        super().__init__("; ".join(messages))
        self.status = status
        self.type = type_
        self.messages = list(messages)
        self.headers = headers or {}
        self.context = context


@dataclass(frozen=True)
class Answer:
    """How one kind of error is answered."""

    status: int
    type: str
    retry_after_s: int | None = None
    context: Callable[[Any], dict[str, Any]] = lambda err: {}
    logged: bool = False  # a fault of the service, not of the request


_SUBMISSION_STATUS = {"too-many-triples": 413}

#: From each error of ``kg`` to its answer; the most specific class that matches wins.
ERRORS: dict[type[Exception], Answer] = {
    QuerySyntaxError: Answer(400, "query-syntax",
                             context=lambda e: {"line": e.line, "column": e.column}),
    QueryTooComplexError: Answer(400, "query-too-complex"),
    QueryServiceRefusedError: Answer(403, "service-refused",
                                     context=lambda e: {"endpoints": e.endpoints}),
    QueryRejectedError: Answer(403, "query-refused"),
    QueryTimeoutError: Answer(503, "query-timeout",
                              context=lambda e: {"timeout_ms": e.timeout_ms}),
    NotAcceptableError: Answer(406, "not-acceptable"),
    PoolBusyError: Answer(503, "busy", retry_after_s=1),
    PoolClosedError: Answer(503, "unavailable"),
    BackendError: Answer(502, "backend-error"),
    SubmissionError: Answer(400, "submission", context=lambda e: dict(e.context)),
    ValidationTimeoutError: Answer(503, "validation-timeout",
                                   context=lambda e: {"timeout_ms": e.timeout_ms}),
    ValidationBusyError: Answer(503, "busy", retry_after_s=5),
    UnsupportedFormatError: Answer(415, "unsupported-media-type"),
    ShapesError: Answer(500, "internal", logged=True),
    QueryError: Answer(500, "query-failed", logged=True),
    KGError: Answer(500, "internal", logged=True),
}
_TYPES = {400: "bad-request", 404: "not-found", 405: "method-not-allowed",
          406: "not-acceptable", 413: "too-large", 415: "unsupported-media-type"}


def api_error(err: Exception) -> ApiError:
    """The answer to ``err`` (a ``kg`` error, or anything else: a 500, logged)."""
    if isinstance(err, ApiError):
        return err
    answer = next((ERRORS[cls] for cls in type(err).__mro__ if cls in ERRORS), None)
    if answer is None or answer.logged:
        log.error("unexpected error: %s: %s", type(err).__name__, err, exc_info=err)
        return ApiError(500, "internal", "internal error; it has been logged")
    status, type_ = answer.status, answer.type
    if isinstance(err, SubmissionError):
        status, type_ = _SUBMISSION_STATUS.get(err.kind, 400), err.kind
    if isinstance(err, QueryRejectedError) and "Update" in str(err) \
            and not isinstance(err, QueryServiceRefusedError):
        type_ = "update-refused"
    context = {k: v for k, v in answer.context(err).items() if v is not None}
    headers = {"Retry-After": str(answer.retry_after_s)} if answer.retry_after_s else {}
    message = err.message if isinstance(err, SubmissionError) else str(err)
    return ApiError(status, type_, message, headers=headers, **context)


def error_body(status: int, type_: str, messages: list[str], **context: Any) -> dict[str, Any]:
    return {"ok": False, "status": status, "type": type_, "error": "; ".join(messages),
            "errors": messages, **context}


def wants_html(request: Request) -> bool:
    """A browser (HTML preferred over JSON by its Accept header) gets an error page."""
    from api.negotiation import negotiate

    accept = request.headers.get("accept")
    return negotiate(accept, ["application/json", "text/html"]) == "text/html"


def error_response(err: ApiError, request: Request | None = None) -> Response:
    if request is not None and wants_html(request) and hasattr(request.app.state, "settings"):
        from api.rendering import render

        return render(request, "error.html", {"error": err, "status": err.status},
                      status=err.status, headers=err.headers)
    return JSONResponse(error_body(err.status, err.type, err.messages, **err.context),
                        status_code=err.status, headers=err.headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, err: ApiError) -> Response:
        return error_response(err, request)

    @app.exception_handler(KGError)
    async def on_kg_error(request: Request, err: KGError) -> Response:
        return error_response(api_error(err), request)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, err: StarletteHTTPException) -> Response:
        message = err.detail if isinstance(err.detail, str) else "error"
        if err.status_code == 404:
            message = f"nothing is served at {request.url.path}"
        return error_response(ApiError(err.status_code, _TYPES.get(err.status_code, "error"),
                                       message, headers=dict(err.headers or {})), request)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, err: RequestValidationError) -> Response:
        messages = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()]
        return error_response(ApiError(400, "bad-request", *messages), request)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, err: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(ApiError(500, "internal", "internal error; it has been logged"),
                              request)
