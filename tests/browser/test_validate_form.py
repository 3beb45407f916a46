"""The strategy form and the spreadsheet template in headless Chromium: fill in a new
strategy with three fields, check it, download it and import it into a temporary copy of the
project; upload the CSV template filled in; keep the report; accessible and usable at 390 px,
with and without JavaScript."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from api.cli import main
from kg.intake import COLUMNS, TABLE_FIELDS
from kg.store import Store
from kg.views.intake import city_slugs, directory

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent.parent
TIMEOUT_MS = 30_000
FIELDS = [("Digitale Verwaltung", "e-government-services"), ("Offene Daten", "open-data"),
          ("Digitale Kompetenzen", "digital-skills")]


def _context(browser: Any, *, javascript: bool = True, width: int = 1280) -> tuple[Any, Any]:
    context = browser.new_context(java_script_enabled=javascript, accept_downloads=True,
                                  viewport={"width": width, "height": 900}, locale="de-CH")
    context.set_default_timeout(TIMEOUT_MS)
    return context, context.new_page()


def _place(store: Store) -> tuple[str, str, str]:
    book = directory(store, "de")
    slugs = city_slugs(store)
    body, municipality = next((b, m) for b, m in sorted(book.body_owner.items())
                              if m in slugs)
    return municipality, body, slugs[municipality]


def _fill(page: Any, store: Store) -> str:
    municipality, body, city = _place(store)
    page.select_option("#municipality", municipality)
    page.fill("#title", "Browsertest Digitalstrategie 2018")
    page.select_option("#strategy_type", "digital-strategy")
    page.select_option("#status", "adopted")
    page.fill("#decision_date", "2018-06-12")
    page.select_option("#body", body)
    page.fill("#start_year", "2018")
    page.fill("#end_year", "2022")
    page.fill("#source_url", "https://www.stadt.test/medien/2018-06-13")
    page.fill("#source_title", "Rat beschliesst Digitalstrategie")
    page.fill("#source_publisher", "Stadt Test")
    page.fill("#source_date", "2018-06-13")
    page.fill("#quote", "Der Rat hat am 12. Juni 2018 die Digitalstrategie 2018–2022 mit drei "
                        "Handlungsfeldern beschlossen.")
    for i, (label, theme) in enumerate(FIELDS):
        page.fill(f'input[name="el-{i}-label"]', label)
        page.select_option(f'select[name="el-{i}-level"]', "action-field")
        page.fill(f'input[name="el-{i}-designation"]', "Handlungsfeld")
        page.select_option(f'select[name="el-{i}-theme"]', theme)
    return city


def _no_serious_axe_violations(page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    serious = [v["id"] for v in results.response["violations"]
               if v.get("impact") in ("serious", "critical")]
    assert serious == [], serious


def _no_page_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, width


@pytest.mark.parametrize("javascript", [True, False])
def test_a_new_strategy_from_the_form_to_data(browser: Any, server: str, store: Store,
                                              tmp_path: Path, javascript: bool) -> None:
    context, page = _context(browser, javascript=javascript)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto(server + "/validate/new?lang=de")
        assert page.locator("h1").inner_text() == "Eine Strategie beschreiben"
        city = _fill(page, store)
        page.click("#check")
        verdict = page.locator("#report .verdict")
        verdict.wait_for()
        assert verdict.get_attribute("data-conforms") == "true"
        assert page.locator("#report section.resource.has-violation").count() == 0
        # what was typed is still there, to download
        assert page.input_value('input[name="el-2-label"]') == FIELDS[2][0]
        with page.expect_download() as info:
            page.click("#download-turtle")
        saved = tmp_path / info.value.suggested_filename
        info.value.save_as(saved)
        assert saved.name == f"{city}-browsertest-digitalstrategie-2018.ttl"
        assert all(url.startswith(server) for url in requests), requests
    finally:
        context.close()
    copy = tmp_path / "project"
    for name in ("ontology", "shapes", "data", "queries", "templates"):
        shutil.copytree(ROOT / name, copy / name)
    outcome = CliRunner().invoke(main, ["import", str(saved), "--root", str(copy), "-q"])
    assert outcome.exit_code == 0, outcome.output
    text = (copy / "data" / f"{city}.ttl").read_text(encoding="utf-8")
    assert f"<strategy/{city}-browsertest-digitalstrategie-2018> a ds:Strategy" in text
    for label, _ in FIELDS:
        assert f'"{label}"@de' in text
    assert (ROOT / "data" / f"{city}.ttl").read_text(encoding="utf-8") != text  # not the real one


def test_rows_are_added_and_the_file_reopens(browser: Any, server: str, store: Store,
                                             tmp_path: Path) -> None:
    context, page = _context(browser, javascript=False)
    try:
        page.goto(server + "/validate/new?lang=en")
        assert page.locator("tr.element-row").count() == 5
        page.click("#more-rows")
        page.wait_for_load_state()
        assert page.locator("tr.element-row").count() == 10
        _fill(page, store)
        with page.expect_download() as info:
            page.click("#download-jsonld")
        saved = tmp_path / "made.jsonld"
        info.value.save_as(saved)
        page.goto(server + "/validate/new?lang=en")
        page.set_input_files("#open-file", str(saved))
        page.click('#open-form button[type="submit"]')
        page.locator("#opened").wait_for()
        assert page.input_value("#title") == "Browsertest Digitalstrategie 2018"
        assert [page.input_value(f'input[name="el-{i}-label"]') for i in range(3)] == [
            label for label, _ in FIELDS]
    finally:
        context.close()
    context, page = _context(browser, javascript=True)
    try:
        page.goto(server + "/validate/new?lang=en")
        page.click("#add-row")  # with JavaScript, one row at once
        assert page.locator("tr.element-row").count() == 6
        assert page.input_value("#rows-count") == "6"
        assert page.locator('input[name="el-5-label"]').count() == 1
    finally:
        context.close()


def test_the_filled_csv_template_validates(browser: Any, server: str, store: Store,
                                           tmp_path: Path) -> None:
    context, page = _context(browser)
    try:
        page.goto(server + "/validate?lang=de")
        with page.expect_download() as info:
            page.click('a[href="/validate/templates/strategy-elements-de.csv"]')
        template = tmp_path / "vorlage.csv"
        info.value.save_as(template)
        rows = list(csv.reader(io.StringIO(template.read_text(encoding="utf-8")),
                               delimiter=";"))
        header = rows[0]
        assert header == [COLUMNS[name][1] for name in TABLE_FIELDS]
        municipality, _body, _ = _place(store)
        values = {"municipality": municipality.rsplit("/", 1)[-1], "title": "Tabellenstrategie",
                  "language": "de", "strategy_type": "Digitalstrategie", "status": "published",
                  "start_year": "2019", "source_url": "https://www.stadt.test/tabelle",
                  "source_title": "Die Tabellenstrategie", "source_publisher": "Stadt Test",
                  "source_date": "2019-02-01", "quote_language": "de",
                  "quote": "Die Stadt hat ihre Tabellenstrategie ab 2019 mit drei Feldern "
                           "veröffentlicht."}
        filled = [header]
        for n, (label, theme) in enumerate(FIELDS):
            row = [values.get(name, "") if n == 0 else "" for name in TABLE_FIELDS]
            for name, value in (("label", label), ("level", "action-field"),
                                ("designation", "Handlungsfeld"), ("theme", theme)):
                row[TABLE_FIELDS.index(name)] = value
            filled.append(row)
        out = io.StringIO()
        csv.writer(out, delimiter=";").writerows(filled)
        path = tmp_path / "tabelle.csv"
        path.write_text(out.getvalue(), encoding="utf-8")
        page.set_input_files("#file", str(path))
        page.click("#validate-form button[type=submit]")
        verdict = page.locator("#report .verdict")
        verdict.wait_for()
        assert verdict.get_attribute("data-conforms") == "true", page.locator(
            "#report").inner_text()
        lines = {int(x) for x in page.locator("#report section.resource").evaluate_all(
            "nodes => nodes.map(n => n.dataset.line).filter(Boolean)")}
        assert lines <= {2, 3, 4}
        with page.expect_download() as report:
            page.click('button[formaction="/validate?format=csv&download=1"]')
        kept = tmp_path / "bericht.csv"
        report.value.save_as(kept)
        assert kept.read_text(encoding="utf-8").startswith("severity,focus_node,line,column")
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/validate/new?lang=de", "/validate?lang=en"])
def test_accessible_and_usable_on_a_phone(browser: Any, server: str, path: str) -> None:
    context, page = _context(browser, width=390)
    try:
        page.goto(server + path)
        _no_page_scroll(page)
        _no_serious_axe_violations(page)
        if path.startswith("/validate?"):
            page.fill("#data", (ROOT / "tests" / "validation_corpus" /
                                "dangling.ttl").read_text(encoding="utf-8"))
            page.click("#validate-form button[type=submit]")
            page.locator("#report .verdict").wait_for()
            _no_page_scroll(page)
            _no_serious_axe_violations(page)
    finally:
        context.close()


def test_the_printable_report(browser: Any, server: str) -> None:
    context, page = _context(browser)
    try:
        page.goto(server + "/validate?lang=en")
        page.fill("#data", (ROOT / "tests" / "validation_corpus" /
                            "missing-required.ttl").read_text(encoding="utf-8"))
        page.click("#validate-form button[type=submit]")
        page.locator("#report .verdict").wait_for()
        with context.expect_page() as opened:
            page.click('button[formaction="/validate?format=print"]')
        report = opened.value
        report.wait_for_load_state()
        assert report.locator("h1").inner_text() == "Validation report"
        assert report.locator("#print-report").is_visible()  # shown by the script
        report.emulate_media(media="print")
        assert not report.locator("header.site").is_visible()
        assert report.locator("#report .verdict").is_visible()
        _no_serious_axe_violations(report)
    finally:
        context.close()
