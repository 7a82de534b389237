"""``mode = "websocket"``: Feishu's long connection through ``lark_oapi.ws.Client``.

The SDK client blocks forever on a module-level event loop captured at import, so it gets a
thread of its own with a fresh loop (and the 4–5 s import happens there, off the main loop).
Frames arrive already authenticated by the connection; each payload goes through the same
parsing as a webhook and is handed to the main loop's sink, and the frame is answered only once
the sink has durably recorded the event (or, for a card, with the inline answer).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

from bot.config_model import FeishuConfig
from bot.events import Event
from bot.platforms.base import EventSink, InboundError, Ingested
from bot.platforms.feishu.inbound import FeishuInbound

log = logging.getLogger(__name__)
ANSWER_WITHIN = 2.5  # Feishu re-pushes a frame not answered within 3 s


class FrameBridge:
    """What ``lark.ws.Client`` calls for each data frame (runs on the SDK's thread)."""

    def __init__(
        self,
        inbound: FeishuInbound,
        sink: EventSink,
        budget: float,
        loop: asyncio.AbstractEventLoop,
        answer_within: float = ANSWER_WITHIN,
    ) -> None:
        self._inbound = inbound
        self._sink = sink
        self._budget = budget
        self._loop = loop
        self._answer_within = answer_within

    # The SDK's client hands frames to ``event_handler._do_without_validation(payload)`` and
    # sends back whatever it returns; duck-typing that one method keeps lark's dispatcher (and
    # its "processor not found" 500s for unregistered types) out of the way.
    def _do_without_validation(self, payload: bytes) -> Any:
        return self.handle(payload)

    def handle(self, payload: bytes) -> dict[str, Any] | None:
        try:
            decoded = self._inbound.decode_payload(json.loads(payload))
        except (ValueError, InboundError) as exc:
            log.warning("feishu-ws: dropping an unreadable frame: %s", exc)
            return None
        results: list[Ingested] = []
        for event in decoded.events:
            future = asyncio.run_coroutine_threadsafe(self._ingest(event), self._loop)
            # No answer without a result, for clicks too: the sink returns only once the event
            # is recorded (its inline part is bounded by the budget, shorter than this wait), so
            # a timeout means the event may not be on disk, and an answer would acknowledge it.
            # Unanswered, Feishu shows the clicker an error and dedup absorbs any repeat.
            results.append(future.result(self._answer_within))
        if decoded.context != "card":
            return None
        inline = next((r.inline for r in results if r.inline is not None), None)
        return self._inbound.card_answer(inline, False)

    async def _ingest(self, event: Event) -> Ingested:
        return await self._sink(event, self._budget)


class LongConnection:
    def __init__(
        self, config: FeishuConfig, inbound: FeishuInbound, sink: EventSink, budget: float
    ) -> None:
        self._config = config
        self._inbound = inbound
        self._sink = sink
        self._budget = budget

    async def run(self) -> None:
        """Run until cancelled; returns or raises only if the SDK client gives up."""
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[None] = loop.create_future()
        stop = threading.Event()
        holder: dict[str, asyncio.AbstractEventLoop] = {}
        bridge = FrameBridge(self._inbound, self._sink, self._budget, loop)
        thread = threading.Thread(
            target=self._thread_main,
            args=(bridge, holder, stop, loop, finished),
            name="feishu-ws",
            daemon=True,
        )
        thread.start()
        try:
            await finished
        finally:
            stop.set()
            ws_loop = holder.get("loop")
            if ws_loop is not None and not ws_loop.is_closed():
                ws_loop.call_soon_threadsafe(_cancel_all, ws_loop)
            await asyncio.to_thread(thread.join, 5.0)

    def _thread_main(
        self,
        bridge: FrameBridge,
        holder: dict[str, asyncio.AbstractEventLoop],
        stop: threading.Event,
        main: asyncio.AbstractEventLoop,
        finished: asyncio.Future[None],
    ) -> None:
        error: BaseException | None = None
        try:
            self._run_client(bridge, holder, stop)
        except BaseException as exc:  # reported to the supervising coroutine
            error = exc
        if not stop.is_set():
            main.call_soon_threadsafe(_settle, finished, error)

    def _run_client(
        self,
        bridge: FrameBridge,
        holder: dict[str, asyncio.AbstractEventLoop],
        stop: threading.Event,
    ) -> None:
        import lark_oapi as lark
        import lark_oapi.ws.client as ws_module

        ws_loop = asyncio.new_event_loop()
        asyncio.set_event_loop(ws_loop)
        _retire(ws_module.loop)
        ws_module.loop = ws_loop  # the SDK drives this module global, not the thread's loop
        holder["loop"] = ws_loop
        client = ws_module.Client(
            self._config.app_id,
            self._config.app_secret,
            event_handler=bridge,
            domain=self._config.base_url.rstrip("/"),
            log_level=lark.LogLevel.WARNING,
        )
        try:
            if not stop.is_set():
                client.start()
        except asyncio.CancelledError:
            if not stop.is_set():
                raise
        finally:
            _close(client, ws_loop)


def _retire(loop: asyncio.AbstractEventLoop) -> None:
    """Close the loop the SDK made at import time: once replaced, nothing else will run it."""
    if not loop.is_running() and not loop.is_closed():
        loop.close()


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    for task in asyncio.all_tasks(loop):
        task.cancel()


def _close(client: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Close the socket and the thread's loop (the SDK has no stop(); see its PR #139)."""
    connection = getattr(client, "_conn", None)
    try:
        if connection is not None:
            loop.run_until_complete(connection.close())
        loop.run_until_complete(loop.shutdown_asyncgens())
    except Exception:  # best effort while shutting down
        log.debug("feishu-ws: error while closing", exc_info=True)
    finally:
        loop.close()


def _settle(finished: asyncio.Future[None], error: BaseException | None) -> None:
    if finished.done():
        return
    if error is None:
        finished.set_result(None)
    else:
        finished.set_exception(error)
