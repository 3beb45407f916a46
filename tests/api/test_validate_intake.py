"""The ways in for people who do not write RDF: the form /validate/new (Turtle, JSON-LD,
reopened for editing), the spreadsheet templates (CSV, XLSX; de and en) converted by the
same code to the same RDF, and reports to keep (CSV, printable page)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import SKOS

from kg.intake import (
    COLUMNS,
    TABLE_FIELDS,
    ElementRow,
    IntakeError,
    StrategyForm,
    form_from_graph,
    graph_from_form,
    template_csv,
    to_jsonld,
    to_turtle,
)
from kg.namespaces import DS
from kg.store import Store
from kg.views.intake import city_slugs, directory

ROOT = Path(__file__).resolve().parent.parent.parent
ID = "https://w3id.org/digistrat/id/"


def known_place(store: Store) -> tuple[str, str, str]:
    """A municipality of the graph with a governing body: (IRI, body IRI, city slug)."""
    book = directory(store, "en")
    slugs = city_slugs(store)
    for choice in book.municipalities:
        for body, owner in book.body_owner.items():
            if owner == choice.value and choice.value in slugs:
                return choice.value, body, slugs[choice.value]
    raise AssertionError("no municipality with a body in the graph")


def filled(store: Store, elements: int = 3) -> StrategyForm:
    municipality, body, _ = known_place(store)
    return StrategyForm(
        municipality=municipality, title="Digitalstrategie 2021", strategy_type="digital-strategy",
        status="adopted", decision_date="2021-03-17", body=body, start_year="2021",
        end_year="2025", source_url="https://www.stadt.test/medien/2021-03-18",
        source_title="Stadtrat beschliesst Digitalstrategie", source_publisher="Stadt Test",
        source_date="2021-03-18",
        quote="Der Rat hat am 17. März 2021 die Digitalstrategie 2021–2025 mit ihren "
              "Handlungsfeldern beschlossen.",
        document_url="https://www.stadt.test/digitalstrategie-2021.pdf",
        elements=[ElementRow(f"Handlungsfeld {n}", "action-field", "Handlungsfeld",
                             theme) for n, theme in zip(range(1, elements + 1),
                                                        ["open-data", "digital-skills",
                                                         "e-government-services", "innovation"],
                                                        strict=False)])


def fields_of(form: StrategyForm, rows: int = 5, **extra: str) -> dict[str, str]:
    data = {k: v for k, v in form.as_dict().items() if k != "elements"}
    data["rows"] = str(rows)
    for i, row in enumerate(form.elements):
        for key in ("label", "level", "designation", "theme"):
            data[f"el-{i}-{key}"] = getattr(row, key)
    return {**data, **extra}


# --- the model -----------------------------------------------------------------------------


def test_the_form_makes_iris_as_the_model_says(store: Store) -> None:
    form = filled(store)
    _, _, city = known_place(store)
    graph = graph_from_form(form, city_slugs(store))
    subjects = {str(s) for s in graph.subjects() if str(s).startswith(ID)}
    strategy = f"{ID}strategy/{city}-digitalstrategie-2021"
    assert strategy in subjects
    assert {f"{ID}element/{city}-digitalstrategie-2021-{n}" for n in (1, 2, 3)} <= subjects
    assert f"{ID}decision/{city}-2021-03-17" in subjects
    assert f"{ID}source/stadt-test-2021-03-18-digitalstrategie-2021" in subjects
    assert f"{ID}document/{city}-digitalstrategie-2021" in subjects


def test_evidence_nodes_back_status_dates_body_and_elements(store: Store) -> None:
    graph = graph_from_form(filled(store), city_slugs(store))
    supported = {str(o).split("#")[-1] for o in graph.objects(None, DS.supports)}
    assert {"lifecycleStatus", "timeHorizon", "hasElement", "adopts", "date_document",
            "passed_by"} <= supported
    quotes = {str(o) for o in graph.objects(None, DS.quote)}
    assert quotes == {filled(store).quote}


def test_form_graph_form_round_trip(store: Store) -> None:
    slugs = city_slugs(store)
    known = [b for b in directory(store, "en").body_owner]
    graph = graph_from_form(filled(store), slugs)
    again = form_from_graph(graph, slugs, known)
    assert isomorphic(graph, graph_from_form(again, slugs))
    assert again.elements == filled(store).elements
    for text, fmt in ((to_turtle(graph), "turtle"), (to_jsonld(graph), "json-ld")):
        parsed = Graph().parse(data=text, format=fmt)
        assert isomorphic(graph, parsed), fmt
        assert isomorphic(graph, graph_from_form(form_from_graph(parsed, slugs, known), slugs))


def test_a_new_body_is_described_in_the_submission(store: Store) -> None:
    form = filled(store)
    form.body, form.new_body_name, form.new_body_function = "", "Grosser Stadtrat", "legislative"
    graph = graph_from_form(form, city_slugs(store))
    _, _, city = known_place(store)
    body = f"{ID}body/{city}-grosser-stadtrat"
    assert (None, None, URIRef(body)) in graph
    assert any(str(s) == body for s in graph.subjects())


@pytest.mark.parametrize("change,field", [({"municipality": ""}, "municipality"),
                                          ({"title": " "}, "title"),
                                          ({"decision_date": "17.3.2021"}, "decision_date"),
                                          ({"end_year": "25"}, "end_year")])
def test_what_no_iri_can_be_made_without_is_asked_for(store: Store, change: dict[str, str],
                                                     field: str) -> None:
    form = filled(store)
    for key, value in change.items():
        setattr(form, key, value)
    with pytest.raises(IntakeError) as caught:
        graph_from_form(form, city_slugs(store))
    assert caught.value.field_name == field
    assert caught.value.localized("de") != caught.value.message  # translated


# --- the form page -------------------------------------------------------------------------


def test_the_form_page_offers_the_graphs_municipalities(client: TestClient,
                                                        store: Store) -> None:
    municipality, body, _ = known_place(store)
    for lang, word in (("de", "Eine Strategie beschreiben"), ("en", "Describe a strategy")):
        html = client.get(f"/validate/new?lang={lang}").text
        assert f"<h1>{word}</h1>" in html
        assert f'value="{municipality}"' in html and f'value="{body}"' in html
        assert html.count('class="element-row"') == 5
        assert 'name="action" value="more"' in html  # more rows without JavaScript
    assert client.get("/validate/new").status_code == 200


def test_the_form_validates_in_place(client: TestClient, store: Store) -> None:
    response = client.post("/validate/new", data=fields_of(filled(store), action="validate"),
                           headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert 'data-conforms="true"' in response.text
    assert "has-violation" not in response.text
    assert "digitalstrategie-2021.ttl" in response.text  # the RDF it made, shown


@pytest.mark.parametrize("action,fmt,media", [("turtle", "turtle", "text/turtle"),
                                              ("jsonld", "json-ld", "application/ld+json")])
def test_the_form_downloads_rdf_that_validates(client: TestClient, store: Store, action: str,
                                               fmt: str, media: str) -> None:
    response = client.post("/validate/new", data=fields_of(filled(store), action=action))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)
    assert "attachment" in response.headers["content-disposition"]
    graph = Graph().parse(data=response.content, format=fmt)
    assert isomorphic(graph, graph_from_form(filled(store), city_slugs(store)))
    checked = client.post("/validate", content=response.content,
                          headers={"Content-Type": media, "Accept": "application/json"})
    assert checked.json()["conforms"] is True, checked.json()["results"]


def test_more_rows_and_removed_rows(client: TestClient, store: Store) -> None:
    data = fields_of(filled(store), rows=3, action="more")
    html = client.post("/validate/new", data=data).text
    assert html.count('class="element-row"') == 8
    data = fields_of(filled(store), rows=3, action="turtle", **{"el-1-remove": "1"})
    graph = Graph().parse(data=client.post("/validate/new", data=data).content,
                          format="turtle")
    labels = sorted(str(o) for o in graph.objects(None, SKOS.prefLabel)
                    if str(o).startswith("Handlungsfeld"))
    assert labels == ["Handlungsfeld 1", "Handlungsfeld 3"]


def test_a_missing_title_is_shown_on_the_form(client: TestClient, store: Store) -> None:
    form = filled(store)
    form.title = ""
    response = client.post("/validate/new?lang=de", data=fields_of(form))
    assert response.status_code == 400
    assert 'data-field="title"' in response.text
    assert "Geben Sie den Titel der Strategie an." in response.text
    assert 'value="Handlungsfeld 2"' in response.text  # nothing typed is lost


@pytest.mark.parametrize("action,name,media", [("turtle", "x.ttl", "text/turtle"),
                                               ("jsonld", "x.jsonld", "application/ld+json")])
def test_a_downloaded_file_reopens_in_the_form(client: TestClient, store: Store, action: str,
                                               name: str, media: str) -> None:
    made = client.post("/validate/new", data=fields_of(filled(store), action=action)).content
    html = client.post("/validate/new", files={"file": (name, made, media)},
                       data={"action": "open"}).text
    assert 'id="opened"' in html
    form = filled(store)
    assert f'value="{form.title}"' in html and f'value="{form.source_url}"' in html
    for row in form.elements:
        assert f'value="{row.label}"' in html
    assert f'<option value="{form.municipality}" selected>' in html


def test_reopening_something_else_says_why(client: TestClient) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 30
    html = client.post("/validate/new?lang=en", files={"file": ("x.png", png, "image/png")},
                       data={"action": "open"}).text
    assert "This file is an image (PNG)" in html
    corpus = (ROOT / "tests" / "validation_corpus" / "bfs-letters.ttl").read_bytes()
    response = client.post("/validate/new?lang=en", files={"file": ("x.ttl", corpus,
                                                                    "text/turtle")})
    assert response.status_code == 400
    assert "describes no strategy" in response.text


# --- spreadsheets ---------------------------------------------------------------------------


def table_of(form: StrategyForm, lang: str, delimiter: str) -> bytes:
    """The form as the template's table: strategy columns on the first row only."""
    column = 1 if lang == "de" else 0
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow([COLUMNS[name][column] for name in TABLE_FIELDS])
    values = form.as_dict()
    for n, row in enumerate(form.elements):
        cells = []
        for name in TABLE_FIELDS:
            if name in ("label", "level", "designation", "theme"):
                cells.append(getattr(row, name))
            elif n == 0:
                value = str(values.get(name) or "")
                cells.append(value.rsplit("/", 1)[-1] if name in ("municipality", "body")
                             else value)
            else:
                cells.append("")
        writer.writerow(cells)
    return out.getvalue().encode("utf-8")


@pytest.mark.parametrize("lang,delimiter", [("de", ";"), ("en", ",")])
def test_a_filled_table_becomes_the_same_rdf_as_the_form(client: TestClient, store: Store,
                                                         lang: str, delimiter: str) -> None:
    form = filled(store)
    table = table_of(form, lang, delimiter)
    response = client.post("/validate", content=table, headers={
        "Content-Type": "text/csv", "Accept": "application/json"})
    assert response.status_code == 200
    body = response.json()
    assert body["conforms"] is True, body["results"]
    from kg.submission import read_table_submission

    parsed = read_table_submission(store, table, "csv")
    assert isomorphic(parsed.graph, graph_from_form(form, city_slugs(store)))
    rows = {k: v for k, v in parsed.positions.items() if "/element/" in k}
    assert sorted(line for line, _ in rows.values()) == [2, 3, 4]


def test_a_table_error_names_its_row(client: TestClient, store: Store) -> None:
    form = filled(store)
    table = table_of(form, "en", ",").decode().split("\r\n")
    table[2] = table[2].replace("action-field", "no-such-level")
    response = client.post("/validate", content="\r\n".join(table).encode(), headers={
        "Content-Type": "text/csv", "Accept": "application/json"})
    assert response.status_code == 400
    assert response.json()["line"] == 3 and "no-such-level" in response.json()["error"]


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_templates_are_offered_in_both_languages(client: TestClient, lang: str) -> None:
    csv_file = client.get(f"/validate/templates/strategy-elements-{lang}.csv")
    assert csv_file.status_code == 200
    assert csv_file.content.decode() == template_csv(lang)
    assert csv_file.content == (ROOT / "templates" / f"strategy-elements-{lang}.csv").read_bytes()
    header = COLUMNS["municipality"][1 if lang == "de" else 0]
    assert csv_file.text.startswith(header)
    xlsx = client.get(f"/validate/templates/strategy-elements-{lang}.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    for data, media in ((csv_file.content, "text/csv"), (xlsx.content, (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))):
        checked = client.post("/validate", content=data, headers={
            "Content-Type": media, "Accept": "application/json"}).json()
        assert checked["conforms"] is True
        assert any("placeholder" in r["message"] or "Platzhalter" in r["message"]
                   for r in checked["results"])  # the template's placeholders are warned of
    page = client.get(f"/validate?lang={lang}").text
    assert f"/validate/templates/strategy-elements-{lang}.xlsx" in page


# --- reports to keep -----------------------------------------------------------------------


def post_bad(client: TestClient, path: str, **headers: Any) -> Any:
    return client.post(path, content=(ROOT / "tests" / "validation_corpus" /
                                      "missing-required.ttl").read_bytes(),
                       headers={"Content-Type": "text/turtle", **headers})


def test_the_report_as_csv_has_one_row_per_result(client: TestClient) -> None:
    expected = post_bad(client, "/validate", Accept="application/json").json()["results"]
    response = post_bad(client, "/validate?format=csv&download=1")
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="validation-report.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(expected) > 0
    assert [(r["focus_node"], r["line"], r["message"]) for r in rows] == [
        (r["focus_node"], str(r["line"]), r["message"]) for r in expected]
    negotiated = post_bad(client, "/validate", Accept="text/csv")
    assert negotiated.headers["content-type"].startswith("text/csv")


def test_the_printable_report(client: TestClient) -> None:
    response = post_bad(client, "/validate?format=print")
    assert response.status_code == 200
    html = response.text
    assert "/-/static/validate.css" in html and 'id="report"' in html
    assert 'id="validate-form"' not in html  # the report alone
    css = client.get("/-/static/validate.css").text
    assert "@media print" in css


def test_the_page_offers_the_report_downloads(client: TestClient) -> None:
    html = client.post("/validate", data={"data": (ROOT / "tests" / "validation_corpus" /
                                                   "missing-required.ttl").read_text()},
                       headers={"Accept": "text/html"}).text
    for fmt in ("csv", "json", "turtle", "jsonld"):
        assert f'formaction="/validate?format={fmt}&amp;download=1"' in html
    assert 'formaction="/validate?format=print"' in html
