"""Building the configured connector and its workers: the sync loop, and Hesi's state poll."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from bot import keys
from bot.backends.base import Backend, BackendError
from bot.backends.hesi import HesiBackend, HesiSettings
from bot.backends.hesi_client import HesiClient
from bot.backends.inbound import BACKEND, HESI_STATES, BackendRuntime, apply_update
from bot.backends.webhook import MappingTemplate, WebhookBackend
from bot.config_model import Config
from bot.dispatcher import Dispatcher, Router
from bot.workers.queue_loop import Outcome, QueueLoop
from bot.workers.sync import sync_loop
from storage.models import ClaimStatus

log = logging.getLogger("claimbot.backend")

Worker = Callable[[], Awaitable[None]]


def build_backend(config: Config, session: aiohttp.ClientSession) -> Backend:
    """The connector ``[backend] kind`` names (not for kind = "none")."""
    backend = config.backend
    if backend.kind == "webhook":
        template = MappingTemplate(backend.template) if backend.template else None
        names = {category.code: category.name for category in config.categories}
        return WebhookBackend(session, backend.url, backend.secret, timeout=backend.timeout,
                              template=template, category_names=names)
    if backend.kind == "hesi":
        return build_hesi(config, session)
    raise ValueError(f"no connector for backend kind {backend.kind!r}")


def build_hesi(config: Config, session: aiohttp.ClientSession) -> HesiBackend:
    backend = config.backend
    client = HesiClient(session, backend.url, backend.app_key, backend.app_secret,
                        timeout=backend.timeout)
    settings = HesiSettings(backend.specification_id, dict(backend.fee_types),
                            backend.default_fee_type, backend.outer_code_prefix)
    return HesiBackend(client, settings)


def update_router() -> Router:
    from handlers import backend_updates

    router = Router()
    router.include(backend_updates.router)
    return router


def start_backend(
    app: web.Application, record: Outcome, wake: Callable[[str], None]
) -> tuple[QueueLoop, dict[str, Worker]]:
    """Fill the app's backend runtime; give the "backend" loop and the connector's workers."""
    runtime = app[BACKEND]
    backend = build_backend(runtime.config, app[keys.HTTP])
    orgs = app[keys.ORGS]  # the chat's view, [directory] file included

    def committed(topics: set[str]) -> None:
        for topic in topics:
            wake(topic)

    runtime.dispatcher = Dispatcher(update_router(), runtime.storage, runtime.config, orgs,
                                    committed=committed)
    workers: dict[str, Worker] = {}
    if isinstance(backend, HesiBackend):
        runtime.hesi = backend
        interval = runtime.config.backend.poll_interval
        if interval > 0:
            workers["hesi-poll"] = HesiPoller(runtime, backend, float(interval)).run
    return sync_loop(runtime.storage, backend, record, runtime.config.backend.timeout), workers


class HesiPoller:
    """Every ``interval`` seconds, one instance asks Hesi about each approved claim."""

    def __init__(self, runtime: BackendRuntime, hesi: HesiBackend, interval: float) -> None:
        self._runtime = runtime
        self._hesi = hesi
        self._interval = interval
        self._owner = uuid.uuid4().hex

    async def run(self) -> None:
        storage = self._runtime.storage
        while True:
            if await storage.acquire_lease("hesi-poll", self._owner, self._interval * 2):
                await self.poll_once()
            await asyncio.sleep(self._interval)

    async def poll_once(self) -> int:
        """Apply what Hesi says of approved claims; returns how many changed."""
        changed = 0
        for claim in await self._runtime.storage.claims_by_status(ClaimStatus.APPROVED, 100):
            try:
                document = await self._hesi.find(self._hesi.outer_code(claim.id))
            except BackendError as exc:
                log.warning("hesi poll of %s: %s", claim.id, exc)
                continue
            verb = HESI_STATES.get(document.state) if document else None
            if document is None or verb is None:
                continue
            answer = await apply_update(self._runtime, claim.id, verb,
                                        f"合思 {document.code} {document.state}")
            changed += answer.status == 200
        return changed
