"""Errors the core raises. Each carries what a user needs to find the problem."""

from __future__ import annotations

from dataclasses import dataclass


class KGError(Exception):
    """Base of every error the core raises on purpose."""


@dataclass
class LoadError(KGError):
    """A file or a submitted body could not be parsed as RDF."""

    source: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f", line {self.line}"
            if self.column is not None:
                where += f", column {self.column}"
        return f"{where}: {self.message}"


class UnsupportedFormatError(KGError):
    """A file suffix or media type names no RDF syntax the project reads."""


class QueryError(KGError):
    """A SPARQL query could not be run."""


@dataclass
class QuerySyntaxError(QueryError):
    """The query text is not valid SPARQL 1.1."""

    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return f"SPARQL syntax error: {self.message}"
        return f"SPARQL syntax error at line {self.line}, column {self.column}: {self.message}"


class QueryRejectedError(QueryError):
    """The query is valid SPARQL but not allowed here (an update, a SERVICE call, …)."""


class TimeLimitError(KGError):
    """Work ran past its time limit and was stopped; ``timeout_ms`` is the limit."""

    def __init__(self, message: str, timeout_ms: int | None = None) -> None:
        super().__init__(message)
        self.timeout_ms = timeout_ms


class QueryTimeoutError(TimeLimitError, QueryError):
    """The query ran past its time limit and was stopped."""


class QueryServiceRefusedError(QueryRejectedError):
    """The query calls a SERVICE this endpoint may not call."""

    def __init__(self, endpoints: list[str]) -> None:
        super().__init__(f"SERVICE {', '.join(endpoints)} is not allowed: this endpoint calls "
                         "no other endpoint unless its operator lists it in service_allowlist")
        self.endpoints = endpoints


class QueryTooComplexError(QueryError):
    """The query is nested too deeply or needs more than a worker may use."""
