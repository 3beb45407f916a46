"""Content and language negotiation, as tables of header → choice."""

from __future__ import annotations

import pytest

from api.negotiation import negotiate, preferred_language

OFFERS = ["text/turtle", "application/ld+json", "text/html"]


@pytest.mark.parametrize(("accept", "chosen"), [
    (None, "text/turtle"),                                   # no header: the first offer
    ("", "text/turtle"),
    ("*/*", "text/turtle"),
    ("text/html", "text/html"),
    ("text/html;q=0.5, application/ld+json", "application/ld+json"),
    ("text/*", "text/turtle"),                               # ties go to the earlier offer
    ("text/*;q=0.3, text/html", "text/html"),
    ("application/ld+json;q=0.9, */*;q=0.1", "application/ld+json"),
    ("text/turtle;q=0, */*", "application/ld+json"),         # q=0 refuses that type
    ("image/png", None),                                     # nothing fits: 406
    ("text/html;q=0, text/turtle;q=0, application/ld+json;q=0", None),
    ("TEXT/HTML", "text/html"),
    ("text/html;level=1;q=0.8, text/turtle;q=0.9", "text/turtle"),
])
def test_negotiate(accept: str | None, chosen: str | None) -> None:
    assert negotiate(accept, OFFERS) == chosen


@pytest.mark.parametrize(("header", "chosen"), [
    (None, "en"),
    ("de", "de"),
    ("de-CH, en;q=0.8", "de"),
    ("fr, de;q=0.5", "de"),
    ("en;q=0.7, de;q=0.9", "de"),
    ("de;q=0.5, en;q=0.5", "de"),                            # ties: the earlier one
    ("fr, it", "en"),
    ("de;q=0", "en"),
    ("de;q=abc, en", "en"),
])
def test_preferred_language(header: str | None, chosen: str) -> None:
    assert preferred_language(header, ("de", "en")) == chosen
