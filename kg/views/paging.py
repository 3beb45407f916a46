"""One page of a long list: the home page's municipalities, the tables' rows, the
comparison's rows, the timeline's lanes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import urlencode

T = TypeVar("T")


class BadPageNumberError(ValueError):
    """A page number that is not a whole number."""


class NoSuchPageError(ValueError):
    """A page number before the first page or past the last."""


@dataclass(frozen=True)
class Paged(Generic[T]):
    """One page of a list (what ``_tables.html``'s pager draws): a page's items, its number,
    the number of pages, and a link to any page."""

    items: Sequence[T]
    page: int
    pages: int
    total: int
    path: str
    keep: tuple[tuple[str, str], ...] = ()  # query parameters every link keeps (filters)

    def link(self, page: int) -> str:
        params = [*self.keep, *([("page", str(page))] if page > 1 else [])]
        return self.path + (f"?{urlencode(params)}" if params else "")


def page_slice(items: Sequence[T], page: int, size: int) -> tuple[Sequence[T], int]:
    """Page ``page`` of ``items`` (``size`` a page) and the number of pages (at least one);
    NoSuchPageError for a page that does not exist."""
    pages = max(1, -(-len(items) // size))
    if not 1 <= page <= pages:
        raise NoSuchPageError(f"there is no page {page}; pages run from 1 to {pages}")
    start = (page - 1) * size
    return items[start:start + size], pages


def paged(items: Sequence[T], asked: str | None, size: int, path: str,
          keep: Sequence[tuple[str, str]] = ()) -> Paged[T]:
    """Page ``asked`` (a query parameter, 1 when absent) of ``items``, ``size`` a page, its
    links to ``path`` with the parameters ``keep``; BadPageNumberError for a page that is not
    a whole number, NoSuchPageError for one that does not exist."""
    try:
        page = int(asked) if asked not in (None, "") else 1
    except ValueError:
        raise BadPageNumberError(f"page must be a whole number, not {asked!r}") from None
    rows, pages = page_slice(items, page, size)
    return Paged(rows, page, pages, len(items), path, tuple(keep))
