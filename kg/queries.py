"""Named example queries: ``queries/*.rq`` files with a title and description header.

A query file starts with comment lines:

    # title: Strategies of each municipality
    # description: Every strategy with the municipality that owns it …
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_HEADER = re.compile(r"^#\s*(title|description)\s*:\s*(.*)$")


@dataclass(frozen=True)
class NamedQuery:
    name: str
    title: str
    description: str
    text: str
    path: Path


def load_queries(folder: Path) -> list[NamedQuery]:
    """Every ``*.rq`` file in ``folder``, sorted by file name."""
    queries = []
    for path in sorted(folder.glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        fields = {"title": "", "description": ""}
        last = ""
        for line in text.splitlines():
            if not line.startswith("#"):
                break
            found = _HEADER.match(line)
            if found:
                last = found.group(1)
                fields[last] = found.group(2).strip()
            elif last:
                fields[last] += " " + line.lstrip("#").strip()
        if not fields["title"]:
            raise ValueError(f"{path}: the query has no '# title:' header line")
        queries.append(NamedQuery(path.stem, fields["title"], fields["description"].strip(),
                                  text, path))
    return queries
