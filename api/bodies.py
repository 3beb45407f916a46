"""Reading request bodies with a size cap: 413 by Content-Length, then while reading."""

from __future__ import annotations

from starlette.requests import Request

from api.errors import ApiError


def too_large(limit: int, setting: str) -> ApiError:
    """The 413 answer for a body past ``limit`` bytes; ``setting`` names the limit."""
    return ApiError(413, "too-large", f"the request body is larger than {limit:,} bytes "
                    f"(setting {setting})", **{setting: limit})


async def read_bounded(request: Request, limit: int, setting: str) -> bytes:
    """The whole body, refused (413) as soon as it is known to pass ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise too_large(limit, setting)
        except ValueError:
            raise ApiError(400, "bad-request", "Content-Length is not a number") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit, setting)
        chunks.append(chunk)
    return b"".join(chunks)
