"""From a verified event to a durable record, and (for card clicks) a fast inline answer.

``ingest`` is the ``EventSink`` every adapter feeds, over HTTP or a long connection alike. It
records the event in the inbound queue together with its dedup key, so once it returns the
platform may be acknowledged: the event is on disk and a redelivery is recognised. Messages
are handled by the inbound worker. A card click is handled right away within the platform's
budget so the clicker sees the new card in the callback answer; if that takes too long the
click stays leased to this instance for a short grace period and then falls back to the worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.dispatcher import Dispatcher
from bot.events import CardActionEvent, Event, event_to_dict
from bot.metrics import Metrics
from bot.platforms.base import Ingested
from bot.replies import InlineReply
from storage.base import Storage

log = logging.getLogger("claimbot.pipeline")

DEDUP_TTL = 7 * 24 * 3600.0  # platforms redeliver for hours at most; a week is generous
INLINE_GRACE = 30.0  # how long an unfinished inline click stays leased before the worker takes it


class Pipeline:
    def __init__(self, storage: Storage, metrics: Metrics, wake: Callable[[], None]) -> None:
        self._storage = storage
        self._metrics = metrics
        self._wake = wake
        self.dispatcher: Dispatcher | None = None
        self._inflight: set[asyncio.Task[InlineReply | None]] = set()

    async def ingest(self, event: Event, budget: float) -> Ingested:
        inline = isinstance(event, CardActionEvent) and budget > 0 and self.dispatcher is not None
        receipt = await self._storage.put_inbound(
            event.platform,
            event.event_id,
            event.session_key,
            event_to_dict(event),
            DEDUP_TTL,
            lease_for=budget + INLINE_GRACE if inline else 0.0,
        )
        kind = type(event).__name__
        if receipt is None:
            self._metrics.events.labels(event.platform, kind, "duplicate").inc()
            log.info("duplicate %s event %s acknowledged again", event.platform, event.event_id)
            return Ingested(duplicate=True)
        self._metrics.events.labels(event.platform, kind, "new").inc()
        if not inline or not receipt:
            self._wake()
            return Ingested(duplicate=False)
        return Ingested(duplicate=False, inline=await self._run_inline(event, receipt, budget))

    async def _run_inline(self, event: Event, receipt: str, budget: float) -> InlineReply | None:
        assert self.dispatcher is not None
        task = asyncio.create_task(self.dispatcher.dispatch(event, consume=receipt))
        self._inflight.add(task)
        task.add_done_callback(self._finished)
        # The task is not cancelled on timeout: it may be mid-commit. It finishes on its own
        # (tracked in _inflight, awaited on shutdown); if it fails, the lease expires and the
        # inbound worker handles the click.
        done, _ = await asyncio.wait({task}, timeout=budget)
        if task in done and task.exception() is None:
            return task.result()
        if task not in done:
            log.warning("card action %s exceeded its %.1fs budget", event.event_id, budget)
        return None

    def _finished(self, task: asyncio.Task[InlineReply | None]) -> None:
        self._inflight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("inline handling failed; the worker will retry", exc_info=task.exception())

    async def close(self, grace: float = 10.0) -> None:
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=grace)

