"""create_app(config): the composition root, the one module that wires everything together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime

import aiohttp
from aiohttp import web

from bot import keys
from bot.backends.inbound import BackendRuntime, add_backend_routes
from bot.backends.runtime import start_backend
from bot.config_model import Config
from bot.directory import OrgService
from bot.directory_file import load_directory_file
from bot.dispatcher import Dispatcher, Router
from bot.http import AiohttpHandler, metrics_middleware, platform_route
from bot.metrics import CONTENT_TYPE, Metrics
from bot.pipeline import Pipeline
from bot.platforms.base import EventSink, Messenger, PlatformAdapter
from bot.platforms.registry import PlatformFactory, configured_platforms
from bot.ratelimit import EdgeLimits, SenderGate, bearer_ok, edge_middleware, sender_gate
from bot.workers.inbound import InboundHandler
from bot.workers.outbox import PLATFORM_POLICY, OutboxHandler
from bot.workers.queue_loop import QueueLoop, QueuePolicy
from bot.workers.reminders import REMINDERS, build_sweeper
from bot.workers.supervisor import Supervisor
from cards import render_card
from handlers import build_router
from storage import open_storage
from storage.base import Storage

log = logging.getLogger("claimbot.app")


def create_app(
    config: Config,
    *,
    storage: Storage | None = None,
    router: Router | None = None,
    platforms: Sequence[PlatformFactory] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> web.Application:
    """The server for ``config``; storage, handlers and platforms may be supplied (tests, demo)."""
    factories = list(configured_platforms(config) if platforms is None else platforms)
    metrics = Metrics()
    limits = EdgeLimits.from_config(config.server)
    app = web.Application(
        middlewares=[metrics_middleware(metrics), edge_middleware(limits, metrics)],
        client_max_size=config.server.max_body_bytes,
    )
    app[keys.CONFIG] = config
    app[keys.METRICS] = metrics
    app[keys.STORAGE] = storage or open_storage(
        config.storage.url, attachment_limit=config.storage.attachment_max_bytes
    )
    app[keys.SUPERVISOR] = Supervisor()
    app[keys.LOOPS] = {}
    app[keys.PIPELINE] = Pipeline(app[keys.STORAGE], metrics, wake=lambda: _wake(app, "inbound"))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
    _add_platform_routes(app, factories)
    add_backend_routes(app, BackendRuntime(config, app[keys.STORAGE]))
    app.cleanup_ctx.append(_storage_ctx)
    app.cleanup_ctx.append(_http_ctx)
    gate = sender_gate(limits, metrics)
    app.cleanup_ctx.append(_platforms_ctx(factories, router or build_router(config), clock, gate))
    app.cleanup_ctx.append(_workers_ctx)
    return app


# Eight events handled at once, not sixteen: each handler's CPU runs between the requests on the
# same loop, so fewer at once keeps acknowledgements quick (filing load: acks +30-60 %/s, p99 at
# half peak 24-37 -> 17-20 ms) while handlers still overlap their storage and directory waits
# (2,000 filings done 1-11 % slower; docs/performance.md).
INBOUND_POLICY = QueuePolicy("inbound", batch=8, max_attempts=8)


def _wake(app: web.Application, name: str) -> None:
    loop = app[keys.LOOPS].get(name)
    if loop is not None:
        loop.wake()


def _add_platform_routes(app: web.Application, factories: Sequence[PlatformFactory]) -> None:
    for factory in factories:
        for method, path in factory.routes:
            app.router.add_route(method, path, _deferred(app, factory.name))


def _deferred(app: web.Application, platform: str) -> AiohttpHandler:
    """aiohttp freezes routes before start-up, when the adapters are built; look them up then."""

    async def handle(request: web.Request) -> web.StreamResponse:
        return await app[keys.EDGES][platform](request)

    return handle


async def _storage_ctx(app: web.Application) -> AsyncIterator[None]:
    storage = app[keys.STORAGE]
    await storage.open()
    yield
    await app[keys.PIPELINE].close()
    await storage.close()


async def _http_ctx(app: web.Application) -> AsyncIterator[None]:
    timeout = aiohttp.ClientTimeout(total=15, connect=5)
    connector = aiohttp.TCPConnector(limit=100, limit_per_host=30, ttl_dns_cache=300)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        app[keys.HTTP] = session
        yield


def _platforms_ctx(
    factories: Sequence[PlatformFactory],
    router: Router,
    clock: Callable[[], datetime],
    gate: SenderGate | None,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        pipeline, config = app[keys.PIPELINE], app[keys.CONFIG]
        sink: EventSink = pipeline.ingest
        adapters = {f.name: f.build(app[keys.HTTP], render_card, sink) for f in factories}
        app[keys.PLATFORMS] = adapters
        app[keys.EDGES] = {
            name: platform_route(adapter, sink, config.server.max_body_bytes, gate)
            for name, adapter in adapters.items()
        }
        orgs = app[keys.ORGS] = _org_services(config, adapters)
        downloads = {n: a.messenger.download for n, a in adapters.items()}
        def committed(topics: set[str]) -> None:
            for topic in topics:
                _wake(app, topic)

        dispatcher = Dispatcher(
            router, app[keys.STORAGE], config, orgs, clock, downloads, committed
        )
        app[keys.DISPATCHER] = dispatcher
        pipeline.dispatcher = dispatcher
        sweeper = build_sweeper(app[keys.STORAGE], config, orgs, clock, committed)
        if sweeper is not None:
            app[REMINDERS] = sweeper
        yield

    return ctx


def _org_services(config: Config, adapters: dict[str, PlatformAdapter]) -> dict[str, OrgService]:
    """Each platform's org chart with the ``[directory]`` file laid over it (read once)."""
    path = config.directory.file or None
    overrides = load_directory_file(path) if path else None
    return {
        name: OrgService(adapter.directory, platform=name, overrides=overrides, overrides_file=path)
        for name, adapter in adapters.items()
    }


async def _workers_ctx(app: web.Application) -> AsyncIterator[None]:
    storage, metrics, supervisor = app[keys.STORAGE], app[keys.METRICS], app[keys.SUPERVISOR]

    def record(topic: str, outcome: str) -> None:
        if topic == "inbound":
            metrics.handled.labels(outcome).inc()
        else:
            metrics.deliveries.labels(topic, outcome).inc()

    messengers: dict[str, Messenger] = {n: a.messenger for n, a in app[keys.PLATFORMS].items()}
    loops = {
        "inbound": QueueLoop(storage, INBOUND_POLICY,
                             InboundHandler(app[keys.DISPATCHER]), record),
        "platform": QueueLoop(storage, PLATFORM_POLICY,
                              OutboxHandler(storage, messengers), record),
    }
    if app[keys.CONFIG].backend.kind != "none":
        loops["backend"], backend_workers = start_backend(app, record, lambda t: _wake(app, t))
        for name, worker in backend_workers.items():
            supervisor.start(name, worker)
    app[keys.LOOPS].update(loops)
    for name, loop in loops.items():
        supervisor.start(name, loop.run)
    for adapter in app[keys.PLATFORMS].values():
        for name, worker in adapter.workers().items():
            supervisor.start(name, worker)
    if REMINDERS in app:
        supervisor.start("reminders", app[REMINDERS].run)
    yield
    await supervisor.stop()


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    app = request.app
    storage_ok = await app[keys.STORAGE].ping()
    workers = {
        name: {"running": s.running, "restarts": s.restarts, "last_error": s.last_error}
        for name, s in app[keys.SUPERVISOR].states.items()
    }
    ready = storage_ok and app[keys.SUPERVISOR].healthy()
    body = {"status": "ready" if ready else "not ready", "storage": storage_ok, "workers": workers}
    return web.json_response(body, status=200 if ready else 503)


async def metrics_view(request: web.Request) -> web.Response:
    app = request.app
    if not bearer_ok(request, app[keys.CONFIG].server.metrics_token):
        return web.json_response(
            {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"}
        )
    metrics = app[keys.METRICS]
    try:
        depth = await app[keys.STORAGE].queue_depth()
    except Exception:  # metrics must render even while storage is down
        log.warning("queue depth unavailable for /metrics")
        depth = {}
    for topic, (live, dead) in depth.items():
        metrics.queue_depth.labels(topic, "live").set(live)
        metrics.queue_depth.labels(topic, "dead").set(dead)
    for name, state in app[keys.SUPERVISOR].states.items():
        metrics.worker_up.labels(name).set(1 if state.running else 0)
        metrics.worker_restarts.labels(name).set(state.restarts)
    return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})
