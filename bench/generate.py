"""Generate a synthetic digistrat project (ontology/, shapes/, data/) for benchmarks.

The data is SYNTHETIC: invented municipalities, strategies, elements, goals, objectives,
indicators, measures and projects, shaped exactly like docs/model.md (classes, properties,
IRI patterns, vocabulary concept IRIs) so that it conforms to shapes/. It is for measuring
speed only and must never be mixed into the real data/ folder.

    .venv/bin/python bench/generate.py --triples 100000 --out /tmp/digistrat-bench-100k

writes:
    OUT/ontology/, OUT/shapes/   copies of the repository's folders
    OUT/data/{city}.ttl          one Turtle file per synthetic municipality (the triples are
                                 written one per line with full IRIs, which is valid Turtle)
    OUT/peers/all.nq             every quad digistrat loads (ontology, shapes, data), each in
                                 the named graph digistrat gives its file: for peer servers
    OUT/bench-manifest.json      counts and sample IRIs the harness queries

Generation streams text to files (no rdflib graph); 1M triples take a few seconds.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox

REPO = Path(__file__).resolve().parent.parent
BASE = "https://w3id.org/digistrat/"
ID = BASE + "id/"
VOCAB = BASE + "vocab/"
GRAPH = BASE + "graph/"
DS = BASE + "ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCT = "http://purl.org/dc/terms/"
ORG = "http://www.w3.org/ns/org#"
ELI = "http://data.europa.eu/eli/ontology#"
SCHEMA = "https://schema.org/"
DCAT = "http://www.w3.org/ns/dcat#"

NAME_A = ["Alt", "Neu", "Ober", "Unter", "Groß", "Klein", "Hohen", "Nieder", "Bad ", "Sankt ", ""]
NAME_B = ["lin", "buch", "eich", "wald", "bern", "roth", "mühl", "stein", "wester", "oster",
          "sonn", "hain", "brück", "lauf", "kirch", "wolf", "hirsch", "lichten", "rosen", "grün",
          "schön", "fried", "marien", "wein"]
NAME_C = ["berg", "burg", "dorf", "feld", "hausen", "heim", "stadt", "bach", "au", "ingen",
          "rode", "hagen", "brunn", "tal", "wald", "stedt", "born", "beck"]
RIVERS = ["", "an der Lahn", "an der Saale", "an der Ruhr", "an der Weser", "an der Elbe",
          "an der Oder", "an der Mosel"]

FIELDS = [  # (German label, theme slug); labels with "Daten" feed the text-filter query
    ("Digitale Verwaltung", "e-government-services"),
    ("Offene Daten und Datenplattform", "open-data"),
    ("Datengestützte Verwaltung", "data-driven-administration"),
    ("Informationssicherheit", "information-security"),
    ("Datenschutz", "data-protection"),
    ("Digitale Kompetenzen", "digital-skills"),
    ("Moderner Arbeitsplatz", "digital-workplace"),
    ("Infrastruktur", "infrastructure"),
    ("Künstliche Intelligenz", "artificial-intelligence"),
    ("Beteiligung", "participation"),
    ("Smarte Stadt", "smart-city"),
    ("Nachhaltigkeit", "sustainability"),
    ("Mobilität", "mobility"),
    ("Bildung", "education"),
    ("Gesundheit", "health"),
    ("Wirtschaft", "economy"),
    ("Digitale Teilhabe", "digital-inclusion"),
    ("Steuerung der IT", "it-governance"),
    ("Zusammenarbeit", "cooperation"),
    ("Kultur", "culture"),
]
THRUSTS = ["Angebote ausbauen", "Prozesse vereinfachen", "Nutzerinnen und Nutzer einbeziehen",
           "Standards setzen", "Kompetenzen stärken", "Datenbestände erschließen"]
GOALS = ["Leistungen vollständig online anbieten", "Bearbeitungszeiten verkürzen",
         "Daten offen bereitstellen", "Sicherheit der Systeme erhöhen",
         "Beteiligung erleichtern", "Kompetenzen der Mitarbeitenden stärken",
         "Ressourcen effizient nutzen", "Datenqualität verbessern"]
MEASURES = ["Einführung eines Bürgerportals", "Aufbau einer urbanen Datenplattform",
            "Schulungsprogramm Datenkompetenz", "Einführung der E-Akte",
            "Open-Data-Portal", "Sensornetz für Luftqualität", "Glasfaserausbau in Ortsteilen",
            "Digitale Sprechstunde im Bürgeramt", "Beteiligungsplattform",
            "Managementsystem für Informationssicherheit", "Digitallotsen für Seniorinnen",
            "WLAN an Schulen", "Digitaler Zwilling", "Ratsinformationssystem",
            "Energiedatenmanagement", "Echtzeit-Fahrgastinformation"]
INDICATORS = [("Anteil online verfügbarer Leistungen", "Prozent"),
              ("Anzahl veröffentlichter Datensätze", "Anzahl"),
              ("Anzahl geschulter Mitarbeitender", "Anzahl"),
              ("Versorgungsgrad Glasfaser", "Prozent"),
              ("Durchschnittliche Bearbeitungszeit", "Tage")]
IMPL = ["planned", "in-progress", "in-progress", "completed", "paused"]


def iri(value: str) -> str:
    return f"<{value}>"


def lit(text: str, lang: str | None = None, datatype: str | None = None) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    if lang:
        return f'"{escaped}"@{lang}'
    if datatype:
        return f'"{escaped}"^^<{XSD}{datatype}>'
    return f'"{escaped}"'


def slugify(text: str) -> str:
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe",
                           "Ü": "ue"})
    out = "".join(c if c.isalnum() else "-" for c in text.translate(table).lower())
    return "-".join(part for part in out.split("-") if part)


def vocab_concepts(scheme: str) -> list[str]:
    """The concept IRIs of one scheme, read from ontology/vocab/ (fails if missing)."""
    path = REPO / "ontology" / "vocab" / f"{scheme}.ttl"
    scheme_iri = ox.NamedNode(VOCAB + scheme)
    concepts = sorted(q.subject.value for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)
                      if q.predicate.value == SKOS + "inScheme" and q.object == scheme_iri)
    if not concepts:
        raise SystemExit(f"no concepts in scheme {scheme} ({path})")
    return concepts


def concept(scheme: str, slug: str, known: dict[str, list[str]]) -> str:
    value = VOCAB + f"{scheme}/{slug}"
    if value not in known.setdefault(scheme, vocab_concepts(scheme)):
        raise SystemExit(f"{value} is not a concept of ontology/vocab/{scheme}.ttl")
    return iri(value)


class Generator:
    """Writes one municipality at a time as lines of ``<s> <p> o .``."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.known: dict[str, list[str]] = {}
        names = sorted({f"{a}{b}{c}" for a in NAME_A for b in NAME_B for c in NAME_C})
        self.r.shuffle(names)
        self.names = [(n, river) for river in RIVERS for n in names]
        self.v = {k: concept(*k.split(":"), self.known) for k in (
            "strategy-type:digital-strategy", "strategy-type:smart-city-strategy",
            "element-level:action-field", "element-level:strategic-thrust",
            "body-function:legislative", "organisation-type:digital-agency",
            "decision-type:adoption", "lifecycle-status:adopted", "lifecycle-status:in-force",
            "lifecycle-status:superseded", "administrative-level:municipality")}
        self.impl = [concept("implementation-status", s, self.known) for s in IMPL]
        self.themes = {slug: concept("theme", slug, self.known) for _, slug in FIELDS}
        self.samples: dict[str, str] = {}
        self.cities: set[str] = set()

    def city(self, index: int) -> tuple[str, str]:
        base, river = self.names[index]
        name = base[0].upper() + base[1:] if not base.startswith(("Bad ", "Sankt ")) else \
            base.split(" ")[0] + " " + base.split(" ")[1].capitalize()
        name = f"{name} {river}".strip()
        return name, slugify(name)

    def municipality(self, index: int) -> tuple[str, list[str]]:
        r, v = self.r, self.v
        name, city = self.city(index)
        if city in self.cities:
            raise SystemExit(f"duplicate city slug {city}")
        self.cities.add(city)
        lines: list[str] = []

        def t(s: str, p: str, o: str) -> None:
            lines.append(f"{s} <{p}> {o} .\n")

        ags = f"{index % 16 + 1:02d}{index // 16 % 1000:03d}{index // 16000 % 1000:03d}"
        muni = iri(f"{ID}municipality/de-{ags}")
        src_day = f"{r.randint(2019, 2025)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
        src = iri(f"{ID}source/synthetic-{src_day}-{city}")
        t(src, RDF_TYPE, iri(DS + "SourceDocument"))
        t(src, DCT + "title", lit(f"Synthetische Quelle zu {name} (Benchmark-Daten)", "de"))
        t(src, SCHEMA + "url", iri(f"https://example.org/synthetic/{city}"))
        t(src, DCT + "publisher", lit("digistrat benchmark generator"))
        t(src, DCT + "issued", lit(src_day, datatype="date"))
        t(muni, RDF_TYPE, iri(DS + "Municipality"))
        t(muni, SKOS + "prefLabel", lit(f"Stadt {name}", "de"))
        t(muni, DS + "ags", lit(ags))
        t(muni, DS + "administrativeLevel", v["administrative-level:municipality"])
        t(muni, DCT + "source", src)
        body = iri(f"{ID}body/{city}-stadtrat")
        t(body, RDF_TYPE, iri(DS + "GoverningBody"))
        t(body, SKOS + "prefLabel", lit(f"Rat der Stadt {name}", "de"))
        t(body, DS + "bodyFunction", v["body-function:legislative"])
        t(body, ORG + "subOrganizationOf", muni)
        t(body, DCT + "source", src)
        unit = iri(f"{ID}organisation/{city}-digitalisierung")
        t(unit, RDF_TYPE, iri(ORG + "OrganizationalUnit"))
        t(unit, SKOS + "prefLabel", lit(f"Amt für Digitalisierung {name}", "de"))
        t(unit, ORG + "classification", v["organisation-type:digital-agency"])
        t(unit, ORG + "subOrganizationOf", muni)
        t(unit, DCT + "source", src)
        if not self.samples:
            self.samples.update(municipality=muni[1:-1], body=body[1:-1])

        strategies = 2 if r.random() < 0.3 else 1
        previous: str | None = None
        for number in range(strategies):
            year = (r.randint(2014, 2018) if number == 0 and strategies == 2
                    else r.randint(2019, 2025))
            superseded = strategies == 2 and number == 0
            previous = self.strategy(t, city, name, muni, body, unit, src, year, previous,
                                     superseded)
        return city, lines

    def strategy(self, t, city: str, name: str, muni: str, body: str, unit: str, src: str,
                 year: int, previous: str | None, superseded: bool) -> str:
        r, v = self.r, self.v
        smart = r.random() < 0.25
        kind = "smart-city-strategie" if smart else "digitalstrategie"
        slug = f"{city}-{kind}-{year}"
        strat = iri(f"{ID}strategy/{slug}")
        title = f"{'Smart-City-Strategie' if smart else 'Digitalstrategie'} {name} {year}"
        t(strat, RDF_TYPE, iri(DS + "Strategy"))
        t(strat, DCT + "title", lit(title, "de"))
        t(strat, DCT + "title", lit(f"{'Smart city' if smart else 'Digital'} strategy {name} "
                                    f"{year}", "en"))
        t(strat, DCT + "description", lit(
            f"Synthetische Strategie der Stadt {name} mit Handlungsfeldern, Zielen und "
            f"Maßnahmen für die Jahre {year} bis {year + 5}.", "de"))
        t(strat, DCT + "type", v["strategy-type:smart-city-strategy" if smart
                                 else "strategy-type:digital-strategy"])
        t(strat, DS + "ownedBy", muni)
        status = ("lifecycle-status:superseded" if superseded
                  else r.choice(["lifecycle-status:adopted", "lifecycle-status:in-force"]))
        t(strat, DS + "lifecycleStatus", v[status])
        t(strat, DS + "responsibleAgent", unit)
        day = f"{year}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
        decision = iri(f"{ID}decision/{city}-{day}")
        t(decision, RDF_TYPE, iri(DS + "Decision"))
        t(decision, SKOS + "prefLabel", lit(f"Beschluss des Rates über die {title}", "de"))
        t(decision, DS + "decisionType", v["decision-type:adoption"])
        t(decision, ELI + "passed_by", body)
        t(decision, ELI + "date_document", lit(day, datatype="date"))
        t(decision, DS + "adopts", strat)
        t(decision, DCT + "source", src)
        self.evidence(t, decision, f"decision-{slug}", [DS + "adopts", ELI + "passed_by",
                                                        ELI + "date_document"], src,
                      f"Der Rat der Stadt {name} beschloss am {day} die {title} "
                      "(synthetisch).")
        t(strat, DS + "adoptedIn", decision)
        horizon = f"_:horizon-{slug}"
        t(strat, DS + "timeHorizon", horizon)
        t(horizon, RDF_TYPE, iri(DCT + "PeriodOfTime"))
        t(horizon, DCAT + "startDate", lit(str(year), datatype="gYear"))
        t(horizon, DCAT + "endDate", lit(str(year + r.randint(3, 10)), datatype="gYear"))
        doc = iri(f"{ID}document/{slug}")
        t(doc, RDF_TYPE, iri(DS + "StrategyDocument"))
        t(doc, DCT + "title", lit(title, "de"))
        t(doc, SCHEMA + "url", iri(f"https://example.org/synthetic/{slug}.pdf"))
        t(doc, DCT + "issued", lit(day, datatype="date"))
        t(doc, DCT + "source", src)
        t(strat, DS + "hasDocument", doc)
        if previous:
            t(strat, DCT + "replaces", previous)
            t(previous, DCT + "isReplacedBy", strat)
        t(strat, DCT + "source", src)
        self.evidence(t, strat, f"strategy-{slug}", [DS + "lifecycleStatus", DS + "timeHorizon",
                                                     DS + "hasElement"], src,
                      f"Die {title} gilt ab {year} und gliedert sich in Handlungsfelder "
                      "(synthetisch).")
        fields = r.sample(FIELDS, r.randint(4, 8))
        for n, (label, theme) in enumerate(fields, 1):
            t(strat, DCT + "subject", self.themes[theme])
            self.field(t, slug, strat, n, label, theme, year, unit, src)
        if "strategy" not in self.samples:
            self.samples["strategy"] = strat[1:-1]
        return strat

    @staticmethod
    def evidence(t, subject: str, key: str, supports: list[str], src: str,
                 quote: str) -> None:
        """One ds:Evidence for ``supports`` of ``subject``, quoting the synthetic source (the
        evidence model of DESIGN.md: the shapes refuse these claims without it)."""
        node = f"_:evidence-{key}"
        t(subject, DS + "evidence", node)
        t(node, RDF_TYPE, iri(DS + "Evidence"))
        for path in supports:
            t(node, DS + "supports", iri(path))
        t(node, DCT + "source", src)
        t(node, DS + "quote", lit(quote, "de"))

    def field(self, t, slug: str, strat: str, n: int, label: str, theme: str, year: int,
              unit: str, src: str) -> None:
        r, v = self.r, self.v
        elem = iri(f"{ID}element/{slug}-{n}")
        t(strat, DS + "hasElement", elem)
        t(elem, RDF_TYPE, iri(DS + "ActionField"))
        t(elem, SKOS + "prefLabel", lit(label, "de"))
        t(elem, DS + "isElementOf", strat)
        t(elem, DS + "position", lit(str(n), datatype="integer"))
        t(elem, DS + "elementLevel", v["element-level:action-field"])
        t(elem, DS + "localDesignation", lit("Handlungsfeld", "de"))
        t(elem, DCT + "subject", self.themes[theme])
        t(elem, DCT + "source", src)
        for m, thrust in enumerate(r.sample(THRUSTS, r.randint(0, 3)), 1):
            sub = iri(f"{ID}element/{slug}-{n}-{m}")
            t(elem, DS + "hasElement", sub)
            t(sub, RDF_TYPE, iri(DS + "StrategicThrust"))
            t(sub, SKOS + "prefLabel", lit(f"{label}: {thrust}", "de"))
            t(sub, DS + "isElementOf", elem)
            t(sub, DS + "position", lit(str(m), datatype="integer"))
            t(sub, DS + "elementLevel", v["element-level:strategic-thrust"])
            t(sub, DS + "localDesignation", lit("Stoßrichtung", "de"))
            t(sub, DCT + "subject", self.themes[theme])
            t(sub, DCT + "source", src)
        goals = []
        for k, text in enumerate(r.sample(GOALS, r.randint(1, 3)), 1):
            goal = iri(f"{ID}goal/{slug}-{n}-{k}")
            goals.append(goal)
            t(elem, DS + "hasGoal", goal)
            t(goal, RDF_TYPE, iri(DS + "Goal"))
            t(goal, SKOS + "prefLabel", lit(f"{text} ({label})", "de"))
            t(goal, DS + "position", lit(str(k), datatype="integer"))
            t(goal, DCT + "source", src)
            for j in range(1, r.randint(0, 2) + 1):
                ind_label, unit_text = r.choice(INDICATORS)
                obj = iri(f"{ID}objective/{slug}-{n}-{k}-{j}")
                ind = iri(f"{ID}indicator/{slug}-{n}-{k}-{j}")
                t(goal, DS + "hasObjective", obj)
                t(obj, RDF_TYPE, iri(DS + "Objective"))
                t(obj, SKOS + "prefLabel", lit(f"Zielwert {ind_label}", "de"))
                t(obj, DS + "targetValue", lit(f"{r.randint(1, 100)}.0", datatype="decimal"))
                t(obj, DS + "targetDate", lit(str(year + r.randint(2, 8)), datatype="gYear"))
                t(obj, DS + "measuredBy", ind)
                t(obj, DS + "implementationStatus", r.choice(self.impl))
                t(obj, DCT + "source", src)
                t(ind, RDF_TYPE, iri(DS + "Indicator"))
                t(ind, SKOS + "prefLabel", lit(ind_label, "de"))
                t(ind, DS + "unit", lit(unit_text, "de"))
                t(ind, DCT + "source", src)
        for k, text in enumerate(r.sample(MEASURES, r.randint(2, 5)), 1):
            measure = iri(f"{ID}measure/{slug}-{n}-{k}")
            t(elem, DS + "hasMeasure", measure)
            t(measure, RDF_TYPE, iri(DS + "Measure"))
            t(measure, SKOS + "prefLabel", lit(text, "de"))
            t(measure, DS + "position", lit(str(k), datatype="integer"))
            t(measure, DS + "contributesTo", r.choice(goals))
            t(measure, DS + "implementationStatus", r.choice(self.impl))
            t(measure, DS + "responsibleAgent", unit)
            t(measure, DCT + "source", src)
            if "measure" not in self.samples:
                self.samples["measure"] = measure[1:-1]
            if r.random() < 0.3:
                project = iri(f"{ID}project/{slug}-{n}-{k}")
                t(project, RDF_TYPE, iri(DS + "Project"))
                t(project, SKOS + "prefLabel", lit(f"Projekt {text}", "de"))
                t(project, DS + "implements", measure)
                t(project, DS + "contributesTo", r.choice(goals))
                t(project, DS + "implementationStatus", r.choice(self.impl))
                t(project, DS + "responsibleAgent", unit)
                t(project, DCT + "source", src)

    def files(self, triples: int) -> Iterator[tuple[str, list[str]]]:
        written = 0
        index = 0
        while written < triples:
            if index >= len(self.names):
                raise SystemExit("too many municipalities for the name pool")
            city, lines = self.municipality(index)
            written += len(lines)
            index += 1
            yield city, lines


def copy_layer(name: str, out: Path) -> None:
    target = out / name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(REPO / name, target)


def layer_quads(out: Path, layer: str) -> Iterator[str]:
    """N-Quads lines of a copied layer, in the graphs digistrat's Project gives its files."""
    for path in sorted((out / layer).rglob("*.ttl")):
        rel = path.relative_to(out).as_posix().rsplit(".", 1)[0]
        graph = ox.NamedNode(GRAPH + rel)
        quads = [ox.Quad(q.subject, q.predicate, q.object, graph)
                 for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE,
                                   base_iri=path.resolve().as_uri())]
        yield ox.serialize(quads, format=ox.RdfFormat.N_QUADS).decode()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--triples", type=int, required=True,
                    help="data triples to write at least (ontology and shapes come on top)")
    ap.add_argument("--out", type=Path, required=True, help="project folder to (re)create")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--no-peers", action="store_true", help="do not write peers/all.nq")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    out: Path = args.out
    (out / "data").mkdir(parents=True, exist_ok=True)
    for old in (out / "data").glob("*.ttl"):
        old.unlink()
    copy_layer("ontology", out)
    copy_layer("shapes", out)
    gen = Generator(args.seed)
    data_triples = municipalities = 0
    peers = None
    if not args.no_peers:
        (out / "peers").mkdir(exist_ok=True)
        peers = (out / "peers" / "all.nq").open("w", encoding="utf-8")
        for layer in ("ontology", "shapes"):
            for chunk in layer_quads(out, layer):
                peers.write(chunk)
    for city, lines in gen.files(args.triples):
        text = "".join(lines)
        (out / "data" / f"{city}.ttl").write_text(
            "# SYNTHETIC benchmark data written by bench/generate.py; not real facts.\n" + text,
            encoding="utf-8")
        if peers:
            graph = f" <{GRAPH}data/{city}> .\n"
            peers.write("".join(line[:-3] + graph for line in lines))
        data_triples += len(lines)
        municipalities += 1
    if peers:
        peers.close()
    manifest = {"seed": args.seed, "requested_triples": args.triples,
                "data_triples": data_triples, "municipalities": municipalities,
                "samples": gen.samples, "seconds": round(time.perf_counter() - started, 2)}
    (out / "bench-manifest.json").write_text(json.dumps(manifest, indent=1))
    print(json.dumps(manifest), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
