"""The tables, the matrix, the theme view and the charts in headless Chromium: a facet
click, a sort, a CSV download, a phone's width without sideways scrolling, and axe-core."""

from __future__ import annotations

import csv
import io
import itertools
from typing import Any

import pytest

pytestmark = pytest.mark.browser

PAGES = ["/", "/-/strategies", "/-/strategies?country=ch&status=adopted", "/-/municipalities",
         "/-/compare", "/-/compare?country=at", "/-/themes", "/-/themes/open-data",
         "/-/charts"]


def row_iris(page: Any) -> list[str]:
    return [r.get_attribute("data-iri") for r in page.locator("table.data tbody tr").all()]


def test_facet_click_narrows_and_counts(page, server) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/-/strategies")
    before = len(row_iris(page))
    facet = page.locator('details[data-facet="country"]')
    facet.locator("summary").click()
    link = facet.locator('a[data-value="ch"]')
    count = int(link.locator("xpath=following-sibling::span").inner_text())
    link.click()
    page.wait_for_url("**/-/strategies?country=ch")
    assert page.locator("h1 .count").inner_text() == f"({count})"
    rows = page.locator("table.data tbody tr")
    assert 0 < rows.count() <= min(before, count)
    for index in range(rows.count()):
        assert rows.nth(index).locator("td").nth(2).inner_text() == "Switzerland"
    # the chip takes the filter away again
    page.locator('p.chips a[data-facet="country"]').click()
    page.wait_for_url(server + "/-/strategies")
    assert len(row_iris(page)) == before


def test_sort_by_year(page, server) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/-/strategies?size=500")
    page.locator('th[data-column="year"] a').click()
    page.wait_for_url("**sort=year**")
    assert page.locator('th[data-column="year"]').get_attribute("aria-sort") == "ascending"
    page.locator('th[data-column="year"] a').click()
    page.wait_for_url("**sort=-year**")
    header = page.locator('th[data-column="year"]')
    assert header.get_attribute("aria-sort") == "descending"
    years = [c.inner_text() for c in page.locator("table.data tbody td.when").all()]
    dated = [int(y.split()[0]) for y in years if y[:1].isdigit()]
    assert dated and dated == sorted(dated, reverse=True)
    first_undated = next(i for i, y in enumerate(years) if not y[:1].isdigit())
    assert all(not y[:1].isdigit() for y in years[first_undated:])  # undated last


def test_csv_download_is_the_table(page, server) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/-/strategies?country=at&sort=-year")
    shown = row_iris(page)
    assert shown
    with page.expect_download() as info:
        page.locator('a[data-format="csv"]').first.click()
    download = info.value
    assert download.suggested_filename == "strategies.csv"
    text = open(download.path(), encoding="utf-8").read()  # noqa: SIM115
    assert [r["strategy"] for r in csv.DictReader(io.StringIO(text))] == shown


@pytest.mark.parametrize("path", PAGES)
def test_phone_width_has_no_sideways_page_scroll(browser, server, path: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="en-GB", viewport={"width": 390, "height": 844})
    try:
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        tab.goto(server + path)
        width = tab.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide at 390 px"
    finally:
        context.close()


@pytest.mark.parametrize("path", PAGES)
def test_axe_finds_nothing_serious(page, server, path: str) -> None:  # type: ignore[no-untyped-def]
    from axe_playwright_python.sync_playwright import Axe

    page.goto(server + path)
    results = Axe().run(page)
    serious = [v for v in results.response["violations"]
               if v.get("impact") in ("serious", "critical")]
    assert serious == [], "\n".join(
        f"{v['id']}: {v['help']} ({len(v['nodes'])}× e.g. {v['nodes'][0]['html'][:120]})"
        for v in serious)


def test_matrix_scrolls_in_its_box_with_sticky_headers(page, server) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server + "/-/compare")
    box = page.locator(".matrix-box")
    assert box.evaluate("e => e.scrollWidth > e.clientWidth")  # the matrix scrolls, not the page
    header = page.locator("table.matrix thead th.theme").first
    top_before = header.bounding_box()["y"]
    box.evaluate("e => e.scrollTo(0, 400)")
    assert abs(header.bounding_box()["y"] - top_before) < 2  # the header row stays
    corner = page.locator("table.matrix tbody th[scope=row]").nth(3)
    left_before = corner.bounding_box()["x"]
    box.evaluate("e => e.scrollTo(600, 400)")
    assert abs(corner.bounding_box()["x"] - left_before) < 2  # the name column stays
    # the column headers do not overlap
    boxes = [h.bounding_box() for h in page.locator("table.matrix thead th.theme span").all()]
    assert len(boxes) > 5
    for a, b in itertools.pairwise(boxes):
        assert a["x"] + a["width"] <= b["x"] + 0.5
