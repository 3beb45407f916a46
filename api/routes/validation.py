"""The validation service: ``POST /validate`` (API and form) and ``GET /validate`` (page).

A submission is parsed here (bounded in bytes and triples), then validated by
``kg.submission.validate_submission`` — the engine the CLI uses too — with pyshacl running
in a worker process that is killed at ``validation_timeout_ms``. Nothing blocking runs on
the event loop.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
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
from api.rendering import Language, gettext, render, resolve_language
from api.settings import Settings
from kg.errors import KGError, UnsupportedFormatError
from kg.formats import RdfSyntax, syntax_for_media_type, syntax_for_path, syntax_named
from kg.intake import (
    MAX_ELEMENTS,
    STRATEGY_FIELDS,
    ElementRow,
    IntakeError,
    StrategyForm,
    graph_from_form,
    iris_for,
    template_xlsx,
    to_jsonld,
    to_turtle,
)
from kg.namespaces import DSH
from kg.submission import (
    DANGLING_SHAPE,
    SubmissionError,
    SubmissionResult,
    ValidationPool,
    file_type_error,
    sniff_file_type,
)
from kg.validate import ValidationReport
from kg.views.intake import city_slugs, directory

log = logging.getLogger("digistrat")
router = APIRouter()

OUTPUTS = {"json": "application/json", "turtle": "text/turtle",
           "jsonld": "application/ld+json", "html": "text/html", "csv": "text/csv",
           "print": "text/html"}
_NEGOTIATED = ("json", "turtle", "jsonld", "html", "csv")
_OUTPUT_ALIASES = {"ttl": "turtle", "json-ld": "jsonld"}
DOWNLOAD_NAMES = {"json": "validation-report.json", "turtle": "validation-report.ttl",
                  "jsonld": "validation-report.jsonld", "csv": "validation-report.csv"}
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
INPUT_SYNTAXES = ("turtle", "jsonld", "rdfxml", "ntriples", "csv", "xlsx")
TABLE_MEDIA_TYPES = {"text/csv": "csv", "application/csv": "csv",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx"}
#: Lines of the submitted text shown around the line where a resource is first stated.
EXCERPT_LINES = 2
# Room for the multipart framing and the small form fields around an uploaded file.
FORM_OVERHEAD_BYTES = 64 * 1024
TEMPLATE_FILES = {"strategy.ttl": "text/turtle; charset=utf-8",
                  "strategy.jsonld": "application/ld+json",
                  "strategy-elements-de.csv": "text/csv; charset=utf-8",
                  "strategy-elements-en.csv": "text/csv; charset=utf-8"}
SPREADSHEETS = {f"strategy-elements-{lang}.xlsx":
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                for lang in ("de", "en")}

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
    offered = [OUTPUTS[name] for name in _NEGOTIATED]
    chosen = negotiate(request.headers.get("accept"), offered)
    if chosen is None:
        raise ApiError(406, "not-acceptable", "the report comes as " + ", ".join(offered))
    return next(k for k in _NEGOTIATED if OUTPUTS[k] == chosen)


# --- reading the body, bounded ---------------------------------------------------------------


async def _replay(body: bytes) -> AsyncIterator[bytes]:
    yield body


async def read_form(request: Request, body: bytes, limit: int,
                    max_fields: int = 12) -> dict[str, Any]:
    """Parse a (bounded) form body: text fields, and a file's name and bytes."""
    headers = Headers(scope=request.scope)
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if media_type == "multipart/form-data":
            parser: MultiPartParser | FormParser = MultiPartParser(
                headers, _replay(body), max_files=1, max_fields=max_fields,
                max_part_size=limit)
        else:
            parser = FormParser(headers, _replay(body), max_fields=max_fields)
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


def refuse_other_files(data: bytes, lang: str) -> str | None:
    """Name a file that is no RDF (image, PDF, office document …) by its first bytes (a
    bounded prefix, not parsed): 415 with what it is and what to do instead. Returns
    ``"xlsx"`` for a spreadsheet that is read here."""
    kind = sniff_file_type(data)
    if kind is None:
        return None
    if kind.usable:
        return "xlsx"
    err = file_type_error(kind, lang)
    raise ApiError(415, "file-type", err.message, **err.context)


def form_syntax(fields: dict[str, Any], data: bytes, lang: str = "en") -> str:
    """The syntax of a form submission: what the bytes are (a spreadsheet, or a file that is
    no RDF), the chosen format, else the file name, its type, its content."""
    sniffed = refuse_other_files(data, lang)
    chosen = str(fields.get("syntax") or "auto").lower()
    if sniffed:
        return sniffed
    if chosen != "auto":
        if chosen not in INPUT_SYNTAXES:
            raise ApiError(415, "unsupported-media-type", f"unknown format {chosen!r}; "
                           "choose " + ", ".join(INPUT_SYNTAXES))
        return chosen
    if "file" in fields:
        filename, content_type, _ = fields["file"]
        if filename:
            if filename.lower().endswith((".csv", ".tsv")):
                return "csv"
            try:
                return syntax_for_path(Path(filename)).name
            except UnsupportedFormatError:
                pass
        if content_type and content_type != "application/octet-stream":
            media = content_type.split(";")[0].strip().lower()
            if media in TABLE_MEDIA_TYPES:
                return TABLE_MEDIA_TYPES[media]
            try:
                return syntax_for_media_type(content_type).name
            except UnsupportedFormatError:
                pass
    return sniff_syntax(data).name


async def run_validation(request: Request, settings: Settings, data: bytes, syntax: str,
                         lang: str) -> SubmissionResult:
    """Parse and validate in a confined worker with the deadline ``validation_timeout_ms``;
    its errors are answered by :mod:`api.errors`."""
    pool: ValidationPool = request.app.state.validation_pool
    try:
        return await pool.validate(data, syntax, lang=lang,
                                   max_triples=settings.max_upload_triples,
                                   timeout_s=settings.validation_timeout_ms / 1000)
    except SubmissionError as err:
        if err.kind == "file-type":  # named by the worker (the command line's way)
            raise ApiError(415, "file-type", err.message, **err.context) from None
        raise


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


def excerpt(text: str, line: int | None) -> list[dict[str, Any]]:
    """The lines of ``text`` around ``line`` (1-based), the line itself marked."""
    if not text or not line:
        return []
    lines = text.split("\n")
    if line > len(lines):
        return []
    first, last = max(1, line - EXCERPT_LINES), min(len(lines), line + EXCERPT_LINES)
    return [{"number": n, "text": lines[n - 1].rstrip("\r"), "focus": n == line}
            for n in range(first, last + 1)]


def grouped(report: ValidationReport, text: str = "") -> list[dict[str, Any]]:
    """Results grouped by focus node, worst first, each with where the resource is first
    stated and the submitted lines around it."""
    groups: dict[str, list[Any]] = {}
    for result in report.results:
        groups.setdefault(result.focus_node, []).append(result)
    order = {"Violation": 0, "Warning": 1, "Info": 2}
    found = []
    for focus, results in groups.items():
        line = next((getattr(r, "line", None) for r in results if getattr(r, "line", None)),
                    None)
        column = next((getattr(r, "column", None) for r in results
                       if getattr(r, "line", None) == line), None)
        found.append({"focus": focus, "results": results, "line": line, "column": column,
                      "excerpt": excerpt(text, line),
                      "worst": min(order[r.severity] for r in results)})
    return sorted(found, key=lambda g: (g["worst"], g["line"] or 0, g["focus"]))


CSV_COLUMNS = ("severity", "focus_node", "line", "column", "path", "value", "message",
               "source_shape", "constraint", "shape_documentation")


def report_csv(report: ValidationReport, triples: int, lang: str) -> str:
    """One row per result (the JSON report's results as a table)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for result in report_json(report, triples, lang)["results"]:
        writer.writerow(["" if result.get(c) is None else result.get(c) for c in CSV_COLUMNS])
    return out.getvalue()


def page(request: Request, language: Language, *, status: int = 200,
         **context: Any) -> HTMLResponse:
    values = {"syntaxes": INPUT_SYNTAXES, "shape_link": shape_link, "report": None,
              "error": None, "text": "", "chosen_syntax": "auto", "data_base64": "",
              **context}
    return render(request, "validate.html", values, status=status, language=language)


def _disposition(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def respond(request: Request, output: str, report: ValidationReport, triples: int,
            language: Language, text: str, syntax: str, data_base64: str = "") -> Response:
    lang = language.code
    download = request.query_params.get("download") in ("1", "true", "yes")
    headers = _disposition(DOWNLOAD_NAMES[output]) if download and \
        output in DOWNLOAD_NAMES else {}
    if output == "json":
        return JSONResponse(report_json(report, triples, lang), headers=headers)
    if output == "csv":
        return Response(report_csv(report, triples, lang),
                        media_type="text/csv; charset=utf-8", headers=headers)
    if output == "turtle":
        return Response(report.graph.serialize(format="turtle"),
                        media_type="text/turtle; charset=utf-8", headers=headers)
    if output == "jsonld":
        return Response(report.graph.serialize(format="json-ld"),
                        media_type="application/ld+json", headers=headers)
    shown = "" if syntax == "xlsx" else text
    if output == "print":
        return render(request, "validate_report.html", {
            "report": report, "groups": grouped(report, shown), "triples": triples,
            "shape_link": shape_link}, language=language)
    return page(request, language, report=report, groups=grouped(report, shown),
                triples=triples, text=text, chosen_syntax=syntax, data_base64=data_base64,
                report_json=json.dumps(report_json(report, triples, lang)))


# --- routes ----------------------------------------------------------------------------------


@router.get("/validate", response_class=HTMLResponse)
def validate_page(request: Request) -> HTMLResponse:
    """The page for people: paste or upload, pick a format, see the report."""
    return page(request, choose_lang(request))


@router.get("/validate/templates/{name}")
def strategy_template(name: str, store: StoreDep) -> Response:
    """A template for a new strategy (Turtle or JSON-LD) that itself validates, or the
    spreadsheet template (CSV, XLSX; de and en) of one row per element."""
    if name in SPREADSHEETS:
        lang = name.rsplit("-", 1)[1].split(".")[0]
        return Response(template_xlsx(lang), media_type=SPREADSHEETS[name],
                        headers=_disposition(name))
    if name not in TEMPLATE_FILES:
        raise ApiError(404, "not-found", f"no template {name!r}; there are "
                       + ", ".join([*TEMPLATE_FILES, *SPREADSHEETS]))
    path = store.project.root / "templates" / name
    if not path.is_file():
        raise ApiError(404, "not-found", f"the template {name} is not installed")
    return FileResponse(path, media_type=TEMPLATE_FILES[name], filename=name)


_BODY = {"requestBody": {"required": True, "content": {
    **{media: {"schema": {"type": "string"}} for media in (
        "text/turtle", "application/ld+json", "application/rdf+xml", "application/n-triples",
        "text/csv")},
    "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
        "data": {"type": "string"}, "syntax": {"type": "string"},
        "lang": {"type": "string"}}}},
}}}


async def read_submission_body(request: Request, settings: Settings, language: Language
                               ) -> tuple[bytes, str, str, str, Language]:
    """The submitted bytes and their syntax (form or raw body), the pasted text, the chosen
    syntax and the language (a form's ``lang`` field wins)."""
    text, syntax_name = "", "auto"
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not media_type:
        raise ApiError(415, "unsupported-media-type", "no Content-Type; send text/turtle, "
                       "application/ld+json, application/rdf+xml, application/n-triples "
                       "or a form")
    limit = settings.max_upload_bytes
    if media_type in FORM_TYPES:
        body = await read_bounded(request, limit * 2 + FORM_OVERHEAD_BYTES, "max_upload_bytes")
        fields = await read_form(request, body, limit * 2)
        language = choose_lang(request, fields.get("lang"))
        request.state.form_language = language  # for the page an error answers with
        syntax_name = str(fields.get("syntax") or "auto")
        text = str(fields.get("data") or "")
        if "file" in fields:
            data = fields["file"][2]
        elif not text.strip() and fields.get("data_base64"):
            try:  # a spreadsheet sent again, to download its report
                data = base64.b64decode(str(fields["data_base64"]), validate=True)
            except (binascii.Error, ValueError):
                raise ApiError(400, "bad-request", "data_base64 is not base64") from None
        else:
            data = text.encode("utf-8")
        if len(data) > limit:
            raise too_large(limit, "max_upload_bytes")
        if not data.strip():
            raise ApiError(400, "empty", "nothing to validate: paste RDF or choose a file")
        syntax = form_syntax(fields, data, language.code)
        if "file" in fields and syntax != "xlsx":
            text = data.decode("utf-8", errors="replace")
        return data, syntax, text, syntax_name, language
    data = await read_bounded(request, limit, "max_upload_bytes")
    sniffed = refuse_other_files(data, language.code)
    if media_type in TABLE_MEDIA_TYPES:
        return data, sniffed or TABLE_MEDIA_TYPES[media_type], "", syntax_name, language
    if sniffed:
        return data, sniffed, "", syntax_name, language
    try:
        syntax = syntax_for_media_type(media_type).name
    except UnsupportedFormatError:
        raise ApiError(415, "unsupported-media-type", f"{media_type} is not a "
                       "supported RDF syntax; send text/turtle, application/ld+json, "
                       "application/rdf+xml, application/n-triples, text/csv (the "
                       "spreadsheet template) or a form") from None
    return data, syntax, "", syntax_name, language


@router.post("/validate", openapi_extra=_BODY)
async def validate_endpoint(request: Request, settings: SettingsDep,
                            store: StoreDep) -> Response:
    """Validate a submission: 200 with a report whether or not it conforms; 4xx if unusable.

    Body: Turtle, JSON-LD, RDF/XML or N-Triples by Content-Type, a CSV or XLSX file of the
    spreadsheet template, or a form (multipart with a ``file`` field, or a ``data`` text
    field; ``syntax`` names the format). Report: ``?format=json|turtle|jsonld|csv|html|print``
    (``&download=1`` as a file).
    """
    output = choose_output(request)
    language = choose_lang(request)
    text, syntax_name, data_base64 = "", "auto", ""
    pool: ValidationPool = request.app.state.validation_pool
    try:
        if not pool.admits():  # refused before the body is read: uploads cannot pile up
            raise ApiError(503, "busy", "every validation worker is busy and the queue is "
                           "full; try again shortly", headers={"Retry-After": "5"})
        data, syntax, text, syntax_name, language = await read_submission_body(
            request, settings, language)
        if syntax == "xlsx":
            data_base64 = base64.b64encode(data).decode("ascii")
        result = await run_validation(request, settings, data, syntax, language.code)
    except (ApiError, KGError) as caught:
        err = api_error(caught)
        language = getattr(request.state, "form_language", language)
        if output in ("html", "print") and err.status < 500:
            return page(request, language, status=err.status, error=err, text=text,
                        chosen_syntax=syntax_name)
        raise err from None
    return respond(request, output, result.report, result.triples, language, text,
                   syntax_name, data_base64)


# --- the form for people who do not write RDF --------------------------------------------

FORM_ROWS = 5  # empty element rows on a new form (more with "more rows")
MORE_ROWS = 5
FORM_ACTIONS = ("validate", "turtle", "jsonld", "more", "open")


def form_from_fields(fields: dict[str, Any]) -> tuple[StrategyForm, int]:
    """The strategy form as posted, and how many element rows it shows. A row whose
    "remove" box is ticked is dropped; empty rows stay on the page but make no element."""
    form = StrategyForm(**{name: str(fields.get(name) or "").strip()
                           for name in STRATEGY_FIELDS})
    try:
        rows = int(str(fields.get("rows") or FORM_ROWS))
    except ValueError:
        rows = FORM_ROWS
    rows = max(1, min(rows, MAX_ELEMENTS))
    for i in range(rows):
        if fields.get(f"el-{i}-remove"):
            continue
        form.elements.append(ElementRow(**{name: str(fields.get(f"el-{i}-{name}") or "").strip()
                                           for name in ("label", "level", "designation",
                                                        "theme")}))
    return form, len(form.elements)


def form_page(request: Request, store: Any, language: Language,
              form: StrategyForm | None, rows: int, *,
              status: int = 200, **context: Any) -> HTMLResponse:
    form = form or StrategyForm()
    shown = list(form.elements) + [ElementRow() for _ in range(max(0, rows -
                                                                    len(form.elements)))]
    values = {"form": form, "rows": shown, "book": directory(store, language.code),
              "error": None, "report": None, "turtle": "", "shape_link": shape_link,
              "langs": ("de", "en", "fr", "it", "rm"), **context}
    return render(request, "validate_new.html", values, status=status, language=language)


@router.get("/validate/new", response_class=HTMLResponse)
def new_strategy_form(request: Request, store: StoreDep) -> HTMLResponse:
    """The form for a new strategy: municipality, title, type, status, dates, body, source
    and quote, and the top-level elements in order; makes Turtle and JSON-LD."""
    return form_page(request, store, choose_lang(request), None, FORM_ROWS)


@router.post("/validate/new", response_class=HTMLResponse)
async def new_strategy_post(request: Request, settings: SettingsDep,
                            store: StoreDep) -> Response:
    """Validate, download (Turtle, JSON-LD), add rows, or open a file the form made."""
    language = choose_lang(request)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in FORM_TYPES:
        raise ApiError(415, "unsupported-media-type", "send the form (multipart/form-data or "
                       "application/x-www-form-urlencoded)")
    limit = settings.max_upload_bytes
    body = await read_bounded(request, limit + FORM_OVERHEAD_BYTES, "max_upload_bytes")
    fields = await read_form(request, body, limit, max_fields=80 + 5 * MAX_ELEMENTS)
    language = choose_lang(request, fields.get("lang"))
    action = str(fields.get("action") or "validate")
    action = action if action in FORM_ACTIONS else "validate"
    pool: ValidationPool = request.app.state.validation_pool
    if action == "open" or "file" in fields:
        if "file" not in fields:
            return form_page(request, store, language, StrategyForm(), FORM_ROWS, status=400,
                             error=gettext(language.code, "Choose a file that the form made."))
        data = fields["file"][2]
        try:
            syntax = form_syntax({"file": fields["file"]}, data, language.code)
            values = await pool.read_form(data, syntax, lang=language.code,
                                          max_triples=settings.max_upload_triples,
                                          timeout_s=settings.validation_timeout_ms / 1000)
        except (ApiError, KGError) as caught:
            err = api_error(caught)
            if err.status >= 500:
                raise err from None
            return form_page(request, store, language, StrategyForm(), FORM_ROWS,
                             status=err.status, error="; ".join(err.messages),
                             advice=err.context.get("advice"))
        opened = StrategyForm.from_dict(values)
        return form_page(request, store, language, opened,
                         max(FORM_ROWS, len(opened.elements) + 2), opened=True)
    form, rows = form_from_fields(fields)
    if action == "more":
        return form_page(request, store, language, form, rows + MORE_ROWS)
    slugs = city_slugs(store)
    try:
        graph = graph_from_form(form, slugs)
    except IntakeError as err:
        return form_page(request, store, language, form, rows, status=400,
                         error=err.localized(language.code), error_field=err.field_name)
    slug = str(iris_for(form, slugs[form.municipality]).strategy).rsplit("/", 1)[-1]
    if action == "turtle":
        return Response(to_turtle(graph), media_type="text/turtle; charset=utf-8",
                        headers=_disposition(f"{slug}.ttl"))
    if action == "jsonld":
        return Response(to_jsonld(graph), media_type="application/ld+json",
                        headers=_disposition(f"{slug}.jsonld"))
    turtle = to_turtle(graph)
    try:
        result = await run_validation(request, settings, turtle.encode("utf-8"), "turtle",
                                      language.code)
    except (ApiError, KGError) as caught:
        err = api_error(caught)
        if err.status >= 500:
            raise err from None
        return form_page(request, store, language, form, rows, status=err.status,
                         error="; ".join(err.messages))
    return form_page(request, store, language, form, rows, report=result.report,
                     groups=grouped(result.report, turtle), triples=result.triples,
                     turtle=turtle, turtle_lines=turtle.split("\n"), slug=slug)

