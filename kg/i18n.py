"""Message catalogues: the project's texts for people, in German and English.

One gettext catalogue per language in ``kg/locale/{lang}.po`` (msgid = the English text),
read with Babel at first use; no compile step. Pages, the query page, the validation page,
error pages and validation reports take their texts from here (via :mod:`api.i18n` for the
web side). ``tests/test_i18n.py`` fails when a text used anywhere lacks a translation.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).parent / "locale"


@functools.cache
def translations(lang: str) -> Translations:
    """The catalogue of ``lang`` (one of :data:`LANGUAGES`)."""
    if lang not in LANGUAGES:
        raise ValueError(f"no catalogue for language {lang!r}; known: {LANGUAGES}")
    with (LOCALE_DIR / f"{lang}.po").open("rb") as po:
        catalog = read_po(po, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def gettext(lang: str, message: str) -> str:
    """``message`` (English) in ``lang``; the message itself where no translation exists."""
    return translations(lang).gettext(message)


def messages(lang: str) -> dict[str, str]:
    """Every msgid of the catalogue of ``lang`` with its translation (for tests and tools)."""
    with (LOCALE_DIR / f"{lang}.po").open("rb") as po:
        catalog = read_po(po, locale=lang)
    return {str(m.id): str(m.string) for m in catalog if m.id}
