"""Two stateless web instances over one store behind a reverse proxy, on loopback.

``oxigraph serve`` (tests/api/conftest.py, filled by ``digistrat load --to``) is the store;
two ``digistrat serve --sparql-endpoint …`` processes on free ports are the web tier; nginx
runs in front of them with the configuration shown in docs/deploy.md (the ``nginx`` block
there, its ports replaced by the test's). Checked: both instances and the proxy give the
same answers and pages, absolute URLs come from ``public_url`` (the proxy's address, never
the Host header), the proxy uses both instances, and with one instance stopped the other
serves everything.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic
from stores import as_nobody
from support import free_port, running

ROOT = Path(__file__).resolve().parents[2]
DIGISTRAT = Path(sys.executable).parent / "digistrat"
DEPLOY = ROOT / "docs" / "deploy.md"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                  else None)
SD = "http://www.w3.org/ns/sparql-service-description#"

QUERIES = [
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
    "SELECT ?c ?l WHERE { ?c skos:prefLabel ?l } ORDER BY ?c ?l LIMIT 30",
]
CONSTRUCT = ("PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
             "CONSTRUCT { ?c skos:prefLabel ?l } WHERE { ?c skos:prefLabel ?l } "
             "ORDER BY ?c ?l LIMIT 40")
#: Pages of several families (over ``oxigraph serve`` with the union graph as the default
#: graph, each renders within about a second; docs/performance.md).
PAGES = ["/", "/id/municipality/ch-261", "/ontology", "/shapes", "/vocab", "/-/compare",
         "/-/timeline", "/-/coverage"]


def nginx_snippet() -> str:
    """The ``nginx`` block of docs/deploy.md that holds ``upstream digistrat``."""
    blocks = re.findall(r"```nginx\n(.*?)```", DEPLOY.read_text(encoding="utf-8"), re.S)
    found = [b for b in blocks if "upstream digistrat" in b]
    assert found, "docs/deploy.md shows no nginx configuration with `upstream digistrat`"
    return found[0]


def nginx_conf(directory: Path, ports: tuple[int, int], proxy_port: int) -> str:
    """The documented configuration, on the test's loopback ports, in a complete nginx.conf
    whose files all live in ``directory``."""
    snippet = nginx_snippet()
    for old in ("127.0.0.1:8001", "127.0.0.1:8002", "listen 80;"):
        assert old in snippet, f"the nginx block of docs/deploy.md no longer has {old!r}"
    snippet = (snippet.replace("127.0.0.1:8001", f"127.0.0.1:{ports[0]}")
               .replace("127.0.0.1:8002", f"127.0.0.1:{ports[1]}")
               .replace("listen 80;", f"listen 127.0.0.1:{proxy_port};"))
    d = directory
    return f"""\
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 64; }}
http {{
    log_format upstreams '$upstream_addr $status $request_method $uri';
    access_log {d}/access.log upstreams;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
{snippet}
}}
"""


@dataclass
class Deployment:
    instances: list[str]
    proxy: str | None  # None when nginx is not installed (outside CI)
    public: str  # the instances' public_url: the proxy's address
    processes: list[subprocess.Popen[bytes]]
    log: Path | None


@pytest.fixture(scope="module")
def deployment(loaded: str) -> Iterator[Deployment]:
    """Two instances on the oxigraph store and, when nginx is installed, the proxy."""
    if NGINX is None and os.environ.get("CI"):
        pytest.fail("nginx is not installed: run make test-deps")
    ports = (free_port(), free_port())
    proxy_port = free_port()
    public = f"http://127.0.0.1:{proxy_port}"
    directory = Path(tempfile.mkdtemp(prefix="digistrat-proxy-"))
    try:
        with contextlib.ExitStack() as stack:
            processes = []
            for port in ports:
                command = [str(DIGISTRAT), "serve", "--root", str(ROOT), "--host", "127.0.0.1",
                           "--port", str(port), "--sparql-endpoint", loaded + "/query",
                           "--public-url", public, "-q"]
                processes.append(stack.enter_context(running(
                    command, f"http://127.0.0.1:{port}/sparql?query=ASK%7B%7D",
                    ready_seconds=180)))
            proxy, log = None, None
            if NGINX is not None:
                conf = directory / "nginx.conf"
                conf.write_text(nginx_conf(directory, ports, proxy_port), encoding="utf-8")
                log = directory / "access.log"
                log.touch()
                command = as_nobody([NGINX, "-p", str(directory), "-c", str(conf),
                                     "-e", "stderr"], directory)
                stack.enter_context(running(command, public + "/sparql?query=ASK%7B%7D",
                                            ready_seconds=30))
                proxy = public
            yield Deployment([f"http://127.0.0.1:{p}" for p in ports], proxy, public,
                             processes, log)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def get(base: str, path: str, **kwargs: object) -> httpx.Response:
    return httpx.get(base + path, trust_env=False, timeout=60, **kwargs)  # type: ignore[arg-type]


def everyone(deployment: Deployment) -> list[str]:
    return [*deployment.instances, *([deployment.proxy] if deployment.proxy else [])]


def test_both_instances_are_healthy(deployment: Deployment) -> None:
    for base in deployment.instances:
        response = get(base, "/-/health")
        assert response.status_code == 200, response.text
        assert response.json()["graphs"] > 0


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("fmt", ["json", "csv", "xml"])
def test_the_same_answers_everywhere(deployment: Deployment, query: str, fmt: str) -> None:
    answers = [get(base, "/sparql", params={"query": query, "format": fmt})
               for base in everyone(deployment)]
    assert len(answers) >= 2
    for answer in answers:
        assert answer.status_code == 200, answer.text
    assert len({a.content for a in answers}) == 1


def test_the_same_graphs_everywhere(deployment: Deployment) -> None:
    graphs = []
    for base in everyone(deployment):
        response = get(base, "/sparql", params={"query": CONSTRUCT},
                       headers={"Accept": "text/turtle"})
        assert response.status_code == 200, response.text
        graphs.append(Graph().parse(data=response.content, format="turtle"))
    assert len(graphs[0]) > 10
    assert all(isomorphic(graphs[0], g) for g in graphs[1:])


@pytest.mark.parametrize("path", PAGES)
def test_the_same_pages_everywhere(deployment: Deployment, path: str) -> None:
    pages = [get(base, path, headers={"Accept": "text/html"}) for base in everyone(deployment)]
    for page in pages:
        assert page.status_code == 200, page.text[-500:]
    assert len({p.text for p in pages}) == 1
    # validators too: a cache in front may ask either instance
    assert len({(p.headers.get("etag"), p.headers.get("last-modified")) for p in pages}) == 1


def test_absolute_urls_come_from_public_url(deployment: Deployment) -> None:
    """The service description names the endpoint at the public address, whichever
    instance answers and whatever Host the request names."""
    for base in everyone(deployment):
        for host in (None, "evil.example"):
            headers = {"Accept": "text/turtle", **({"Host": host} if host else {})}
            response = get(base, "/sparql", headers=headers)
            assert response.status_code == 200, response.text
            graph = Graph().parse(data=response.content, format="turtle")
            endpoints = set(graph.objects(None, URIRef(SD + "endpoint")))
            assert endpoints == {URIRef(deployment.public + "/sparql")}, (base, host)


def test_the_proxy_uses_both_instances(deployment: Deployment) -> None:
    if deployment.proxy is None or deployment.log is None:
        pytest.skip("nginx is not installed: the proxy configuration is only shown")
    for _ in range(8):
        assert get(deployment.proxy, "/sparql", params={"query": "ASK {}"}).status_code == 200
    deadline = time.monotonic() + 5
    upstreams: set[str] = set()
    while time.monotonic() < deadline:
        upstreams = {line.split()[0] for line in deployment.log.read_text().splitlines()
                     if line.strip()}
        if len(upstreams) >= 2:
            break
        time.sleep(0.1)
    assert {base.removeprefix("http://") for base in deployment.instances} <= upstreams


def test_one_instance_stopped_the_other_serves(deployment: Deployment) -> None:
    """Runs last: stops the first instance; the proxy keeps answering from the second."""
    if deployment.proxy is None:
        pytest.skip("nginx is not installed: the proxy configuration is only shown")
    first = deployment.processes[0]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(first.pid, signal.SIGTERM)
    first.wait(timeout=30)
    for path in ("/id/municipality/ch-261", "/sparql?query=ASK%7B%7D", "/vocab"):
        for _ in range(3):
            response = get(deployment.proxy, path)
            assert response.status_code == 200, (path, response.status_code)
