"""``mode = "websocket"``: Feishu's long connection, natively on aiohttp, on the main loop.

The loop, shaped like DingTalk's Stream client (``bot/platforms/dingtalk/stream.py``): ask
``/callback/ws/endpoint`` for a socket URL and a ``ClientConfig``, connect, send a ping frame
every ``PingInterval`` (each pong may carry a new ClientConfig), and answer every data frame.
Frames are protobuf (:mod:`bot.platforms.feishu.frames`); a payload split over several frames
is put back together first. Each payload goes through the same parsing as a webhook and into
the sink, and the frame is answered only once the sink returned, i.e. the event is durably
recorded (a card click's answer carries the inline toast and card). Feishu re-pushes anything
not answered; the sink dedups the repeat.

Reconnects: with backoff and full jitter after a failed attempt (bad credentials and 5xx alike:
the worker never gives up, so Feishu's ``ReconnectCount`` is ignored); after a connection that
carried frames ends, within a random ``ReconnectNonce`` so that clients do not all come back at
once; and when nothing, not even a pong, arrives for ``silence_pings`` ping intervals.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import aiohttp
from yarl import URL

from bot.config_model import FeishuConfig
from bot.platforms.base import EventSink, InboundError, Ingested
from bot.platforms.feishu import frames
from bot.platforms.feishu.fragments import FragmentError, Reassembler
from bot.platforms.feishu.inbound import FeishuInbound
from bot.platforms.retry import backoff_delay

log = logging.getLogger(__name__)

ENDPOINT_PATH = "/callback/ws/endpoint"
OPEN_TIMEOUT = aiohttp.ClientTimeout(total=10)
WS_TIMEOUT = aiohttp.ClientWSTimeout(ws_close=5.0)
DATA_TYPES = ("event", "card")  # the SDK drops "card" frames; we read both the same way
Ending = Literal["dropped", "silent"]


class EndpointError(Exception):
    """``/callback/ws/endpoint`` gave no usable URL (bad credentials, outage, odd reply)."""


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Feishu's ``ClientConfig`` (seconds), as the endpoint and pongs hand it out."""

    ping_interval: float = 120.0
    reconnect_interval: float = 120.0
    reconnect_nonce: float = 30.0

    def updated(self, raw: Any) -> ClientConfig:
        """This config with the valid values of ``raw`` (a JSON object) applied."""
        if not isinstance(raw, Mapping):
            return self
        changes: dict[str, float] = {}
        for key, name, least in (
            ("PingInterval", "ping_interval", 0.0),
            ("ReconnectInterval", "reconnect_interval", 0.0),
            ("ReconnectNonce", "reconnect_nonce", -1.0),
        ):
            value = raw.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and value > least:
                changes[name] = float(value)
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class LongConnSettings:
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    silence_pings: float = 3.0  # ping intervals without any frame before the socket is dead
    max_in_flight: int = 64
    drain_timeout: float = 10.0  # how long frames in flight may finish after the socket ends
    fragment_ttl: float = 5.0


class FrameBridge:
    """One data payload in, the answer's body out: parsed as a webhook, recorded by the sink."""

    def __init__(self, inbound: FeishuInbound, sink: EventSink, budget: float) -> None:
        self._inbound = inbound
        self._sink = sink
        self._budget = budget

    async def handle(self, payload: bytes) -> dict[str, Any] | None:
        """The card answer for a click, None for anything else (answered without data).

        Returns only once every event is recorded: a sink error propagates, and the frame then
        goes unanswered. An unreadable payload is dropped with a warning and answered, since a
        re-push would be just as unreadable.
        """
        try:
            body = json.loads(payload)
            if not isinstance(body, dict):
                raise ValueError("payload is not a JSON object")
            decoded = self._inbound.decode_payload(body)
        except (ValueError, RecursionError, InboundError) as exc:
            log.warning("feishu-ws: dropping an unreadable frame: %s", exc)
            return None
        results: list[Ingested] = [await self._sink(e, self._budget) for e in decoded.events]
        if decoded.context != "card":
            return None
        inline = next((r.inline for r in results if r.inline is not None), None)
        return self._inbound.card_answer(inline, False)


def answer_frame(frame: frames.Frame, body: dict[str, Any] | None, millis: int) -> frames.Frame:
    """The reply to a data frame: the frame itself, a ``biz_rt`` header and a JSON response."""
    response: dict[str, Any] = {"code": 200}
    if body is not None:
        encoded = json.dumps(body, ensure_ascii=False).encode()
        response["data"] = base64.b64encode(encoded).decode("ascii")
    return replace(
        frame,
        headers=(*frame.headers, frames.Header("biz_rt", str(millis))),
        payload=json.dumps(response).encode(),
    )


def ping_frame(service: int) -> frames.Frame:
    return frames.Frame(service=service, method=frames.METHOD_CONTROL,
                        headers=(frames.Header("type", "ping"),))


class LongConnection:
    """One long connection at a time, for as long as :meth:`run` is awaited."""

    def __init__(
        self,
        config: FeishuConfig,
        inbound: FeishuInbound,
        sink: EventSink,
        budget: float,
        *,
        settings: LongConnSettings = LongConnSettings(),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._config = config
        self.bridge = FrameBridge(inbound, sink, budget)
        self.settings = settings
        self.client_config = ClientConfig()
        self._sleep = sleep
        self.connected = False
        self.connections = 0  # sockets opened so far (tests and logs)
        self.received = 0  # frames received so far

    async def run(self) -> None:
        """Run until cancelled, reconnecting for ever."""
        async with aiohttp.ClientSession() as http:
            failures = 0
            while True:
                received_before = self.received
                try:
                    ending = await self._connection(http)
                except (aiohttp.ClientError, TimeoutError, EndpointError) as exc:
                    log.warning("feishu-ws: cannot connect: %s", exc)
                    ending = "dropped"
                s, c = self.settings, self.client_config
                if self.received > received_before:  # it was healthy: come back soon, spread out
                    failures = 0
                    delay = random.uniform(0, c.reconnect_nonce)  # noqa: S311 - jitter only
                else:
                    failures += 1
                    cap = min(s.backoff_cap, c.reconnect_interval)
                    delay = backoff_delay(failures, s.backoff_base, cap)
                log.info("feishu-ws: connection ended (%s), reconnecting in %.1f s", ending, delay)
                await self._sleep(delay)

    async def _open(self, http: aiohttp.ClientSession) -> tuple[URL, int]:
        """The socket URL and service id, from the endpoint; applies its ClientConfig."""
        url = self._config.base_url.rstrip("/") + ENDPOINT_PATH
        body = {"AppID": self._config.app_id, "AppSecret": self._config.app_secret}
        async with http.post(url, json=body, headers={"locale": "zh"},
                             timeout=OPEN_TIMEOUT) as response:
            try:
                reply = await response.json(content_type=None)
            except ValueError:
                reply = None
            status = response.status
        reply = reply if isinstance(reply, dict) else {}
        if status != 200:
            raise EndpointError(f"HTTP {status}: {reply.get('msg', '')}")
        if reply.get("code") != 0:
            raise EndpointError(f"code {reply.get('code')}: {reply.get('msg', '')}")
        data = reply.get("data")
        data = data if isinstance(data, dict) else {}
        raw_url = data.get("URL")
        if not isinstance(raw_url, str) or not raw_url.startswith(("ws://", "wss://")):
            raise EndpointError("no websocket URL in the reply")
        ws_url = URL(raw_url)
        service = ws_url.query.get("service_id", "")
        if not service.isdigit() or not ws_url.query.get("device_id"):
            raise EndpointError("the websocket URL lacks device_id or service_id")
        self.client_config = self.client_config.updated(data.get("ClientConfig"))
        return ws_url, int(service)

    async def _connection(self, http: aiohttp.ClientSession) -> Ending:
        url, service = await self._open(http)
        async with http.ws_connect(url, timeout=WS_TIMEOUT,
                                   max_msg_size=frames.MAX_FRAME_BYTES) as ws:
            self.connected = True
            self.connections += 1
            log.info("feishu-ws: connected (device %s)", url.query.get("device_id"))
            try:
                return await _Session(ws, self, service).serve()
            finally:
                self.connected = False


class _Session:
    """One socket: a pinger, the receiver, and each data frame in its own bounded task."""

    def __init__(
        self, ws: aiohttp.ClientWebSocketResponse, client: LongConnection, service: int
    ) -> None:
        self._ws = ws
        self._client = client
        self._service = service
        self._send_lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(client.settings.max_in_flight)
        self._fragments = Reassembler(client.settings.fragment_ttl)

    async def serve(self) -> Ending:
        ending: Ending = "dropped"
        drain = self._client.settings.drain_timeout
        try:
            async with asyncio.timeout(None) as deadline, asyncio.TaskGroup() as tasks:
                pinger = tasks.create_task(self._ping())
                ending = await self._receive(tasks)
                pinger.cancel()
                deadline.reschedule(asyncio.get_running_loop().time() + drain)
        except TimeoutError:
            # Abandoned frames were never answered, so Feishu pushes them again.
            log.warning("feishu-ws: frames still in flight abandoned after the socket ended")
        return ending

    async def _ping(self) -> None:
        while True:
            await self._send(frames.encode(ping_frame(self._service)))
            await asyncio.sleep(self._client.client_config.ping_interval)

    async def _receive(self, tasks: asyncio.TaskGroup) -> Ending:
        while True:
            silence = self._client.client_config.ping_interval * self._client.settings.silence_pings
            try:
                message = await self._ws.receive(timeout=silence)
            except TimeoutError:
                log.warning("feishu-ws: no frame for %.0f s, reconnecting", silence)
                return "silent"
            if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.PING,
                                aiohttp.WSMsgType.PONG):
                continue  # Feishu speaks binary frames only
            if message.type != aiohttp.WSMsgType.BINARY:
                return "dropped"
            self._client.received += 1
            try:
                frame = frames.decode(message.data)
            except frames.FrameError as exc:
                log.warning("feishu-ws: dropping an unreadable frame: %s", exc)
                continue
            if frame.method == frames.METHOD_CONTROL:
                self._control(frame)
                continue
            payload = self._data_payload(frame) if frame.method == frames.METHOD_DATA else None
            if payload is not None:
                await self._slots.acquire()
                tasks.create_task(self._handle(frame, payload))

    def _control(self, frame: frames.Frame) -> None:
        if frame.header("type") == "pong" and frame.payload:
            try:
                update = json.loads(frame.payload)
            except ValueError:
                log.warning("feishu-ws: unreadable ClientConfig in a pong")
                return
            self._client.client_config = self._client.client_config.updated(update)

    def _data_payload(self, frame: frames.Frame) -> bytes | None:
        """The whole payload of an event or card frame, once all its parts are here."""
        kind, message_id = frame.header("type"), frame.header("message_id")
        if kind not in DATA_TYPES:
            log.debug("feishu-ws: ignoring a %r data frame", kind)
            return None
        total, seq = frame.header("sum") or "1", frame.header("seq") or "0"
        if not message_id or not total.isdigit() or not seq.isdigit():
            log.warning("feishu-ws: dropping a data frame with bad headers")
            return None
        try:
            return self._fragments.add(message_id, int(total), int(seq), frame.payload)
        except FragmentError as exc:
            log.warning("feishu-ws: dropping a fragment: %s", exc)
            return None

    async def _handle(self, frame: frames.Frame, payload: bytes) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            body = await self._client.bridge.handle(payload)
        except Exception:
            # Not recorded, so not answered: Feishu pushes the frame again later.
            log.exception("feishu-ws: frame %s not recorded", frame.header("message_id"))
            return
        finally:
            self._slots.release()
        millis = int((loop.time() - started) * 1000)
        await self._send(frames.encode(answer_frame(frame, body, millis)))

    async def _send(self, data: bytes) -> None:
        # After a drop the answer has nowhere to go; the event is recorded and the re-push dedups.
        async with self._send_lock:
            try:
                await self._ws.send_bytes(data)
            except (ConnectionError, aiohttp.ClientError) as exc:
                log.info("feishu-ws: frame not sent: %s", exc)
