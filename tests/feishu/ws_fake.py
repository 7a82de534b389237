"""Feishu's long-connection server side, speaking the real wire format.

``POST /callback/ws/endpoint`` hands out a ``ws://`` URL and a ``ClientConfig``; the socket
carries protobuf ``pbbp2.Frame``s built and parsed with lark-oapi's own generated module, an
implementation independent of the client's codec. The fake answers pings with pongs (which may
carry a new ClientConfig), pushes event frames whole or in fragments, can drop the socket, go
silent, or fail the endpoint call, and records every answer frame.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from typing import Any

from aiohttp import WSMsgType, web
from lark_oapi.ws.pb.pbbp2_pb2 import Frame

from bot.emulator.serving import LocalServer

BAD_CREDENTIALS = 1000040343


class FakeLongConnection:
    def __init__(self, app_id: str, app_secret: str) -> None:
        self.app_id, self.app_secret = app_id, app_secret
        self.url = ""
        self.client_config: dict[str, Any] = {
            "ReconnectCount": -1,
            "ReconnectInterval": 1,
            "ReconnectNonce": 0,
            "PingInterval": 120,
        }
        self.pong_config: dict[str, Any] | None = None  # sent in every pong when set
        self.answer_pings = True
        self.endpoint_failures: list[int] = []  # HTTP statuses for the next endpoint calls
        self.endpoint_reply: Any = None  # replaces the normal reply when set
        self.endpoint_calls = 0
        self.connections = 0
        self.pings: list[Frame] = []
        self.answers: dict[str, Frame] = {}  # message_id -> the client's answer frame
        self.connected = asyncio.Event()
        self._socket: web.WebSocketResponse | None = None
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._server = LocalServer()

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/callback/ws/endpoint", self._endpoint)
        app.router.add_get("/ws", self._ws)
        self.url = await self._server.serve(app)
        return self.url

    async def close(self) -> None:
        await self.drop()
        await self._server.stop()

    async def drop(self) -> None:
        """Close the current socket from the server side."""
        if self._socket is not None:
            await self._socket.close()

    async def wait_connected(self, count: int = 1, within: float = 10.0) -> None:
        """Until the ``count``-th socket is open."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: self.connections >= count and self.is_open)

    async def wait_for(self, what: Any, within: float = 10.0) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(what)

    @property
    def is_open(self) -> bool:
        return self._socket is not None and not self._socket.closed

    async def send(
        self, payload: dict[str, Any], *, parts: int = 1, kind: str = "event"
    ) -> tuple[str, asyncio.Future[dict[str, Any]]]:
        """Push one event (split into ``parts`` frames, sent last part first); its answer later."""
        await self.wait_connected()
        assert self._socket is not None
        message_id = f"msg-{next(self._ids)}"
        body = json.dumps(payload).encode()
        size = -(-len(body) // parts)
        chunks = [body[i * size : (i + 1) * size] for i in range(parts)]
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[message_id] = answer
        for seq in reversed(range(parts)):
            frame = data_frame(message_id, chunks[seq], kind=kind, total=parts, seq=seq)
            await self._socket.send_bytes(frame.SerializeToString())
        return message_id, answer

    async def push(self, payload: dict[str, Any], within: float = 10.0, **how: Any) -> Any:
        """Push one event and wait for the client's answer payload."""
        _, answer = await self.send(payload, **how)
        return await asyncio.wait_for(answer, within)

    async def send_raw(self, data: bytes) -> None:
        await self.wait_connected()
        assert self._socket is not None
        await self._socket.send_bytes(data)

    async def _endpoint(self, request: web.Request) -> web.Response:
        self.endpoint_calls += 1
        if self.endpoint_failures:
            status = self.endpoint_failures.pop(0)
            return web.json_response({"code": status, "msg": "system busy"}, status=status)
        if self.endpoint_reply is not None:
            return web.json_response(self.endpoint_reply)
        body = await request.json()
        if (body.get("AppID"), body.get("AppSecret")) != (self.app_id, self.app_secret):
            return web.json_response({"code": BAD_CREDENTIALS, "msg": "bad credentials"})
        ws_url = self.url.replace("http://", "ws://") + "/ws?device_id=d1&service_id=7"
        return web.json_response(
            {"code": 0, "data": {"URL": ws_url, "ClientConfig": self.client_config}}
        )

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        async with self._changed:
            self._socket = socket
            self.connections += 1
            self.connected.set()
            self._changed.notify_all()
        async for message in socket:
            if message.type == WSMsgType.BINARY:
                await self._received(socket, message.data)
        async with self._changed:
            if self._socket is socket:
                self.connected.clear()
            self._changed.notify_all()
        return socket

    async def _received(self, socket: web.WebSocketResponse, data: bytes) -> None:
        frame = Frame()
        frame.ParseFromString(data)
        headers = {h.key: h.value for h in frame.headers}
        if frame.method == 0 and headers.get("type") == "ping":
            self.pings.append(frame)
            if self.answer_pings:
                await socket.send_bytes(pong_frame(frame.service, self.pong_config))
        elif frame.method == 1:
            message_id = headers.get("message_id", "")
            self.answers[message_id] = frame
            waiting = self._waiting.pop(message_id, None)
            if waiting is not None and not waiting.done():
                waiting.set_result(decode_answer(frame.payload))
        async with self._changed:
            self._changed.notify_all()


def data_frame(
    message_id: str, payload: bytes, *, kind: str = "event", total: int = 1, seq: int = 0
) -> Frame:
    frame = Frame(SeqID=seq + 1, LogID=42, service=7, method=1, payload=payload,
                  LogIDNew="log-new")
    for key, value in (
        ("type", kind),
        ("message_id", message_id),
        ("trace_id", "trace"),
        ("sum", str(total)),
        ("seq", str(seq)),
    ):
        header = frame.headers.add()
        header.key, header.value = key, value
    return frame


def pong_frame(service: int, config: dict[str, Any] | None) -> bytes:
    frame = Frame(SeqID=0, LogID=0, service=service, method=0)
    header = frame.headers.add()
    header.key, header.value = "type", "pong"
    if config is not None:
        frame.payload = json.dumps(config).encode()
    return bytes(frame.SerializeToString())


def decode_answer(payload: bytes) -> dict[str, Any]:
    answer = json.loads(payload)
    data = answer.get("data")
    if data:
        answer["data"] = json.loads(base64.b64decode(data))
    return dict(answer)
