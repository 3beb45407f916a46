"""The validation page in headless Chromium: paste or upload → report, with and without
JavaScript, in German and English, with no request leaving the server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent.parent
CORPUS = ROOT / "tests" / "validation_corpus"
TEMPLATE = ROOT / "templates" / "strategy.ttl"
TIMEOUT_MS = 30_000  # the first validation starts the worker process


def _page(browser: Any, server: str, *, javascript: bool = True) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(java_script_enabled=javascript)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    return context, page, requests


def _only_local(requests: list[str], server: str) -> None:
    assert requests
    assert all(url.startswith(server) for url in requests), requests


def test_paste_shows_the_report_grouped_with_shape_links(browser: Any, server: str) -> None:
    context, page, requests = _page(browser, server)
    try:
        page.goto(server + "/validate?lang=de")
        assert page.locator("h1").inner_text() == "Daten prüfen"
        page.fill("#data", (CORPUS / "dangling.ttl").read_text(encoding="utf-8"))
        page.select_option("#syntax", "turtle")
        page.click("#validate-form button[type=submit]")
        verdict = page.locator("#report .verdict")
        verdict.wait_for()
        assert verdict.get_attribute("data-conforms") == "false"
        assert page.locator("#report section.resource.has-violation").count() == 1
        focus = page.locator("#report section.resource.has-violation h3 code").inner_text()
        assert focus.endswith("strategy/corpus-dangling-2030")
        link = page.locator('#report a.message[href="/shapes#Strategy-lifecycleStatus"]')
        assert link.count() >= 1
        assert "Status" in link.first.inner_text()  # German message
        assert page.url.startswith(server + "/validate")
        _only_local(requests, server)
    finally:
        context.close()


def test_upload_a_file_in_english(browser: Any, server: str) -> None:
    context, page, requests = _page(browser, server)
    try:
        page.goto(server + "/validate?lang=en")
        page.set_input_files("#file", str(CORPUS / "bfs-letters.ttl"))
        assert page.locator("#syntax").input_value() == "turtle"  # set by the script
        page.select_option("#lang", "en")
        page.click("#validate-form button[type=submit]")
        page.locator("#report .verdict").wait_for()
        text = page.locator("#report").inner_text()
        assert "does not conform" in text
        assert "Swiss municipality number" in text
        assert page.locator('a.message[href="/shapes#Municipality-bfsNumber"]').count() == 1
        _only_local(requests, server)
    finally:
        context.close()


def test_the_form_works_without_javascript(browser: Any, server: str) -> None:
    context, page, requests = _page(browser, server, javascript=False)
    try:
        page.goto(server + "/validate?lang=de")
        page.fill("#data", TEMPLATE.read_text(encoding="utf-8"))
        page.click("#validate-form button[type=submit]")
        page.wait_for_load_state()
        verdict = page.locator("#report .verdict")
        verdict.wait_for()
        assert verdict.get_attribute("data-conforms") == "true"
        assert "Die Daten entsprechen den Formen." in verdict.inner_text()
        _only_local(requests, server)
    finally:
        context.close()


def test_a_syntax_error_shows_line_and_column(browser: Any, server: str) -> None:
    context, page, _ = _page(browser, server)
    try:
        page.goto(server + "/validate?lang=en")
        page.fill("#data", (CORPUS / "syntax-turtle.ttl").read_text(encoding="utf-8"))
        page.click("#validate-form button[type=submit]")
        alert = page.locator("#report .error")
        alert.wait_for()
        assert "line 5, column 5" in alert.inner_text()
    finally:
        context.close()


def test_the_template_downloads_and_validates(browser: Any, server: str) -> None:
    context, page, _ = _page(browser, server)
    try:
        page.goto(server + "/validate")
        with page.expect_download() as info:
            page.click('a[href="/validate/templates/strategy.ttl"]')
        saved = Path(info.value.path())
        assert saved.read_bytes() == TEMPLATE.read_bytes()
        page.set_input_files("#file", str(saved))
        page.click("#validate-form button[type=submit]")
        verdict = page.locator("#report .verdict")
        verdict.wait_for()
        assert verdict.get_attribute("data-conforms") == "true"
    finally:
        context.close()
