"""HTTP behaviour every response shares, in one ASGI middleware.

* **Security headers** on every response: a Content-Security-Policy that the pages satisfy
  without ``unsafe-inline`` (scripts and styles come from ``/-/static`` only), ``nosniff``,
  a referrer policy and a frame policy.
* **HEAD** wherever GET is: the request runs as GET and the body is dropped, so headers and
  ``content-length`` are those of GET.
* **Validators**: a GET (or HEAD) answered 200 with a body of known length gets an ``ETag``
  (a hash of the body; streamed answers pass through) and ``Last-Modified`` (when the
  dataset's files last changed); ``If-None-Match`` / ``If-Modified-Since`` that match are
  answered 304 without a body. A response that names its own ``ETag`` (a file: the dumps,
  the static files) is sent as it comes, never held. ``Cache-Control`` lets
  caches keep the public, read-only answers for a minute and revalidate them.
* **CORS**: the data is public and read-only, so any origin may GET, HEAD and POST (no
  credentials); preflight ``OPTIONS`` is answered, and every ``OPTIONS`` names the methods the
  path allows in ``Allow``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, MutableMapping
from email.utils import formatdate, parsedate_to_datetime
from typing import Any

from starlette.routing import Match

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-expose-headers",
     b"Accept-Ranges, Content-Length, Content-Range, Content-Type, ETag, Last-Modified, Link, "
     b"X-Digistrat-Truncated, X-Digistrat-Result-Rows, X-Digistrat-Max-Result-Rows, "
     b"Retry-After, Server-Timing"),
]
NO_STORE = ("/-/health", "/-/settings.json")
#: Set in a HEAD request's scope, which runs as GET: a response that can leave out its
#: body itself (a file) looks here (:class:`api.routes.pages.FileAnswer`).
HEAD = "digistrat.head"
CACHE_CONTROL = b"public, max-age=60, must-revalidate"


def allowed_methods(app: Any, scope: Scope) -> list[str]:
    """The methods some route of ``app`` answers at the request's path."""
    methods: set[str] = set()
    probe = dict(scope)
    for route in getattr(app, "routes", []):
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            probe["method"] = method
            match, _ = route.matches(probe)
            if match == Match.FULL:
                methods.add(method)
    if "GET" in methods:
        methods.add("HEAD")
    if methods:
        methods.add("OPTIONS")
    order = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
    return [m for m in order if m in methods]


class HttpHygiene:
    """The middleware (see the module doc). ``last_modified`` is a Unix time."""

    def __init__(self, app: ASGIApp, last_modified: float, router: Any | None = None) -> None:
        self.app = app
        self.router = router
        self.last_modified = formatdate(last_modified, usegmt=True)
        self._last_modified_s = int(last_modified)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS":
            await self._options(scope, send)
            return
        head = method == "HEAD"
        if head:
            scope = dict(scope, method="GET", **{HEAD: True})
        if "http.response.pathsend" in scope.get("extensions", {}):
            # the ETag needs the body: files are sent as body here, not by path (a server
            # such as granian offers that extension; its files then failed with 500)
            scope = dict(scope, extensions={k: v for k, v in scope["extensions"].items()
                                            if k != "http.response.pathsend"})
        validating = scope["method"] == "GET"
        request_headers = {k.lower(): v for k, v in scope.get("headers", [])}
        path = scope.get("path", "")
        start: Message | None = None
        chunks: list[bytes] = []
        answered = False  # a 304 has been sent: the body that follows is dropped

        async def wrapped(message: Message) -> None:
            nonlocal start, answered
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [h for h in SECURITY_HEADERS + CORS_HEADERS if h[0] not in names]
                if path.startswith(NO_STORE):
                    headers.append((b"cache-control", b"no-store"))
                message = dict(message, headers=headers)
                if validating and message["status"] == 200 and b"content-length" in names:
                    if b"etag" not in names:
                        start = message  # held until the body is known (ETag)
                        return
                    answered = await self._validated(message, None, request_headers, send)
                    return
                await send(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            if start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                answered = await self._validated(start, b"".join(chunks), request_headers,
                                                 send)
            if answered or (head and message.get("more_body")):
                return
            if head or start is not None:
                await send({"type": "http.response.body",
                            "body": b"" if head else b"".join(chunks), "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, wrapped)

    async def _validated(self, start: Message, body: bytes | None,
                         request_headers: dict[bytes, bytes], send: Send) -> bool:
        """Send the start of a 200 with its validators (an ``ETag`` from ``body`` unless it
        names its own), or a whole 304 if the request's validators match; True for a 304."""
        headers = list(start["headers"])
        names = {k.lower() for k, _ in headers}
        if b"etag" not in names:
            assert body is not None
            etag = b'"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'
            headers.append((b"etag", etag))
        else:
            etag = next(v for k, v in headers if k.lower() == b"etag")
        if b"last-modified" not in names:
            headers.append((b"last-modified", self.last_modified.encode()))
        if b"cache-control" not in names:
            headers.append((b"cache-control", CACHE_CONTROL))
        if self._not_modified(request_headers, etag):
            kept = [(k, v) for k, v in headers if k.lower() not in (b"content-length",
                                                                    b"content-type")]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return True
        await send(dict(start, headers=headers))
        return False

    def _not_modified(self, request_headers: dict[bytes, bytes], etag: bytes) -> bool:
        match = request_headers.get(b"if-none-match")
        if match is not None:
            tags = [t.strip().removeprefix(b"W/") for t in match.split(b",")]
            return b"*" in tags or etag in tags
        since = request_headers.get(b"if-modified-since")
        if since is not None:
            try:
                return parsedate_to_datetime(since.decode("latin-1")).timestamp() >= \
                    self._last_modified_s
            except (TypeError, ValueError):
                return False
        return False

    async def _options(self, scope: Scope, send: Send) -> None:
        methods = allowed_methods(self.router, scope)
        request_headers = {k.lower(): v for k, v in scope.get("headers", [])}
        status = 204 if methods else 404
        headers = [(b"allow", ", ".join(methods).encode()), *SECURITY_HEADERS,
                   (b"content-length", b"0")]
        if b"origin" in request_headers:
            headers += [(b"access-control-allow-origin", b"*"),
                        (b"access-control-allow-methods", ", ".join(methods).encode()),
                        (b"access-control-max-age", b"86400")]
            asked = request_headers.get(b"access-control-request-headers")
            if asked:
                headers.append((b"access-control-allow-headers", asked))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
