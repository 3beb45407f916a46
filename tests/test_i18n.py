"""One way to speak two languages: every text shown to people is in both catalogues, and
every page family answers in the language the request chooses (form > ?lang= > cookie >
Accept-Language > English)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kg import submission
from kg.i18n import LANGUAGES, messages
from kg.views import common

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_TEXT = re.compile(r"""_\(\s*"((?:[^"\\]|\\.)*)"|_\(\s*'((?:[^'\\]|\\.)*)'""")
CODE_TEXT = re.compile(r"""gettext\(\s*[\w.()]+\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)""")


def used_texts() -> set[str]:
    found: set[str] = set()
    for path in sorted((ROOT / "api" / "templates").glob("*.html")):
        for match in TEMPLATE_TEXT.finditer(path.read_text(encoding="utf-8")):
            found.add((match.group(1) or match.group(2)).encode().decode("unicode_escape")
                      if "\\" in (match.group(1) or match.group(2) or "")
                      else (match.group(1) or match.group(2)))
    for folder in ("api", "kg"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            found.update(CODE_TEXT.findall(path.read_text(encoding="utf-8")))
    found.update(common.REUSED_NAMES.values())
    found.update({submission.DANGLING_MESSAGE, submission.UNKNOWN_TERM_MESSAGE})
    return found


def test_the_catalogues_hold_the_same_texts() -> None:
    catalogues = {lang: messages(lang) for lang in LANGUAGES}
    assert set(catalogues["de"]) == set(catalogues["en"])
    assert len(catalogues["de"]) >= 150


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_text_in_use_is_translated(lang: str) -> None:
    catalogue = messages(lang)
    texts = used_texts()
    assert len(texts) >= 120  # the scan found the templates' and the code's texts
    missing = sorted(t for t in texts if not catalogue.get(t))
    assert missing == [], f"texts without a {lang} translation: {missing[:10]}"


PAGES = ["/", "/-/compare", "/-/timeline", "/-/coverage", "/-/downloads", "/-/catalog",
         "/ontology", "/vocab", "/shapes", "/id/municipality/ch-261", "/validate", "/sparql",
         "/-/strategies", "/-/municipalities", "/-/themes", "/-/themes/open-data", "/-/charts",
         "/search", "/validate/new", "/nothing-here"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_family_speaks_german_when_asked(client: TestClient, path: str) -> None:
    client.cookies.clear()  # the shared client keeps the choice of the test before
    html = {"Accept": "text/html"}
    german = client.get(path, headers={**html, "Accept-Language": "de-CH,de;q=0.9"})
    english = client.get(path, headers={**html, "Accept-Language": "en"})
    assert '<html lang="de">' in german.text and '<html lang="en">' in english.text
    assert ">Vergleich<" in german.text and ">Compare<" in english.text  # the menu
    chosen = client.get(path + "?lang=de", headers={**html, "Accept-Language": "en"})
    assert '<html lang="de">' in chosen.text
    assert "lang=de" in chosen.headers.get("set-cookie", "")
    remembered = client.get(path, headers={**html, "Accept-Language": "en"})
    assert '<html lang="de">' in remembered.text  # the cookie outranks Accept-Language
    client.cookies.clear()


def test_the_form_choice_wins_over_the_address(client: TestClient) -> None:
    """The language menu of /validate once did nothing: the form posted to ?lang=en."""
    client.cookies.clear()
    page = client.get("/validate?lang=en", headers={"Accept": "text/html"}).text
    assert 'action="/validate"' in page
    response = client.post("/validate?lang=en", data={"data": "<a> <b> .", "lang": "de"},
                           headers={"Accept": "text/html"})
    assert '<html lang="de">' in response.text


def test_an_error_page_in_the_readers_language(client: TestClient) -> None:
    client.cookies.clear()
    response = client.get("/id/municipality/nowhere", headers={
        "Accept": "text/html", "Accept-Language": "de"})
    assert response.status_code == 404
    assert "Nicht gefunden" in response.text and '<html lang="de">' in response.text
