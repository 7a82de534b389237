"""The HTTP edge: aiohttp requests in, adapter decode, durable ingest, adapter acknowledgement out.

The only module besides ``bot.app`` that knows aiohttp's server classes. It reads the body once
(bounded), hands adapters an :class:`InboundRequest` with the raw bytes, and never acknowledges
an event that was not durably recorded: if storage fails, the platform gets a 503 and retries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.metrics import Metrics
from bot.platforms.base import (
    EventSink,
    HttpReply,
    InboundError,
    InboundRequest,
    Ingested,
    PlatformAdapter,
)
from bot.ratelimit import SenderGate, route_name
from storage.base import InvalidInput, StorageError

log = logging.getLogger("claimbot.http")

AiohttpHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BodyTooLarge(Exception):
    pass


async def read_body(request: web.Request, limit: int) -> bytes:
    length = request.content_length
    if length is not None:
        if length > limit:
            raise BodyTooLarge
        return await request.read()  # the declared length: aiohttp reads no more than that
    chunks: list[bytes] = []  # chunked: counted as it streams in
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def loggable(path: str) -> str:
    """The path for a log line: platform routes have two segments; a third is a secret token
    (DingTalk's card callback route) and is left out."""
    parts = path.split("/")
    return "/".join(parts[:3]) + ("/…" if len(parts) > 3 else "")


def to_response(reply: HttpReply) -> web.Response:
    textual = reply.content_type.startswith(("text/", "application/json", "application/xml"))
    return web.Response(
        status=reply.status,
        body=reply.body,
        content_type=reply.content_type,
        charset="utf-8" if textual else None,
    )


def platform_route(
    adapter: PlatformAdapter, sink: EventSink, max_body: int, gate: SenderGate | None = None
) -> AiohttpHandler:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            body = await read_body(request, max_body)
        except BodyTooLarge:
            return web.json_response({"error": "body too large"}, status=413)
        inbound = InboundRequest(
            method=request.method,
            path=request.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            query=dict(request.query),
            body=body,
        )
        try:
            decoded = adapter.inbound.decode(inbound)
        except InboundError as exc:
            log.warning("%s %s refused: %s", adapter.name, loggable(request.path), exc.reason)
            return web.json_response({"error": exc.reason}, status=exc.status)
        if decoded.handshake is not None:
            return to_response(decoded.handshake)
        if gate is not None and (limited := gate(request, decoded.events)) is not None:
            return limited  # before recording: the platform delivers it again later
        started = time.monotonic()
        results: list[Ingested] = []
        try:
            for event in decoded.events:
                results.append(await sink(event, adapter.card_budget))
        except InvalidInput as exc:  # e.g. a lone surrogate in the text: retrying cannot help
            log.warning("%s event refused, it cannot be stored: %s", adapter.name, exc)
            return web.json_response({"error": "event cannot be stored"}, status=400)
        except StorageError:
            log.exception("%s event not recorded; asking the platform to retry", adapter.name)
            return web.json_response({"error": "temporarily unavailable"}, status=503)
        exceeded = time.monotonic() - started > adapter.card_budget
        return to_response(adapter.inbound.acknowledge(decoded, results, exceeded))

    return handle


def metrics_middleware(metrics: Metrics) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def measure(request: web.Request, handler: AiohttpHandler) -> web.StreamResponse:
        name = route_name(request)
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            metrics.requests.labels(name, request.method, str(status)).inc()
            metrics.latency.labels(name).observe(time.perf_counter() - started)

    return measure
