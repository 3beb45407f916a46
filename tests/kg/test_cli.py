"""The CLI's exit codes and messages: 0 conforms, 1 violations, 2 unusable input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from kg.project import Project

from .conftest import write_project


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_check_passes_on_a_conforming_project(tiny: Project) -> None:
    code, output = run("check", "--root", str(tiny.root), "--quiet")
    assert code == 0, output
    assert "conforms: 0 violations, 0 warnings" in output
    assert "query cities: 1 rows  ok" in output


def test_check_fails_and_lists_violations(tmp_path: Path) -> None:
    project = write_project(tmp_path, data="@prefix ex: <https://example.org/ns#> .\n"
                            "ex:bern a ex:City ; ex:key \"351\" .\n")
    code, output = run("check", "--root", str(project.root), "--quiet")
    assert code == 1
    assert "Violation: https://example.org/ns#bern" in output
    assert "A city needs a name." in output
    assert "Warning: https://example.org/ns#bern" in output


def test_check_names_file_line_and_column_of_a_syntax_error(tiny: Project) -> None:
    (tiny.root / "data" / "bad.ttl").write_text("@prefix ex: <http://ex/> .\nex:a ex:b ;\n")
    code, output = run("check", "--root", str(tiny.root), "--quiet")
    assert code == 2
    assert "error: data/bad.ttl, line 2, column 11: ; is not a valid RDF object" in output
    assert "Traceback" not in output


@pytest.mark.parametrize("command", ["check", "serve"])
@pytest.mark.parametrize(("where", "said"), [
    ("MINUS { $this a <https://example.org/ns#Town> }",
     "the shapes cannot be used: A SPARQL Constraint must not contain a MINUS clause"),
    ("FILTER NOT EXISTS { $this a ex:Town }",
     "a SPARQL query cannot be read (Unknown namespace prefix : ex): SELECT $this WHERE"),
])
def test_shapes_pyshacl_cannot_use_are_named_not_a_traceback(
        command: str, where: str, said: str, tiny: Project,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A SHACL-SPARQL query pyshacl refuses (MINUS) or rdflib cannot read (a prefix not
    declared): exit 2 with the reason, from the check and from the start-up, whose validation
    runs in a child process."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tiny.root / "cache"))
    (tiny.root / "shapes" / "bad.ttl").write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://example.org/ns#> .\n"
        "ex:Bad a sh:NodeShape ; sh:targetClass ex:City ; sh:sparql [ sh:select "
        f'"SELECT $this WHERE {{ $this ?p ?o {where} }}" ] .\n')
    code, output = run(command, "--root", str(tiny.root), "--quiet")
    assert code == 2
    assert said in output
    assert "Traceback" not in output


def test_validate_exit_codes_and_languages(tiny: Project, tmp_path: Path) -> None:
    good = tmp_path / "good.ttl"
    good.write_text('<https://example.org/ns#ulm> a <https://example.org/ns#City> ; '
                    '<https://example.org/ns#name> "Ulm" .\n')
    bad = tmp_path / "bad.ttl"
    bad.write_text('<https://example.org/ns#ulm> a <https://example.org/ns#City> .\n')
    broken = tmp_path / "broken.ttl"
    broken.write_text("<a> <b>")
    root = ["--root", str(tiny.root)]
    assert run("validate", str(good), *root)[0] == 0
    code, output = run("validate", str(bad), *root, "--lang", "de")
    assert code == 1 and "Eine Stadt braucht einen Namen." in output
    code, output = run("validate", str(bad), *root, "--format", "json")
    report = json.loads(output)
    assert report["conforms"] is False
    assert report["results"][0]["focus_node"] == "https://example.org/ns#ulm"
    assert report["results"][0]["path"] == "https://example.org/ns#name"
    code, output = run("validate", str(broken), *root)
    assert code == 2 and f"{broken}, line 1" in output
    assert run("validate", str(tmp_path / "missing.ttl"), *root)[0] == 2


def test_query_by_name_and_format(tiny: Project) -> None:
    code, output = run("query", "cities", "--root", str(tiny.root), "--format", "csv")
    assert code == 0
    assert output.splitlines() == ["c", "https://example.org/ns#essen"]
    code, output = run("query", "SELECT ?x WHERE {", "--root", str(tiny.root))
    assert code == 2 and "SPARQL syntax error at line 1" in output


def test_stats_counts_instances(tiny: Project) -> None:
    code, output = run("stats", "--root", str(tiny.root), "--format", "json")
    assert code == 0
    stats = json.loads(output)
    assert {"class": "https://example.org/ns#City", "instances": 1} in stats["classes"]


def test_query_prints_a_table_by_default(tiny: Project) -> None:
    code, output = run("query", "cities", "--root", str(tiny.root))
    assert code == 0
    assert output.splitlines() == ["c", "-" * len("https://example.org/ns#essen"),
                                   "https://example.org/ns#essen", "(1 rows)"]
    code, output = run("query", "ASK { ?s ?p ?o }", "--root", str(tiny.root))
    assert (code, output.strip()) == (0, "yes")
