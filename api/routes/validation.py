"""The validation service: ``POST /validate`` (API and form) and ``GET /validate`` (page).

A submission is parsed here (bounded in bytes and triples), then validated by
``kg.submission.validate_submission`` — the engine the CLI uses too — with pyshacl running
in a worker process that is killed at ``validation_timeout_ms``. Nothing blocking runs on
the event loop.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser

from api.bodies import read_bounded, too_large
from api.deps import SettingsDep, StoreDep
from api.errors import ApiError, api_error
from api.negotiation import negotiate
from api.rendering import Language, render, resolve_language
from api.settings import Settings
from kg.errors import KGError, UnsupportedFormatError
from kg.formats import RdfSyntax, syntax_for_media_type, syntax_for_path, syntax_named
from kg.namespaces import DSH
from kg.submission import (
    DANGLING_SHAPE,
    SubmissionResult,
    ValidationPool,
)
from kg.validate import ValidationReport

log = logging.getLogger("digistrat")
router = APIRouter()

OUTPUTS = {"json": "application/json", "turtle": "text/turtle",
           "jsonld": "application/ld+json", "html": "text/html"}
_OUTPUT_ALIASES = {"ttl": "turtle", "json-ld": "jsonld"}
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
INPUT_SYNTAXES = ("turtle", "jsonld", "rdfxml", "ntriples")
# Room for the multipart framing and the small form fields around an uploaded file.
FORM_OVERHEAD_BYTES = 64 * 1024
TEMPLATE_FILES = {"strategy.ttl": "text/turtle; charset=utf-8",
                  "strategy.jsonld": "application/ld+json"}

# --- choosing language and output ----------------------------------------------------------


def choose_lang(request: Request, form_lang: str | None = None) -> Language:
    """The form's language menu, then ``?lang=``, the cookie, Accept-Language, English
    (:func:`api.rendering.resolve_language`)."""
    return resolve_language(request, form_lang)


def choose_output(request: Request) -> str:
    """``?format=`` (json, turtle, jsonld, html), else the Accept header; JSON by default."""
    name = request.query_params.get("format")
    if name:
        name = _OUTPUT_ALIASES.get(name.lower(), name.lower())
        if name not in OUTPUTS:
            raise ApiError(400, "bad-request", f"?format={name}: choose one of "
                           + ", ".join(OUTPUTS))
        return name
    chosen = negotiate(request.headers.get("accept"), list(OUTPUTS.values()))
    if chosen is None:
        raise ApiError(406, "not-acceptable", "the report comes as " + ", ".join(
            OUTPUTS.values()))
    return next(k for k, v in OUTPUTS.items() if v == chosen)


# --- reading the body, bounded ---------------------------------------------------------------


async def _replay(body: bytes) -> AsyncIterator[bytes]:
    yield body


async def read_form(request: Request, body: bytes, limit: int) -> dict[str, Any]:
    """Parse a (bounded) form body: text fields, and a file's name and bytes."""
    headers = Headers(scope=request.scope)
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if media_type == "multipart/form-data":
            parser: MultiPartParser | FormParser = MultiPartParser(
                headers, _replay(body), max_files=1, max_fields=10, max_part_size=limit)
        else:
            parser = FormParser(headers, _replay(body))
        form = await parser.parse()
    except MultiPartException as err:
        raise ApiError(400, "bad-request", f"the form could not be read: {err.message}"
                       ) from None
    fields: dict[str, Any] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            await value.close()
            if data:
                fields["file"] = (value.filename or "", value.content_type or "", data)
        else:
            fields[key] = value
    return fields


# --- parsing ---------------------------------------------------------------------------------


def sniff_syntax(data: bytes) -> RdfSyntax:
    """A guess from the first characters: JSON → JSON-LD, XML → RDF/XML, else Turtle."""
    head = data.lstrip()[:200]
    if head.startswith((b"{", b"[")):
        return syntax_named("jsonld")
    if head.startswith(b"<?xml") or head.startswith(b"<rdf:RDF") or b"<rdf:RDF" in head:
        return syntax_named("rdfxml")
    return syntax_named("turtle")


def form_syntax(fields: dict[str, Any], data: bytes) -> RdfSyntax:
    """The syntax of a form submission: the chosen format, else file name, type, content."""
    chosen = str(fields.get("syntax") or "auto").lower()
    if chosen != "auto":
        if chosen not in INPUT_SYNTAXES:
            raise ApiError(415, "unsupported-media-type", f"unknown format {chosen!r}; "
                           "choose " + ", ".join(INPUT_SYNTAXES))
        return syntax_named(chosen)
    if "file" in fields:
        filename, content_type, _ = fields["file"]
        if filename:
            try:
                return syntax_for_path(Path(filename))
            except UnsupportedFormatError:
                pass
        if content_type and content_type != "application/octet-stream":
            try:
                return syntax_for_media_type(content_type)
            except UnsupportedFormatError:
                pass
    return sniff_syntax(data)


async def run_validation(request: Request, settings: Settings, data: bytes, syntax: RdfSyntax,
                         lang: str) -> SubmissionResult:
    """Parse and validate in a confined worker with the deadline ``validation_timeout_ms``;
    its errors are answered by :mod:`api.errors`."""
    pool: ValidationPool = request.app.state.validation_pool
    return await pool.validate(data, syntax.name, lang=lang,
                               max_triples=settings.max_upload_triples,
                               timeout_s=settings.validation_timeout_ms / 1000)


# --- rendering -------------------------------------------------------------------------------


def shape_link(iri: str) -> str | None:
    """The documentation of a digistrat shape: ``/shapes#<local name>``; dangling references
    are checked by this service, not by a shape, and are explained on this page."""
    if iri == str(DANGLING_SHAPE):
        return "/validate#dangling-references"
    if iri.startswith(str(DSH)):
        return "/shapes#" + iri[len(str(DSH)):]
    return None


def report_json(report: ValidationReport, triples: int, lang: str) -> dict[str, Any]:
    counts = report.counts()
    body = report.as_dict()
    body["summary"] = {"violations": counts["Violation"], "warnings": counts["Warning"],
                       "infos": counts["Info"]}
    body["triples"] = triples
    body["lang"] = lang
    for result in body["results"]:  # type: ignore[union-attr]
        result["shape_documentation"] = shape_link(str(result["source_shape"]))
    return body


def grouped(report: ValidationReport) -> list[dict[str, Any]]:
    """Results grouped by focus node, worst first."""
    groups: dict[str, list[Any]] = {}
    for result in report.results:
        groups.setdefault(result.focus_node, []).append(result)
    order = {"Violation": 0, "Warning": 1, "Info": 2}
    return sorted(({"focus": focus, "results": results,
                    "worst": min(order[r.severity] for r in results)}
                   for focus, results in groups.items()),
                  key=lambda g: (g["worst"], g["focus"]))


def page(request: Request, language: Language, *, status: int = 200,
         **context: Any) -> HTMLResponse:
    values = {"syntaxes": INPUT_SYNTAXES, "shape_link": shape_link, "report": None,
              "error": None, "text": "", "chosen_syntax": "auto", **context}
    return render(request, "validate.html", values, status=status, language=language)


def respond(request: Request, output: str, report: ValidationReport, triples: int,
            language: Language, text: str, syntax: str) -> Response:
    lang = language.code
    if output == "json":
        return JSONResponse(report_json(report, triples, lang))
    if output == "turtle":
        return Response(report.graph.serialize(format="turtle"),
                        media_type="text/turtle; charset=utf-8")
    if output == "jsonld":
        return Response(report.graph.serialize(format="json-ld"),
                        media_type="application/ld+json")
    return page(request, language, report=report, groups=grouped(report), triples=triples,
                text=text, chosen_syntax=syntax,
                report_json=json.dumps(report_json(report, triples, lang)))


# --- routes ----------------------------------------------------------------------------------


@router.get("/validate", response_class=HTMLResponse)
def validate_page(request: Request) -> HTMLResponse:
    """The page for people: paste or upload, pick a format, see the report."""
    return page(request, choose_lang(request))


@router.get("/validate/templates/{name}")
def strategy_template(name: str, store: StoreDep) -> FileResponse:
    """A template for a new strategy (Turtle or JSON-LD) that itself validates."""
    if name not in TEMPLATE_FILES:
        raise ApiError(404, "not-found", f"no template {name!r}; there are "
                       + ", ".join(TEMPLATE_FILES))
    path = store.project.root / "templates" / name
    if not path.is_file():
        raise ApiError(404, "not-found", f"the template {name} is not installed")
    return FileResponse(path, media_type=TEMPLATE_FILES[name], filename=name)


_BODY = {"requestBody": {"required": True, "content": {
    **{media: {"schema": {"type": "string"}} for media in (
        "text/turtle", "application/ld+json", "application/rdf+xml", "application/n-triples")},
    "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
        "data": {"type": "string"}, "syntax": {"type": "string"},
        "lang": {"type": "string"}}}},
}}}


@router.post("/validate", openapi_extra=_BODY)
async def validate_endpoint(request: Request, settings: SettingsDep,
                            store: StoreDep) -> Response:
    """Validate a submission: 200 with a report whether or not it conforms; 4xx if unusable.

    Body: Turtle, JSON-LD, RDF/XML or N-Triples by Content-Type, or a form (multipart with a
    ``file`` field, or a ``data`` text field; ``syntax`` names the format).
    """
    output = choose_output(request)
    language = choose_lang(request)
    text, syntax_name = "", "auto"
    pool: ValidationPool = request.app.state.validation_pool
    try:
        if not pool.admits():  # refused before the body is read: uploads cannot pile up
            raise ApiError(503, "busy", "every validation worker is busy and the queue is "
                           "full; try again shortly", headers={"Retry-After": "5"})
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if not media_type:
            raise ApiError(415, "unsupported-media-type", "no Content-Type; send text/turtle, "
                           "application/ld+json, application/rdf+xml, application/n-triples "
                           "or a form")
        limit = settings.max_upload_bytes
        if media_type in FORM_TYPES:
            body = await read_bounded(request, limit + FORM_OVERHEAD_BYTES, "max_upload_bytes")
            fields = await read_form(request, body, limit)
            language = choose_lang(request, fields.get("lang"))
            syntax_name = str(fields.get("syntax") or "auto")
            if "file" in fields:
                data = fields["file"][2]
            else:
                text = str(fields.get("data") or "")
                data = text.encode("utf-8")
            if len(data) > limit:
                raise too_large(limit, "max_upload_bytes")
            if not data.strip():
                raise ApiError(400, "empty", "nothing to validate: paste RDF or choose a file")
            syntax = form_syntax(fields, data)
        else:
            try:
                syntax = syntax_for_media_type(media_type)
            except UnsupportedFormatError:
                raise ApiError(415, "unsupported-media-type", f"{media_type} is not a "
                               "supported RDF syntax; send text/turtle, application/ld+json, "
                               "application/rdf+xml or application/n-triples") from None
            data = await read_bounded(request, limit, "max_upload_bytes")
        result = await run_validation(request, settings, data, syntax, language.code)
    except (ApiError, KGError) as caught:
        err = api_error(caught)
        if output == "html" and err.status < 500:
            return page(request, language, status=err.status, error=err, text=text,
                        chosen_syntax=syntax_name)
        raise err from None
    return respond(request, output, result.report, result.triples, language, text,
                   syntax_name)
