"""The service's settings: one list, with units in the names, read from flags and env."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class Settings:
    """Every setting of the service. Environment: ``DIGISTRAT_`` + the name in capitals."""

    host: str = field(default="127.0.0.1", metadata={"help": "Interface to listen on."})
    port: int = field(default=8000, metadata={"help": "TCP port to listen on."})
    public_url: str = field(default="", metadata={
        "help": "The address people and clients reach the service at (scheme, host, port, "
                "path prefix), used for every absolute URL the service writes (sitemap, Link "
                "headers, service description); empty: http://{host}:{port}. The Host header "
                "is never used."})
    base_iri: str = field(default="https://w3id.org/digistrat/", metadata={
        "help": "Persistent base of the dataset's IRIs; mapped onto whatever host serves it."})
    query_timeout_ms: int = field(default=10_000, metadata={
        "help": "Hard time limit of one SPARQL query; a request may lower it, never raise it."})
    store_read_timeout_ms: int = field(default=300_000, metadata={
        "help": "With sparql_endpoint: time limit of one of the service's own reads from the "
                "store (the search index, tables and pages are built from a few large reads; "
                "clients' queries keep query_timeout_ms)."})
    max_result_rows: int = field(default=10_000, metadata={
        "help": "Most rows (or triples) one query returns; past it the answer is truncated "
                "and says so."})
    max_request_bytes: int = field(default=1_000_000, metadata={
        "help": "Largest request body accepted by /sparql."})
    max_upload_bytes: int = field(default=2_000_000, metadata={
        "help": "Largest body accepted by /validate."})
    max_upload_triples: int = field(default=50_000, metadata={
        "help": "Most triples a submission to /validate may hold."})
    validation_timeout_ms: int = field(default=20_000, metadata={
        "help": "Time limit of one validation."})
    validation_workers: int = field(default=1, metadata={
        "help": "Processes that parse and validate submissions (each is killed at "
                "validation_timeout_ms)."})
    validation_queue_limit: int = field(default=8, metadata={
        "help": "Submissions that may wait for a validation worker; more get 503 at once, "
                "before their body is read."})
    memory_budget_mb: int = field(default=2048, metadata={
        "help": "Memory the whole service (this process, its zygotes and workers, summed as "
                "PSS) may use (MB); past it the busy worker with the most memory is stopped "
                "and its request answered 503."})
    validation_worker_memory_mb: int = field(default=768, metadata={
        "help": "Memory a validation worker may use above its size when started (MB); past "
                "it the worker ends and the submission is refused."})
    memory_merge: bool = field(default=True, metadata={
        "help": "Let the kernel merge identical memory pages of the service's processes "
                "(KSM, Linux 6.4+): the pages a worker copies by reading the store are shared "
                "again once its query is over. Takes effect only where the host runs ksmd "
                "(/sys/kernel/mm/ksm/run = 1; docs/deploy.md)."})
    query_workers: int = field(default=2, metadata={
        "help": "Processes that run SPARQL queries."})
    query_overflow_workers: int = field(default=4, metadata={
        "help": "Extra query processes forked when every query worker is busy (say, with "
                "runaway queries), so a cheap query need not wait; retired when idle."})
    query_queue_limit: int = field(default=64, metadata={
        "help": "Queries that may wait for a query worker; more get 503 at once."})
    query_worker_memory_mb: int = field(default=512, metadata={
        "help": "Memory a query worker may use above its size when started (MB); past it "
                "the worker ends and the query is refused."})
    service_allowlist: tuple[str, ...] = field(default=(), metadata={
        "help": "Endpoints a SERVICE clause may call (comma-separated); empty: none."})
    sparql_endpoint: str = field(default="", metadata={
        "help": "URL of a remote SPARQL 1.1 query endpoint (Fuseki, Virtuoso, QLever, "
                "oxigraph serve) to answer queries instead of the embedded store; empty: "
                "embedded."})

    @property
    def site(self) -> str:
        """The public address without a trailing slash (see ``public_url``)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Defaults, then ``DIGISTRAT_*`` variables, then ``overrides`` (not None)."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = os.environ.get("DIGISTRAT_" + f.name.upper())
            if raw is not None:
                values[f.name] = parse_setting(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def parse_setting(name: str, raw: str) -> Any:
    """A setting's value from text, typed as its default; ValueError names the setting."""
    default = next(f.default for f in fields(Settings) if f.name == name)
    try:
        if isinstance(default, bool):
            return raw.lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            value = int(raw)
            if value < 0:
                raise ValueError("must not be negative")
            return value
        if isinstance(default, tuple):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError as err:
        raise ValueError(f"setting {name}: {raw!r} is not valid ({err})") from None
    return raw
