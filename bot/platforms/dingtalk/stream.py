"""DingTalk Stream mode on aiohttp: one outbound WebSocket instead of a public callback URL.

The loop: open a connection (``/v1.0/gateway/connections/open`` hands out an endpoint and a
single-use ticket), connect the WebSocket, and answer every frame. A frame is acknowledged only
after the sink has durably recorded its event, so DingTalk redelivers anything we might lose;
the sink dedups the redelivery. A card callback's ACK carries the clicker's updated card.

Reconnects: at once after the server's ``disconnect`` notice (it stops delivering but keeps the
socket open for a while); with backoff and jitter after a drop or a failed open; and when no
frame at all arrives for ``silence_timeout`` — the gateway's keepalive frames come every
20–30 s, so silence means a zombie connection even if WebSocket pings still get pongs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import aiohttp
from yarl import URL

from bot.platforms.base import CardRenderer, EventSink
from bot.platforms.dingtalk import payloads
from bot.platforms.dingtalk.cards import inline_response
from bot.platforms.retry import backoff_delay

log = logging.getLogger(__name__)

SUBSCRIPTIONS = (
    {"type": "CALLBACK", "topic": payloads.ROBOT_TOPIC},
    {"type": "CALLBACK", "topic": payloads.CARD_TOPIC},
)
OPEN_TIMEOUT = aiohttp.ClientTimeout(total=10)
WS_TIMEOUT = aiohttp.ClientWSTimeout(ws_close=5.0)
Ending = Literal["disconnect", "dropped", "silent"]


class StreamOpenError(Exception):
    """The gateway refused to open a connection (bad credentials, outage)."""


@dataclass(frozen=True, slots=True)
class StreamSettings:
    client_id: str
    client_secret: str
    base_url: str
    card_budget: float = 2.0
    silence_timeout: float = 90.0
    heartbeat: float = 30.0
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    max_in_flight: int = 64
    drain_timeout: float = 10.0  # how long frames in flight may finish after the socket ends
    ua: str = "claimbot"


@dataclass(frozen=True, slots=True)
class _Frame:
    kind: str
    topic: str
    message_id: str
    data: str


def _frame(text: str) -> _Frame:
    raw = payloads.load_object(text)
    headers = raw.get("headers")
    headers = headers if isinstance(headers, Mapping) else {}
    data = raw.get("data", "")
    return _Frame(
        kind=str(raw.get("type", "")),
        topic=str(headers.get("topic", "")),
        message_id=str(headers.get("messageId", "")),
        data=data if isinstance(data, str) else json.dumps(data),
    )


def _ack(message_id: str, data: str, code: int = 200, message: str = "OK") -> str:
    return json.dumps(
        {
            "code": code,
            "headers": {"contentType": "application/json", "messageId": message_id},
            "message": message,
            "data": data,
        },
        ensure_ascii=False,
    )


class StreamClient:
    """One Stream connection at a time, for as long as :meth:`run` is awaited."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        settings: StreamSettings,
        sink: EventSink,
        render: CardRenderer,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._http = http
        self.settings = settings
        self.sink = sink
        self.render = render
        self._sleep = sleep
        self.connected = False
        self.connections = 0  # sockets opened so far (readiness and tests)
        self.frames = 0  # frames received so far

    async def run(self) -> None:
        failures = 0
        while True:
            frames_before = self.frames
            try:
                ending = await self._connection()
            except (aiohttp.ClientError, TimeoutError, ValueError, StreamOpenError) as exc:
                log.warning("dingtalk stream: cannot connect: %s", exc)
                ending = "dropped"
            if ending == "disconnect":
                failures = 0
            else:  # a connection that carried frames was healthy: start the backoff over
                failures = 1 if self.frames > frames_before else failures + 1
            log.info("dingtalk stream: connection ended (%s), reconnecting", ending)
            if failures:
                s = self.settings
                await self._sleep(backoff_delay(failures, s.backoff_base, s.backoff_cap))

    async def _open(self) -> URL:
        s = self.settings
        body = {
            "clientId": s.client_id,
            "clientSecret": s.client_secret,
            "subscriptions": list(SUBSCRIPTIONS),
            "ua": s.ua,
        }
        url = f"{s.base_url.rstrip('/')}/v1.0/gateway/connections/open"
        async with self._http.post(url, json=body, timeout=OPEN_TIMEOUT) as response:
            data = await response.json(content_type=None)
            if response.status != 200 or not isinstance(data, dict):
                detail = data.get("message") if isinstance(data, dict) else ""
                raise StreamOpenError(f"HTTP {response.status}: {detail}")
        endpoint, ticket = data.get("endpoint"), data.get("ticket")
        if not isinstance(endpoint, str) or not isinstance(ticket, str) or not ticket:
            raise StreamOpenError("no endpoint or ticket in the reply")
        return URL(endpoint).update_query(ticket=ticket)

    async def _connection(self) -> Ending:
        url = await self._open()
        s = self.settings
        async with self._http.ws_connect(url, heartbeat=s.heartbeat, timeout=WS_TIMEOUT) as ws:
            self.connected = True
            self.connections += 1
            try:
                return await _Session(ws, self).serve()
            finally:
                self.connected = False


class _Session:
    """One socket's frames: each handled in its own task, bounded, and all awaited at the end."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, client: StreamClient) -> None:
        self._ws = ws
        self._client = client
        self._send_lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(client.settings.max_in_flight)
        self._drain = client.settings.drain_timeout

    async def serve(self) -> Ending:
        ending: Ending = "dropped"
        try:
            async with asyncio.timeout(None) as drain, asyncio.TaskGroup() as tasks:
                ending = await self._receive(tasks)
                drain.reschedule(asyncio.get_running_loop().time() + self._drain)
        except TimeoutError:
            # Abandoned frames were never acknowledged, so DingTalk delivers them again.
            log.warning("dingtalk stream: frames still in flight abandoned after the socket ended")
        return ending

    async def _receive(self, tasks: asyncio.TaskGroup) -> Ending:
        silence = self._client.settings.silence_timeout
        while True:
            try:
                message = await self._ws.receive(timeout=silence)
            except TimeoutError:
                log.warning("dingtalk stream: no frame for %.0f s, reconnecting", silence)
                return "silent"
            if message.type != aiohttp.WSMsgType.TEXT:
                return "dropped"
            self._client.frames += 1
            try:
                frame = _frame(message.data)
            except payloads.PayloadError:
                log.warning("dingtalk stream: unreadable frame ignored")
                continue
            if frame.kind == "SYSTEM":
                await self._send(_ack(frame.message_id, frame.data))
                if frame.topic == "disconnect":
                    return "disconnect"
                continue
            await self._slots.acquire()
            tasks.create_task(self._handle(frame))

    async def _handle(self, frame: _Frame) -> None:
        try:
            ack = await self._acknowledgement(frame)
        except Exception:
            # Not recorded, so not acknowledged: DingTalk delivers the frame again later.
            log.exception("dingtalk stream: frame %s not recorded", frame.message_id)
            return
        finally:
            self._slots.release()
        await self._send(ack)

    async def _acknowledgement(self, frame: _Frame) -> str:
        if frame.kind != "CALLBACK":
            return _ack(frame.message_id, frame.data)
        settings, sink = self._client.settings, self._client.sink
        try:
            body = payloads.load_object(frame.data)
            if frame.topic == payloads.ROBOT_TOPIC:
                await sink(payloads.robot_message(body, frame.message_id), settings.card_budget)
                return _ack(frame.message_id, json.dumps({"response": "OK"}))
            if frame.topic == payloads.CARD_TOPIC:
                event = payloads.card_callback(body, frame.message_id)
                ingested = await sink(event, settings.card_budget)
                response = {"response": inline_response(self._client.render, ingested.inline)}
                return _ack(frame.message_id, json.dumps(response, ensure_ascii=False))
        except payloads.PayloadError as exc:
            log.warning("dingtalk stream: bad %s payload: %s", frame.topic, exc)
            return _ack(frame.message_id, "", 400, str(exc))
        return _ack(frame.message_id, "", 404, "no handler for topic")

    async def _send(self, text: str) -> None:
        # After a drop the ACK has nowhere to go; the event is recorded and the redelivery dedups.
        async with self._send_lock:
            try:
                await self._ws.send_str(text)
            except (ConnectionError, aiohttp.ClientError) as exc:
                log.info("dingtalk stream: ACK not sent: %s", exc)
