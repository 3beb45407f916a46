"""Content negotiation: pick a media type from an Accept header (q-values, wildcards)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from api.errors import ApiError
from kg.errors import UnsupportedFormatError
from kg.formats import Format, syntax_named


@dataclass(frozen=True)
class AcceptItem:
    media_range: str
    q: float
    order: int

    @property
    def specificity(self) -> int:
        if self.media_range == "*/*":
            return 0
        return 1 if self.media_range.endswith("/*") else 2

    def matches(self, media_type: str) -> bool:
        if self.media_range == "*/*":
            return True
        if self.media_range.endswith("/*"):
            return media_type.split("/", 1)[0] == self.media_range[:-2]
        return media_type == self.media_range


def parse_accept(header: str | None) -> list[AcceptItem]:
    """The items of an Accept header; a missing or empty header accepts everything."""
    if not header or not header.strip():
        return [AcceptItem("*/*", 1.0, 0)]
    items = []
    for order, part in enumerate(header.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media_range = pieces[0].lower()
        if not media_range or "/" not in media_range:
            continue
        q = 1.0
        for param in pieces[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        items.append(AcceptItem(media_range, q, order))
    return items


def negotiate(header: str | None, offers: list[str]) -> str | None:
    """The offer the client prefers most; ties go to the earlier offer. None: 406.

    Each offer takes the q-value of the most specific media range that matches it.
    """
    items = parse_accept(header)
    best: tuple[float, int] | None = None
    chosen = None
    for rank, offer in enumerate(offers):
        matching = [i for i in items if i.matches(offer)]
        if not matching:
            continue
        most_specific = max(matching, key=lambda i: (i.specificity, -i.order))
        if most_specific.q <= 0:
            continue
        key = (most_specific.q, -rank)
        if best is None or key > best:
            best, chosen = key, offer
    return chosen


def preferred_language(header: str | None, supported: tuple[str, ...],
                       default: str = "en") -> str:
    """The supported language an Accept-Language header prefers (``de-CH`` counts as ``de``);
    ties go to the earlier item of the header; ``default`` when none fits."""
    best, best_key = default, (0.0, 0)
    for order, part in enumerate((header or "").split(",")):
        pieces = [p.strip() for p in part.split(";")]
        tag = pieces[0].lower().split("-", 1)[0]
        q = 1.0
        for param in pieces[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag in supported and q > 0 and (q, -order) > best_key:
            best, best_key = tag, (q, -order)
    return best


# --- representations of resources: HTML or an RDF syntax of the registry -----------------------

HTML = "text/html"
#: The RDF syntaxes a resource, a vocabulary or a catalogue record is offered in.
VIEW_SYNTAXES: tuple[Format, ...] = tuple(syntax_named(n) for n in (
    "turtle", "jsonld", "ntriples", "rdfxml"))


def short_name(fmt: Format) -> str:
    """The ``?format=`` value a page links to: the file suffix (ttl, jsonld, nt, rdf)."""
    return fmt.suffix.lstrip(".")


def representation(request: Request, *, html: bool,
                   syntaxes: tuple[Format, ...] = VIEW_SYNTAXES) -> Format | None:
    """The representation to send (None: the HTML page): ``?format=`` first (``html`` or a
    name, alias, suffix or media type of :mod:`kg.formats`), then the Accept header. A missing
    Accept header or a bare ``*/*`` (curl, many libraries) gets the first syntax (Turtle); a
    browser gets HTML."""
    known = (["html"] if html else []) + [short_name(f) for f in syntaxes]
    asked = request.query_params.get("format")
    if asked is not None:
        if asked.lower() == "html" and html:
            return None
        try:
            chosen = syntax_named(asked)
        except UnsupportedFormatError:
            raise ApiError(400, "bad-request", f"unknown format {asked!r}",
                           known=known) from None
        if chosen not in syntaxes:
            raise ApiError(400, "bad-request", f"format {asked!r} is not offered here",
                           known=known)
        return chosen
    accept = request.headers.get("accept")
    if not accept or accept.strip() in ("*/*", "*/*;q=1", "*/*; q=1.0"):
        return syntaxes[0]
    offers = ([HTML] if html else []) + [f.media_type for f in syntaxes]
    offers += [m for f in syntaxes for m in f.media_types[1:] if m not in offers]
    chosen_media = negotiate(accept, offers)
    if chosen_media is None:
        raise ApiError(406, "not-acceptable", "none of the offered formats fits the Accept "
                       "header", offers=offers)
    return None if chosen_media == HTML else syntax_named(chosen_media)
