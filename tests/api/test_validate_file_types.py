"""Errors that speak to people: an upload that is an image, a PDF, a spreadsheet, an office
document, an archive or a web page is named as such with the advice that fits, in the
language the reader chose (form > ?lang= > cookie > Accept-Language), on the API, the page
and the command line alike."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api.cli import main
from kg.intake import template_xlsx
from kg.submission import sniff_file_type

ROOT = Path(__file__).resolve().parent.parent.parent


def _zip(*names: str, first: tuple[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        if first is not None:
            archive.writestr(zipfile.ZipInfo(first[0]), first[1])
        for name in names:
            archive.writestr(name, "<x/>")
    return out.getvalue()


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
FILES: dict[str, tuple[str, bytes, str, str]] = {
    # name: (file name, bytes, kind, detected)
    "png": ("chart.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 20, "image", "PNG"),
    "jpeg": ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20, "image", "JPEG"),
    "pdf": ("strategie.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "pdf", "PDF"),
    "docx": ("strategie.docx", _zip("[Content_Types].xml", "word/document.xml"),
             "word-processing", "DOCX"),
    "pptx": ("slides.pptx", _zip("[Content_Types].xml", "ppt/presentation.xml"),
             "presentation", "PPTX"),
    "ods": ("table.ods", _zip("content.xml", first=(
        "mimetype", b"application/vnd.oasis.opendocument.spreadsheet")), "spreadsheet", "ODS"),
    "xls": ("table.xls", OLE + "Workbook".encode("utf-16-le"), "spreadsheet", "XLS"),
    "doc": ("letter.doc", OLE + "WordDocument".encode("utf-16-le"), "word-processing", "DOC"),
    "zip": ("data.zip", _zip("data.ttl"), "archive", "ZIP"),
    "gzip": ("data.ttl.gz", b"\x1f\x8b\x08\x00" + b"\x00" * 20, "archive", "gzip"),
    "html": ("page.html", b"<!DOCTYPE html>\n<html><body>Strategie</body></html>", "html",
             "HTML"),
    "binary": ("blob.bin", b"abc\x00\x01\x02", "binary", "?"),
}
ADVICE = {"pdf": ("This is the strategy document", "Das ist das Strategiedokument selbst"),
          "image": ("/validate/new", "/validate/new"),
          "spreadsheet": ("spreadsheet template", "Tabellenvorlage"),
          "word-processing": ("quote field", "Zitatfeld")}


@pytest.mark.parametrize("name", list(FILES))
def test_the_first_bytes_name_the_kind_of_file(name: str) -> None:
    _, data, kind, detected = FILES[name]
    found = sniff_file_type(data)
    assert found is not None and (found.kind, found.name) == (kind, detected)


@pytest.mark.parametrize("text", [b"@prefix ds: <x#> .", b"<?xml version='1.0'?><rdf:RDF/>",
                                  b'{"@id": "x"}', "Gemeinde;Titel\nBern;ü".encode(),
                                  b"\xef\xbb\xbf@prefix a: <b> ."])
def test_text_is_not_taken_for_another_kind_of_file(text: bytes) -> None:
    assert sniff_file_type(text) is None


@pytest.mark.parametrize("name", list(FILES))
def test_an_upload_that_is_no_rdf_is_named_with_advice(client: TestClient, name: str) -> None:
    filename, data, kind, detected = FILES[name]
    response = client.post("/validate", files={"file": (filename, data,
                                                        "application/octet-stream")},
                           headers={"Accept": "application/json"})
    assert response.status_code == 415, response.text
    body = response.json()
    assert (body["type"], body["file_type"], body["detected"]) == ("file-type", kind, detected)
    assert body["advice"]
    if kind in ADVICE:
        assert ADVICE[kind][0] in body["advice"]


def test_a_pdf_sent_as_turtle_is_named_too(client: TestClient) -> None:
    response = client.post("/validate", content=FILES["pdf"][1],
                           headers={"Content-Type": "text/turtle",
                                    "Accept": "application/json"})
    assert response.status_code == 415
    assert response.json()["file_type"] == "pdf"
    assert "describe it with the form" in response.json()["advice"]


def test_a_raw_pdf_body_is_named(client: TestClient) -> None:
    response = client.post("/validate", content=FILES["pdf"][1],
                           headers={"Content-Type": "application/pdf",
                                    "Accept": "application/json"})
    assert response.status_code == 415
    assert response.json()["type"] == "file-type"


@pytest.mark.parametrize("how", ["form", "query", "cookie", "accept-language"])
def test_the_readers_language_is_honoured(client: TestClient, how: str) -> None:
    """form field > ?lang= > cookie > Accept-Language; each alone chooses German."""
    files = {"file": ("strategie.pdf", FILES["pdf"][1], "application/pdf")}
    path, data, headers = "/validate", {}, {"Accept": "text/html"}
    if how == "form":
        data = {"lang": "de"}
        headers["Accept-Language"] = "en"
    elif how == "query":
        path = "/validate?lang=de"
    elif how == "cookie":
        client.cookies.set("lang", "de")
        headers["Accept-Language"] = "en"
    else:
        headers["Accept-Language"] = "de-CH,de;q=0.9,en;q=0.5"
    response = client.post(path, files=files, data=data, headers=headers)
    assert response.status_code == 415
    assert '<html lang="de">' in response.text
    assert "Diese Datei ist ein PDF-Dokument (PDF), keine RDF-Daten." in response.text
    assert 'class="advice"' in response.text and ADVICE["pdf"][1] in response.text


def test_the_form_field_outranks_the_query(client: TestClient) -> None:
    response = client.post("/validate?lang=de", files={"file": ("x.png", FILES["png"][1],
                                                                "image/png")},
                           data={"lang": "en"}, headers={"Accept": "application/json"})
    assert response.status_code == 415
    assert response.json()["error"] == "This file is an image (PNG), not RDF data."


def test_a_spreadsheet_that_is_not_the_template_says_so(client: TestClient) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Name", "Betrag"])
    book.active.append(["Bern", 3])
    out = io.BytesIO()
    book.save(out)
    response = client.post("/validate?lang=de", files={"file": ("budget.xlsx", out.getvalue(),
                                                                "application/octet-stream")},
                           headers={"Accept": "application/json"})
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "table"
    assert "nicht die digistrat-Vorlage" in body["error"] and body["line"] == 1


def test_the_xlsx_template_is_read_not_refused(client: TestClient) -> None:
    response = client.post("/validate", files={"file": ("t.xlsx", template_xlsx("en"),
                                                        "application/octet-stream")},
                           headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.json()["conforms"] is True  # placeholders only warn


@pytest.mark.parametrize("lang,text", [("en", "This file is a PDF document (PDF)"),
                                       ("de", "Diese Datei ist ein PDF-Dokument (PDF)")])
def test_the_command_line_names_it_too(tmp_path: Path, lang: str, text: str) -> None:
    path = tmp_path / "strategie.ttl"
    path.write_bytes(FILES["pdf"][1])
    outcome = CliRunner().invoke(main, ["validate", str(path), "--root", str(ROOT),
                                        "--lang", lang])
    assert outcome.exit_code == 2
    assert text in outcome.output


def test_every_message_for_people_is_in_both_catalogues() -> None:
    """The file-type messages and the form's and table's messages (built in code, so the
    template scan of tests/test_i18n.py does not see them) are translated."""
    import re

    from kg.i18n import messages
    from kg.submission import FILE_TYPE_MESSAGES

    texts = [text for pair in FILE_TYPE_MESSAGES.values() for text in pair]
    source = (ROOT / "kg" / "intake.py").read_text(encoding="utf-8")
    for call in re.finditer(r'IntakeError\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)', source):
        texts.append("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', call.group(1))))
    assert len(texts) >= 25
    german, english = messages("de"), messages("en")
    missing = [t for t in texts if not german.get(t) or english.get(t) != t]
    assert missing == []
    assert all(german[t] != t for t in texts)
