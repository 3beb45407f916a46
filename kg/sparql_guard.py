"""Look at a SPARQL request before anything runs it: its form, and every SERVICE it calls.

pyoxigraph really sends HTTP requests for ``SERVICE`` (with no timeout), so the endpoint
must find every ``SERVICE`` keyword *before* the query reaches the engine. A small lexer
does it: it skips comments, strings and IRIs, so ``"SERVICE"`` in a string, ``# SERVICE``
in a comment, ``?service`` variables and prefixed names such as ``ex:SERVICE`` are not
mistaken for the keyword, and it resolves the endpoint written after the keyword (an IRI,
relative to ``BASE``, or a prefixed name) to compare it with the allow-list.

SPARQL lets ``\\uXXXX`` escapes stand anywhere in a query; the text is lexed as written
and again with every escape replaced, and a call found by either reading counts. When in
doubt (an endpoint that is a variable or cannot be resolved), the call is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urljoin

Form = Literal["select", "ask", "construct", "describe", "update", "unknown"]

UPDATE_KEYWORDS = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD",
                             "MOVE", "COPY", "WITH"})
QUERY_KEYWORDS = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"})

_PN_CHARS_BASE = ("A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff"
                  "\u200c-\u200d\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf"
                  "\ufdf0-\ufffd\U00010000-\U000effff")
_PN_CHARS = _PN_CHARS_BASE + "_\\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_ESCAPE = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"

_TOKEN = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<comment>#[^\n\r]*)"
    rf"|(?P<iri><(?:[^<>\"{{}}|^`\\\x00-\x20]|{_ESCAPE})*>)"
    r"|(?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^\"\\]|\\.|\"(?!\"\"))*\"\"\""
    r"|'(?:[^'\\\n\r]|\\.)*'|\"(?:[^\"\\\n\r]|\\.)*\")"
    rf"|(?P<var>[?$][{_PN_CHARS}]*)"
    rf"|(?P<pname>(?:[{_PN_CHARS_BASE}](?:[{_PN_CHARS}.]*[{_PN_CHARS}])?)?:"
    rf"(?:(?:[{_PN_CHARS}:]|%[0-9A-Fa-f]{{2}}|\\[_~.\-!$&'()*+,;=/?#@%])"
    rf"(?:[{_PN_CHARS}.:]|%[0-9A-Fa-f]{{2}}|\\[_~.\-!$&'()*+,;=/?#@%])*)?)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<integer>[0-9]+)"
    r"|(?P<other>.)",
    re.DOTALL,
)
_UNICODE_ESCAPE = re.compile(_ESCAPE)
_LOCAL_ESCAPE = re.compile(r"\\([_~.\-!$&'()*+,;=/?#@%])")


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


@dataclass
class ServiceCall:
    """One SERVICE clause: the endpoint IRI it names, or None when that is not knowable."""

    endpoint: str | None
    written: str


@dataclass
class QueryInfo:
    """What the lexer learnt about a request's text."""

    form: Form
    services: list[ServiceCall] = field(default_factory=list)
    has_dataset: bool = False  # a FROM or FROM NAMED clause
    deepest: int = 0  # the deepest nesting of brackets ({, ( and [)
    unions: int = 0  # UNION keywords
    #: The number after a LIMIT outside every brace: the outermost query's own limit.
    outer_limit: int | None = None
    #: A VALUES outside every brace: the query ends with a trailing VALUES block.
    outer_values: bool = False
    has_graph: bool = False  # a GRAPH keyword: a pattern on named graphs

    def refused_services(self, allowlist: tuple[str, ...] | list[str]) -> list[ServiceCall]:
        """The SERVICE calls whose endpoint is not on ``allowlist`` (exact IRI match)."""
        allowed = set(allowlist)
        return [s for s in self.services if s.endpoint is None or s.endpoint not in allowed]


def unescape_codepoints(text: str) -> str:
    """Replace ``\\uXXXX`` and ``\\UXXXXXXXX`` escapes by the characters they stand for."""
    def one(match: re.Match[str]) -> str:
        code = int(match.group(0)[2:], 16)
        return chr(code) if code <= 0x10FFFF else match.group(0)
    return _UNICODE_ESCAPE.sub(one, text)


def tokens(text: str) -> list[Token]:
    """The tokens of ``text`` without whitespace and comments."""
    found = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind in ("ws", "comment"):
            continue
        found.append(Token(kind, match.group(0)))
    return found


def inspect_query(text: str) -> QueryInfo:
    """The form of ``text`` and every SERVICE clause in it, read both with and without
    resolving ``\\u`` escapes."""
    info = _inspect(text)
    unescaped = unescape_codepoints(text)
    if unescaped != text:
        other = _inspect(unescaped)
        info.services.extend(other.services)
        info.has_dataset = info.has_dataset or other.has_dataset
        info.has_graph = info.has_graph or other.has_graph
        info.deepest = max(info.deepest, other.deepest)
        info.unions = max(info.unions, other.unions)
        info.outer_values = info.outer_values or other.outer_values
        if info.outer_limit != other.outer_limit:
            info.outer_limit = None  # the two readings disagree: know no limit
        if info.form == "unknown" or "update" in (info.form, other.form):
            info.form = other.form if other.form != "unknown" else info.form
    return info


def _inspect(text: str) -> QueryInfo:
    toks = tokens(text)
    base: str | None = None
    prefixes: dict[str, str] = {}
    form: Form = "unknown"
    services: list[ServiceCall] = []
    i = 0
    # The prologue: BASE and PREFIX declarations, then the first keyword names the form.
    while i < len(toks):
        word = toks[i].text.upper() if toks[i].kind == "word" else ""
        if word == "BASE" and i + 1 < len(toks) and toks[i + 1].kind == "iri":
            base = _resolve(_iri_text(toks[i + 1].text), base)
            i += 2
            continue
        if word == "PREFIX" and i + 2 < len(toks) and toks[i + 1].kind == "pname" \
                and toks[i + 2].kind == "iri":
            prefixes[toks[i + 1].text.rstrip(":").split(":")[0]] = \
                _resolve(_iri_text(toks[i + 2].text), base)
            i += 3
            continue
        if word in QUERY_KEYWORDS:
            form = word.lower()  # type: ignore[assignment]
        elif word in UPDATE_KEYWORDS:
            form = "update"
        break
    # Updates may hold several operations with their own prologues; any update keyword at
    # the start of an operation (after ';') also makes the request an update.
    depth = braces = deepest = unions = 0
    outer_limit: int | None = None
    outer_values = False
    for j, tok in enumerate(toks):
        if tok.kind == "other":
            if tok.text in "{([":
                depth += 1
                deepest = max(deepest, depth)
                braces += tok.text == "{"
            elif tok.text in "})]":
                depth -= 1
                braces -= tok.text == "}"
            continue
        if tok.kind != "word":
            continue
        upper = tok.text.upper()
        if upper == "UNION":
            unions += 1
        elif braces == 0 and upper == "VALUES":
            outer_values = True
        elif braces == 0 and upper == "LIMIT" and j + 1 < len(toks) \
                and toks[j + 1].kind == "integer":
            outer_limit = int(toks[j + 1].text)
        if upper == "PREFIX" and j + 2 < len(toks) and toks[j + 1].kind == "pname" \
                and toks[j + 2].kind == "iri":
            prefixes[toks[j + 1].text.split(":")[0]] = \
                _resolve(_iri_text(toks[j + 2].text), base)
        if upper == "SERVICE":
            k = j + 1
            if k < len(toks) and toks[k].kind == "word" and toks[k].text.upper() == "SILENT":
                k += 1
            target = toks[k] if k < len(toks) else Token("other", "")
            services.append(ServiceCall(_endpoint(target, base, prefixes), target.text))
        if upper in UPDATE_KEYWORDS and j > 0 and toks[j - 1].text == ";" \
                and form == "unknown":
            form = "update"
    words = {t.text.upper() for t in toks if t.kind == "word"}
    return QueryInfo(form, services, "FROM" in words, deepest, unions, outer_limit,
                     outer_values, has_graph="GRAPH" in words)


def _iri_text(token: str) -> str:
    return unescape_codepoints(token[1:-1])


def _resolve(iri: str, base: str | None) -> str:
    if base and not re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", iri):
        return urljoin(base, iri)
    return iri


def _endpoint(token: Token, base: str | None, prefixes: dict[str, str]) -> str | None:
    if token.kind == "iri":
        return _resolve(_iri_text(token.text), base)
    if token.kind == "pname":
        prefix, _, local = token.text.partition(":")
        if prefix not in prefixes:
            return None
        return prefixes[prefix] + _LOCAL_ESCAPE.sub(r"\1", unescape_codepoints(local))
    return None


def services_by_algebra(text: str) -> list[str | None]:
    """Every SERVICE endpoint of ``text`` as an independent parser (rdflib's) reads it, from
    the query's algebra rather than its tokens; None for an endpoint given by a variable.

    Raises ValueError when rdflib cannot parse the query. Used only to admit a query to the
    explicitly permitted network path, together with :func:`inspect_query`: both readings
    must agree that every call is on the allow-list.
    """
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery
    from rdflib.plugins.sparql.parserutils import CompValue
    from rdflib.term import URIRef

    try:
        algebra = translateQuery(parseQuery(text)).algebra
    except Exception as err:  # pyparsing and rdflib raise many kinds
        raise ValueError(f"rdflib cannot read the query: {type(err).__name__}") from None
    found: list[str | None] = []
    todo: list[object] = [algebra]
    seen: set[int] = set()
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, CompValue):
            if node.name == "ServiceGraphPattern":
                term = node.get("term")
                found.append(str(term) if isinstance(term, URIRef) else None)
            todo.extend(node.values())
        elif isinstance(node, list | tuple):
            todo.extend(node)
    return found
