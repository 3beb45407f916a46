"""Where each resource of a submission is first stated: line and column in the submitted text.

pyoxigraph parses a submission but keeps no positions of its triples. This module finds, for
every subject of the parsed graph, the place in the text where it is first the subject of a
statement, with a method that fits each syntax:

* **Turtle, TriG** — a tokenizer (IRIs, prefixed names, blank node labels, strings, numbers,
  punctuation) and a small recursive-descent reader of the statement structure that
  expands prefixed names and relative IRIs as the parser does; the position is that of the
  subject term, of the ``[`` that opens an anonymous node, or of a collection's member.
* **N-Triples, N-Quads** — the first term of each line.
* **RDF/XML** — expat's line and column of the node element (``rdf:about``,
  ``rdf:nodeID``, ``rdf:ID`` or none), with ``xml:base`` followed.
* **JSON-LD** — a JSON reader that keeps positions: the position of the ``"@id"`` value
  (or of the ``{`` of a node object without one), with prefixes, ``@base`` and aliases of
  ``@id`` from the document's own contexts.

Anonymous blank nodes get new labels from the parser; they are matched to the text by their
place in the structure: the node (resource or another blank node) and property they hang
from and their rank among the anonymous objects of that pair, or, for anonymous subjects,
their rank among them. Whatever cannot be matched gets no position (never a wrong one for a
node the scan did not see).

Runs in the confined worker, on text the parser has already accepted. Lines and columns are
1-based; a column counts characters (code points).
"""

from __future__ import annotations

import bisect
import json
import re
import xml.parsers.expat
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import pyoxigraph as ox

RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDF_TYPE = RDF_NS + "type"
RDF_FIRST = RDF_NS + "first"
RDF_REST = RDF_NS + "rest"
XML_BASE = "http://www.w3.org/XML/1998/namespacebase"

Position = tuple[int, int | None]
#: The key of a node in the text: an IRI, ``_:label``, or a structural key of an
#: anonymous blank node (parent key, property, rank) / ("root", rank).
Key = Any


# --- text and offsets -----------------------------------------------------------------


class _Lines:
    """Offsets in a text → (line, column), both 1-based, columns in characters."""

    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def at(self, offset: int) -> Position:
        line = bisect.bisect_right(self.starts, offset) - 1
        return line + 1, offset - self.starts[line] + 1


def _decode(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return text[1:] if text.startswith("\ufeff") else text


def _resolve(base: str | None, iri: str) -> str:
    if base is None or re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", iri):
        return iri
    return urljoin(base, iri)


# --- the structure every scanner fills -----------------------------------------------------


@dataclass
class _Scan:
    """What a scanner saw: the first position of each node as subject, and the keys of
    anonymous nodes."""

    first: dict[Key, Position] = field(default_factory=dict)
    ranks: dict[tuple[Key, str], int] = field(default_factory=dict)
    roots: int = 0
    labels: set[str] = field(default_factory=set)

    def stated(self, key: Key, where: Position) -> None:
        self.first.setdefault(key, where)

    def anonymous(self, parent: Key | None, predicate: str | None) -> Key:
        if parent is None:
            self.roots += 1
            return ("root", self.roots - 1)
        rank = self.ranks.get((parent, predicate), 0)  # type: ignore[arg-type]
        self.ranks[(parent, predicate)] = rank + 1  # type: ignore[index]
        return (parent, predicate, rank)


# --- Turtle and TriG ------------------------------------------------------------------------

_PN_CHARS = r"A-Za-z0-9_\-\u00B7\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u037D\u037F-\u1FFF" \
    r"\u200C\u200D\u203F\u2040\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF" \
    r"\uFDF0-\uFFFD\U00010000-\U000EFFFF"
_LOCAL = rf"(?:[{_PN_CHARS}:]|%[0-9A-Fa-f]{{2}}|\\[_~.\-!$&'()*+,;=/?#@%])"
_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r\n]+|\#[^\n]*)
    |(?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)
    |(?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
        |"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*')
    |(?P<bnode>_:[""" + _PN_CHARS + r"""](?:[""" + _PN_CHARS + r""".]*[""" + _PN_CHARS
    + r"""])?)
    |(?P<at>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    |(?P<number>[+-]?(?:\d+\.\d*[eE][+-]?\d+|\.\d+[eE][+-]?\d+|\d+[eE][+-]?\d+|\d*\.\d+|\d+))
    |(?P<pname>(?:[A-Za-z\u00C0-\uFFFF](?:[""" + _PN_CHARS + r""".]*[""" + _PN_CHARS
    + r"""])?)?:(?:""" + _LOCAL + r"""(?:(?:""" + _LOCAL + r"""|\.)*""" + _LOCAL
    + r""")?)?)
    |(?P<word>[A-Za-z]+)
    |(?P<punct>\^\^|[\[\](){},;.=])
    """, re.VERBOSE)
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_LOCAL_ESCAPE = re.compile(r"\\([_~.\-!$&'()*+,;=/?#@%])")


@dataclass
class _Token:
    kind: str
    text: str
    offset: int


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    offset = 0
    while offset < len(text):
        match = _TOKEN.match(text, offset)
        if match is None:
            raise ValueError(f"unexpected character at {offset}")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(_Token(kind, match.group(), offset))
        offset = match.end()
    return tokens


class _TurtleReader:
    """Reads the statement structure of Turtle (and TriG) tokens into a :class:`_Scan`."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.lines = _Lines(text)
        self.i = 0
        self.base: str | None = None
        self.prefixes: dict[str, str] = {}
        self.scan = _Scan()

    # tokens
    def peek(self, ahead: int = 0) -> _Token | None:
        index = self.i + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def next(self) -> _Token:
        token = self.peek()
        if token is None:
            raise ValueError("unexpected end")
        self.i += 1
        return token

    def expect(self, text: str) -> None:
        token = self.next()
        if token.text != text:
            raise ValueError(f"expected {text!r} at {token.offset}")

    def where(self, token: _Token) -> Position:
        return self.lines.at(token.offset)

    # terms
    def iri(self, token: _Token) -> str:
        if token.kind == "iri":
            raw = _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)),
                              token.text[1:-1])
            return _resolve(self.base, raw)
        prefix, _, local = token.text.partition(":")
        if prefix not in self.prefixes:
            raise ValueError(f"unknown prefix {prefix!r}")
        return self.prefixes[prefix] + _LOCAL_ESCAPE.sub(r"\1", local)

    # the grammar
    def read(self) -> _Scan:
        depth = 0  # TriG graph blocks
        while self.peek() is not None:
            token = self.next()
            if token.kind == "at" and token.text in ("@prefix", "@base"):
                self.directive(token.text[1:])
                self.expect(".")
            elif token.kind == "word" and token.text.upper() in ("PREFIX", "BASE"):
                self.directive(token.text.lower())
            elif token.kind == "word" and token.text.upper() == "GRAPH":
                self.next()  # the graph's name
            elif token.text == "{":
                depth += 1
            elif token.text == "}":
                depth = max(0, depth - 1)
            elif token.text == "." and depth:
                continue
            else:
                following = self.peek()
                if token.kind in ("iri", "pname", "bnode") and following is not None \
                        and following.text == "{":
                    continue  # a TriG graph label
                self.i -= 1
                self.triples()
                token = self.peek()
                if token is not None and token.text == ".":
                    self.next()
                elif not (depth and token is not None and token.text == "}"):
                    raise ValueError("expected '.'")
        return self.scan

    def directive(self, which: str) -> None:
        if which == "prefix":
            name = self.next()
            iri = self.next()
            self.prefixes[name.text[:-1]] = self.iri(iri)
        else:
            self.base = self.iri(self.next())

    def triples(self) -> None:
        token = self.next()
        if token.text == "[":
            subject = self.scan.anonymous(None, None)
            if self.peek() is not None and self.peek().text == "]":  # type: ignore[union-attr]
                self.next()
                self.predicate_objects(subject, token)
                return
            self.predicate_objects(subject, token)
            self.expect("]")
            nxt = self.peek()
            if nxt is not None and nxt.text not in (".", "}"):
                self.predicate_objects(subject, token)
            return
        if token.text == "(":
            subject = self.collection(None, None, token)
            self.predicate_objects(subject, token)
            return
        subject = self.node(token)
        self.predicate_objects(subject, token)

    def node(self, token: _Token) -> Key:
        if token.kind == "bnode":
            self.scan.labels.add(token.text[2:])
            return token.text
        if token.kind in ("iri", "pname"):
            return self.iri(token)
        raise ValueError(f"not a subject at {token.offset}")

    def predicate_objects(self, subject: Key, at: _Token) -> None:
        while True:
            token = self.next()
            predicate = RDF_TYPE if token.kind == "word" and token.text == "a" \
                else self.iri(token)
            self.scan.stated(subject, self.where(at))
            self.objects(subject, predicate)
            while self.peek() is not None and self.peek().text == ";":  # type: ignore[union-attr]
                self.next()
            nxt = self.peek()
            if nxt is None or nxt.text in (".", "]", "}"):
                return

    def objects(self, subject: Key, predicate: str) -> None:
        self.object(subject, predicate)
        while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
            self.next()
            self.object(subject, predicate)

    def object(self, subject: Key, predicate: str) -> None:
        token = self.next()
        if token.text == "[":
            node = self.scan.anonymous(subject, predicate)
            if self.peek() is not None and self.peek().text != "]":  # type: ignore[union-attr]
                self.predicate_objects(node, token)
            self.expect("]")
        elif token.text == "(":
            self.collection(subject, predicate, token)
        elif token.kind == "string":
            nxt = self.peek()
            if nxt is not None and nxt.kind == "at":
                self.next()
            elif nxt is not None and nxt.text == "^^":
                self.next()
                self.next()
        elif token.kind in ("number",) or (token.kind == "word"
                                           and token.text in ("true", "false")):
            pass
        else:
            self.node(token)

    def collection(self, parent: Key | None, predicate: str | None, opening: _Token) -> Key:
        """The cells of ``( … )``; returns the first cell's key (rdf:nil when empty)."""
        first: Key = RDF_NS + "nil"
        cell: Key = None
        while self.peek() is not None and self.peek().text != ")":  # type: ignore[union-attr]
            item = self.peek()
            assert item is not None
            if cell is None:
                cell = self.scan.anonymous(parent, predicate)
                first = cell
            else:
                cell = self.scan.anonymous(cell, RDF_REST)
            self.scan.stated(cell, self.where(item))
            self.object(cell, RDF_FIRST)
        self.expect(")")
        del opening
        return first


# --- N-Triples and N-Quads ------------------------------------------------------------------

_NT_SUBJECT = re.compile(r"[ \t]*(<[^>]*>|_:[^\s<]+)")


def _scan_lines(text: str) -> _Scan:
    scan = _Scan()
    for number, line in enumerate(text.split("\n"), start=1):
        found = _NT_SUBJECT.match(line)
        if found is None:
            continue
        term = found.group(1)
        if term.startswith("<"):
            key: Key = _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), term[1:-1])
        else:
            key = term
            scan.labels.add(term[2:])
        scan.stated(key, (number, len(line[:found.start(1)]) + 1))
    return scan


# --- RDF/XML --------------------------------------------------------------------------------


class _XmlReader:
    """Node elements, property elements and their nesting, read with expat."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.scan = _Scan()
        self.parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
        self.parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        # a stack of frames: ("node", key, base) or ("property", subject, iri, base, cells)
        self.stack: list[dict[str, Any]] = []
        self.literal_depth = 0

    def read(self) -> _Scan:
        self.parser.Parse(self.data, True)
        return self.scan

    def where(self) -> Position:
        return self.parser.CurrentLineNumber, self.parser.CurrentColumnNumber + 1

    @staticmethod
    def name(qname: str) -> str:
        namespace, _, local = qname.partition(" ")
        return namespace + local if local else qname

    def base(self, attrs: dict[str, str]) -> str | None:
        inherited = self.stack[-1]["base"] if self.stack else None
        if XML_BASE in attrs:
            return _resolve(inherited, attrs[XML_BASE])
        return inherited

    def start(self, qname: str, attrs: dict[str, str]) -> None:
        if self.literal_depth:
            self.literal_depth += 1
            return
        name = self.name(qname)
        attrs = {self.name(k): v for k, v in attrs.items()}
        base = self.base(attrs)
        parent = self.stack[-1] if self.stack else None
        if parent is None and name == RDF_NS + "RDF":
            self.stack.append({"kind": "rdf", "base": base})
            return
        if parent is None or parent["kind"] in ("rdf", "property"):
            self.node_element(attrs, base, parent)
        else:
            self.property_element(name, attrs, base, parent)

    def node_element(self, attrs: dict[str, str], base: str | None,
                     parent: dict[str, Any] | None) -> None:
        hanging: Key | None = None  # the node and property this node element hangs from
        predicate: str | None = None
        if parent is not None and parent["kind"] == "property":
            if parent.get("collection"):  # a new cell of the list, then the member
                cell = (self.scan.anonymous(parent["subject"], parent["iri"])
                        if parent["cell"] is None
                        else self.scan.anonymous(parent["cell"], RDF_REST))
                parent["cell"] = cell
                self.scan.stated(cell, self.where())
                hanging, predicate = cell, RDF_FIRST
            else:
                hanging, predicate = parent["subject"], parent["iri"]
        if RDF_NS + "about" in attrs:
            key: Key = _resolve(base, attrs[RDF_NS + "about"])
        elif RDF_NS + "ID" in attrs:
            key = _resolve(base, "#" + attrs[RDF_NS + "ID"])
        elif RDF_NS + "nodeID" in attrs:
            key = "_:" + attrs[RDF_NS + "nodeID"]
            self.scan.labels.add(attrs[RDF_NS + "nodeID"])
        else:
            key = self.scan.anonymous(hanging, predicate)
        # a node element states its node (its type, attributes or property elements)
        self.scan.stated(key, self.where())
        self.stack.append({"kind": "node", "key": key, "base": base})

    def property_element(self, name: str, attrs: dict[str, str], base: str | None,
                         parent: dict[str, Any]) -> None:
        subject = parent["key"]
        frame: dict[str, Any] = {"kind": "property", "subject": subject, "iri": name,
                                 "base": base, "cell": None}
        parse_type = attrs.get(RDF_NS + "parseType")
        if parse_type == "Resource":
            key = self.scan.anonymous(subject, name)
            self.scan.stated(key, self.where())
            self.stack.append({"kind": "node", "key": key, "base": base})
            return
        if parse_type == "Collection":
            frame["collection"] = True
        elif parse_type is not None:
            self.literal_depth = 1
            return
        own = [a for a in attrs if not a.startswith((RDF_NS, "http://www.w3.org/XML/"))]
        if own:  # property attributes on a property element: a node of their own
            if RDF_NS + "resource" in attrs:
                key = _resolve(base, attrs[RDF_NS + "resource"])
            elif RDF_NS + "nodeID" in attrs:
                key = "_:" + attrs[RDF_NS + "nodeID"]
            else:
                key = self.scan.anonymous(subject, name)
            self.scan.stated(key, self.where())
        self.stack.append(frame)

    def end(self, qname: str) -> None:
        if self.literal_depth:
            self.literal_depth -= 1
            return
        if self.stack:
            self.stack.pop()


# --- JSON-LD --------------------------------------------------------------------------------


@dataclass
class _Json:
    """A JSON value with the offset of its first character (objects keep their keys')."""

    value: Any
    offset: int
    keys: dict[str, int] = field(default_factory=dict)


_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]


def _json(text: str, offset: int = 0) -> tuple[_Json, int]:
    offset = _JSON_SPACE.match(text, offset).end()  # type: ignore[union-attr]
    char = text[offset]
    if char == "{":
        start, offset = offset, offset + 1
        members: dict[str, _Json] = {}
        keys: dict[str, int] = {}
        offset = _JSON_SPACE.match(text, offset).end()  # type: ignore[union-attr]
        if text[offset] == "}":
            return _Json(members, start, keys), offset + 1
        while True:
            offset = _JSON_SPACE.match(text, offset).end()  # type: ignore[union-attr]
            key_at = offset
            key, offset = _scanstring(text, offset + 1)
            offset = _JSON_SPACE.match(text, offset).end()  # type: ignore[union-attr]
            offset += 1  # ':'
            value, offset = _json(text, offset)
            members[key] = value
            keys[key] = key_at
            offset = _JSON_SPACE.match(text, offset).end()  # type: ignore[union-attr]
            if text[offset] == "}":
                return _Json(members, start, keys), offset + 1
            offset += 1  # ','
    if char == "[":
        start, offset = offset, offset + 1
        items: list[_Json] = []
        offset = _JSON_SPACE.match(text, offset).end()  # type: ignore[union-attr]
        if text[offset] == "]":
            return _Json(items, start), offset + 1
        while True:
            item, offset = _json(text, offset)
            items.append(item)
            offset = _JSON_SPACE.match(text, offset).end()  # type: ignore[union-attr]
            if text[offset] == "]":
                return _Json(items, start), offset + 1
            offset += 1
    if char == '"':
        value, end = _scanstring(text, offset + 1)
        return _Json(value, offset), end
    for word, value in (("true", True), ("false", False), ("null", None)):
        if text.startswith(word, offset):
            return _Json(value, offset), offset + len(word)
    number = _JSON_NUMBER.match(text, offset)
    if number is None:
        raise ValueError(f"not JSON at {offset}")
    return _Json(float(number.group()), offset), number.end()


@dataclass
class _Context:
    base: str | None = None
    vocab: str | None = None
    terms: dict[str, dict[str, Any]] = field(default_factory=dict)

    def copy(self) -> _Context:
        return _Context(self.base, self.vocab, dict(self.terms))


class _JsonLdReader:
    """Node objects of a JSON-LD document and the IRIs of their ``@id``s."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = _Lines(text)
        self.scan = _Scan()

    def read(self) -> _Scan:
        document, _ = _json(self.text)
        self.value(document, _Context(), None, None, top=True)
        return self.scan

    # contexts
    def context(self, active: _Context, local: _Json) -> _Context:
        result = active.copy()
        for item in local.value if isinstance(local.value, list) else [local]:
            if item.value is None:
                result = _Context()
                continue
            if not isinstance(item.value, dict):
                continue  # a remote context: refused before this point
            definitions = {k: v.value for k, v in item.value.items()}
            if "@base" in definitions:
                base = definitions["@base"]
                result.base = None if base is None else _resolve(result.base, str(base))
            if "@vocab" in definitions:
                vocab = definitions["@vocab"]
                result.vocab = None if vocab is None else self.expand(result, str(vocab),
                                                                      vocab=True)
            pending = {k: v for k, v in definitions.items() if not k.startswith("@")}
            for _ in range(len(pending) + 1):  # terms may use each other's prefixes
                for term, definition in pending.items():
                    result.terms[term] = self.definition(result, term, definition)
        return result

    def definition(self, active: _Context, term: str, definition: Any) -> dict[str, Any]:
        if definition is None:
            return {"id": None}
        if isinstance(definition, str):
            return {"id": self.expand(active, definition, vocab=True)}
        if not isinstance(definition, dict):
            return {"id": None}
        raw = {k: (v.value if isinstance(v, _Json) else v) for k, v in definition.items()}
        if "@reverse" in raw:
            return {"id": None, "reverse": True}
        iri = raw.get("@id", term)
        return {"id": None if iri is None else self.expand(active, str(iri), vocab=True),
                "type": raw.get("@type"), "container": raw.get("@container"),
                "context": definition.get("@context")}

    def expand(self, active: _Context, value: str, *, vocab: bool) -> str:
        if value.startswith("@"):
            return value
        if vocab and value in active.terms and active.terms[value].get("id"):
            return str(active.terms[value]["id"])
        prefix, colon, suffix = value.partition(":")
        if colon and not suffix.startswith("//") and prefix != "_":
            if prefix in active.terms and active.terms[prefix].get("id"):
                return str(active.terms[prefix]["id"]) + suffix
            return value
        if colon:
            return value
        if vocab and active.vocab is not None:
            return active.vocab + value
        return _resolve(active.base, value) if not vocab else value

    def keyword(self, active: _Context, key: str) -> str:
        if key.startswith("@"):
            return key
        target = active.terms.get(key, {}).get("id")
        if isinstance(target, str) and target.startswith("@"):
            return target
        return key

    # values and node objects
    def value(self, item: _Json, active: _Context, parent: Key | None,
              predicate: str | None, *, top: bool = False, coerce_id: bool = False) -> None:
        if isinstance(item.value, list):
            for element in item.value:
                self.value(element, active, parent, predicate, top=top, coerce_id=coerce_id)
            return
        if not isinstance(item.value, dict):
            return
        members: dict[str, _Json] = item.value
        if "@context" in members:
            active = self.context(active, members["@context"])
        keys = {self.keyword(active, k): k for k in members}
        if "@value" in keys:
            return
        if "@list" in keys:
            self.list(members[keys["@list"]], active, parent, predicate)
            return
        if "@set" in keys:
            self.value(members[keys["@set"]], active, parent, predicate)
            return
        properties = [k for k in members if self.keyword(active, k) not in (
            "@id", "@context", "@index")]
        graph_only = top and "@graph" in keys and "@id" not in keys and all(
            self.keyword(active, k) in ("@graph", "@context") for k in members)
        if graph_only:
            self.value(members[keys["@graph"]], active, None, None)
            return
        if "@id" in keys and isinstance(members[keys["@id"]].value, str):
            raw = str(members[keys["@id"]].value)
            key: Key = raw if raw.startswith("_:") else self.expand(active, raw, vocab=False)
            if raw.startswith("_:"):
                self.scan.labels.add(raw[2:])
            where = self.lines.at(members[keys["@id"]].offset)
        else:
            if parent is None and not properties:
                return  # an empty node object at the top states nothing, makes no node
            key = self.scan.anonymous(parent, predicate)
            where = self.lines.at(item.offset)
        if any(self.keyword(active, k) not in ("@id", "@context", "@index", "@graph")
               for k in members):
            self.scan.stated(key, where)
        self.properties(members, active, key)

    def properties(self, members: dict[str, _Json], active: _Context, subject: Key) -> None:
        for name, member in members.items():
            keyword = self.keyword(active, name)
            if keyword == "@graph":
                self.value(member, active, None, None)
                continue
            if keyword == "@included":
                self.value(member, active, None, None)
                continue
            if keyword == "@nest":
                for nested in member.value if isinstance(member.value, list) else [member]:
                    if isinstance(nested.value, dict):
                        self.properties(nested.value, active, subject)
                continue
            if keyword.startswith("@"):
                continue
            definition = active.terms.get(name, {})
            if definition.get("reverse"):
                continue
            iri = self.expand(active, name, vocab=True)
            scoped = active
            if definition.get("context") is not None:
                scoped = self.context(active, definition["context"])
            container = definition.get("container")
            containers = set(container if isinstance(container, list) else [container])
            if "@list" in containers and isinstance(member.value, list):
                self.list(member, scoped, subject, iri)
            elif containers & {"@index", "@language", "@type", "@id"} and isinstance(
                    member.value, dict):
                if "@language" in containers:
                    continue
                for entry in member.value.values():
                    self.value(entry, scoped, subject, iri)
            else:
                self.value(member, scoped, subject, iri)

    def list(self, member: _Json, active: _Context, parent: Key | None,
             predicate: str | None) -> None:
        items = member.value if isinstance(member.value, list) else [member]
        cell: Key = None
        for item in items:
            if item.value is None:
                continue
            cell = self.scan.anonymous(parent, predicate) if cell is None else \
                self.scan.anonymous(cell, RDF_REST)
            self.scan.stated(cell, self.lines.at(item.offset))
            self.value(item, active, cell, RDF_FIRST)


# --- matching the parsed graph --------------------------------------------------------------


def _graph_keys(quads: Iterable[ox.Quad], labels: set[str]
                ) -> tuple[dict[str, Key], dict[Key, int], int]:
    """The structural key of every subject of the parsed triples, as the scanners build it;
    with the number of anonymous objects of each (node, property) pair, and of roots."""
    incoming: dict[str, list[tuple[ox.NamedNode | ox.BlankNode, str]]] = {}
    order: list[str] = []
    subjects: dict[str, ox.NamedNode | ox.BlankNode] = {}
    siblings: dict[tuple[str, str], list[str]] = {}
    for quad in quads:
        subject, obj = quad.subject, quad.object
        for node in (subject, obj):
            if isinstance(node, ox.BlankNode) and node.value not in labels \
                    and node.value not in incoming:
                incoming[node.value] = []
                order.append(node.value)
        if isinstance(subject, (ox.NamedNode, ox.BlankNode)):
            subjects.setdefault(_show(subject), subject)
        if isinstance(obj, ox.BlankNode) and obj.value not in labels:
            incoming[obj.value].append((subject, quad.predicate.value))  # type: ignore[arg-type]
            family = siblings.setdefault((_show(subject), quad.predicate.value), [])  # type: ignore[arg-type]
            if obj.value not in family:
                family.append(obj.value)
    roots = [b for b in order if not incoming[b]]
    memo: dict[str, Key] = {}

    def key(node: ox.NamedNode | ox.BlankNode, depth: int = 0) -> Key:
        if isinstance(node, ox.NamedNode):
            return node.value
        if node.value in labels:
            return "_:" + node.value
        if node.value in memo:
            return memo[node.value]
        found: Key = None
        parents = incoming.get(node.value, [])
        if not parents:
            found = ("root", roots.index(node.value))
        elif len(parents) == 1 and depth < 500:
            parent, predicate = parents[0]
            parent_key = key(parent, depth + 1)
            if parent_key is not None:
                rank = siblings[(_show(parent), predicate)].index(node.value)
                found = (parent_key, predicate, rank)
        memo[node.value] = found
        return found

    keys = {shown: key(node) for shown, node in subjects.items()}
    sizes: dict[Key, int] = {}
    for (parent, predicate), family in siblings.items():
        parent_key = key(subjects[parent]) if parent in subjects else None
        if parent_key is not None:
            sizes[(parent_key, predicate)] = len(family)
    return keys, sizes, len(roots)


def _consistent(key: Key, scan: _Scan, sizes: dict[Key, int], roots: int) -> bool:
    """Whether every step of an anonymous node's key was counted alike in text and graph."""
    while isinstance(key, tuple):
        if key[0] == "root":
            return scan.roots == roots
        parent, predicate, _ = key
        if scan.ranks.get((parent, predicate)) != sizes.get((parent, predicate)):
            return False
        key = parent
    return True


def _show(node: ox.NamedNode | ox.BlankNode) -> str:
    """A node as results show their focus node: an IRI, or ``_:label``."""
    return node.value if isinstance(node, ox.NamedNode) else "_:" + node.value


def _scan(data: bytes, syntax: str) -> _Scan:
    if syntax in ("turtle", "trig", "n3"):
        return _TurtleReader(_decode(data)).read()
    if syntax in ("ntriples", "nquads"):
        return _scan_lines(_decode(data))
    if syntax == "rdfxml":
        return _XmlReader(data).read()
    if syntax == "jsonld":
        return _JsonLdReader(_decode(data)).read()
    return _Scan()


def first_statements(data: bytes, syntax: str, quads: list[ox.Quad]) -> dict[str, Position]:
    """For each subject of ``quads`` (parsed from ``data`` in ``syntax``), as a result shows
    it (IRI or ``_:label``): the line and column where the text first states it."""
    try:
        scan = _scan(data, syntax)
    except (ValueError, IndexError, KeyError, xml.parsers.expat.ExpatError, RecursionError):
        return {}  # the parser accepted it; a scan that cannot follow gives no positions
    keys, sizes, roots = _graph_keys(quads, scan.labels)
    positions: dict[str, Position] = {}
    for shown, key in keys.items():
        if key is not None and key in scan.first and _consistent(key, scan, sizes, roots):
            positions[shown] = scan.first[key]
    return positions
