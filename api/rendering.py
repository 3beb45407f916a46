"""Pages for people: one Jinja environment, one language resolver, one render function.

The language of a response is chosen once, here, for every page, the query page, the
validation page and error pages: an explicit choice in the request (a form's ``lang`` field,
then ``?lang=``) > the ``lang`` cookie > ``Accept-Language`` > English. An explicit choice is
remembered in the cookie. Texts come from the message catalogues of :mod:`kg.i18n` through
Jinja's i18n extension (``{{ _("English text") }}`` in templates).
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request

from api.negotiation import preferred_language
from kg.i18n import DEFAULT_LANGUAGE, LANGUAGES, translations
from kg.views import common

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATE_DIR = Path(__file__).parent / "templates"
LANG_COOKIE = "lang"
VARY = "Accept, Accept-Language, Cookie"

_LANGUAGE: contextvars.ContextVar[str] = contextvars.ContextVar("lang", default=DEFAULT_LANGUAGE)


def _gettext(message: str) -> str:
    return translations(_LANGUAGE.get()).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_LANGUAGE.get()).ngettext(singular, plural, n)


ENVIRONMENT = Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)),
                          autoescape=select_autoescape(["html", "xml"]),
                          extensions=["jinja2.ext.i18n"])
ENVIRONMENT.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
TEMPLATES = Jinja2Templates(env=ENVIRONMENT)


@dataclass(frozen=True)
class Language:
    code: str
    remember: bool  # an explicit choice, to keep in the cookie


def resolve_language(request: Request, form_choice: str | None = None) -> Language:
    """The language of this response (see the module doc)."""
    for explicit in (form_choice, request.query_params.get("lang")):
        code = (explicit or "").strip().lower()[:2]
        if code in LANGUAGES:
            return Language(code, True)
    cookie = request.cookies.get(LANG_COOKIE, "")
    if cookie in LANGUAGES:
        return Language(cookie, False)
    return Language(preferred_language(request.headers.get("accept-language"), LANGUAGES,
                                       DEFAULT_LANGUAGE), False)


def page_lang(request: Request) -> str:
    """The language of a page answering ``request``."""
    return resolve_language(request).code


def gettext(lang: str, message: str) -> str:
    """``message`` in ``lang`` (for texts built in route code)."""
    return translations(lang).gettext(message)


def href_for(base: str):  # type: ignore[no-untyped-def]
    """A function giving the link for an IRI: IRIs under ``base`` go to the serving host."""
    def href(value: str) -> str:
        if value.startswith(base):
            return "/" + value[len(base):]
        return value
    return href


def render(request: Request, template: str, context: dict[str, Any], *, status: int = 200,
           headers: dict[str, str] | None = None, language: Language | None = None,
           settings: Any = None) -> HTMLResponse:
    """Render ``template`` in the reader's language; remember an explicit choice. The
    settings are the app's unless given (a router mounted in another app gives its own)."""
    settings = settings or request.app.state.settings
    language = language or resolve_language(request)
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    switch = {code: request.url.path + "?" + urlencode([*query, ("lang", code)])
              for code in LANGUAGES}
    full = {"request": request, "lang": language.code, "href": href_for(settings.base_iri),
            "compact": common.compact, "switch": switch, "base": settings.base_iri,
            **context}
    token = _LANGUAGE.set(language.code)
    try:
        response = TEMPLATES.TemplateResponse(request, template, full, status_code=status,
                                              headers={"Vary": VARY, **(headers or {})})
    finally:
        _LANGUAGE.reset(token)
    if language.remember:
        response.set_cookie(LANG_COOKIE, language.code, max_age=365 * 24 * 3600,
                            samesite="lax")
    return response  # type: ignore[no-any-return]
