"""Feishu's long-connection server side, just enough for lark-oapi's ``ws.Client``.

``POST /callback/ws/endpoint`` hands out a ``ws://`` URL; the socket carries protobuf
``pbbp2.Frame``s (lark-oapi's own generated module, so the framing is the SDK's). ``push``
sends one event frame and returns the client's answer frame payload.
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


class FakeLongConnection:
    def __init__(self, app_id: str, app_secret: str) -> None:
        self.app_id, self.app_secret = app_id, app_secret
        self.url = ""
        self.connected = asyncio.Event()
        self.endpoint_calls = 0
        self._socket: web.WebSocketResponse | None = None
        self._answers: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._server = LocalServer()

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/callback/ws/endpoint", self._endpoint)
        app.router.add_get("/ws", self._ws)
        self.url = await self._server.serve(app)
        return self.url

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        await self._server.stop()

    async def push(self, payload: dict[str, Any], within: float = 10.0) -> dict[str, Any]:
        """Send one event frame and wait for the client's answer."""
        await asyncio.wait_for(self.connected.wait(), within)
        assert self._socket is not None
        message_id = f"msg-{next(self._ids)}"
        frame = Frame(SeqID=1, LogID=1, service=1, method=1, payload=json.dumps(payload).encode())
        for key, value in (
            ("type", "event"),
            ("message_id", message_id),
            ("trace_id", "trace"),
            ("sum", "1"),
            ("seq", "0"),
        ):
            header = frame.headers.add()
            header.key, header.value = key, value
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._answers[message_id] = answer
        await self._socket.send_bytes(frame.SerializeToString())
        return await asyncio.wait_for(answer, within)

    async def _endpoint(self, request: web.Request) -> web.Response:
        self.endpoint_calls += 1
        body = await request.json()
        if (body.get("AppID"), body.get("AppSecret")) != (self.app_id, self.app_secret):
            return web.json_response({"code": 1000040343, "msg": "bad credentials"})
        ws_url = self.url.replace("http://", "ws://") + "/ws?device_id=d1&service_id=1"
        config = {
            "ReconnectCount": -1,
            "ReconnectInterval": 1,
            "ReconnectNonce": 0,
            "PingInterval": 120,
        }
        return web.json_response({"code": 0, "data": {"URL": ws_url, "ClientConfig": config}})

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._socket = socket
        self.connected.set()
        async for message in socket:
            if message.type != WSMsgType.BINARY:
                continue
            frame = Frame()
            frame.ParseFromString(message.data)
            headers = {h.key: h.value for h in frame.headers}
            answer = self._answers.pop(headers.get("message_id", ""), None)
            if frame.method == 1 and answer is not None and not answer.done():
                answer.set_result(_decode_answer(frame.payload))
        self.connected.clear()
        return socket


def _decode_answer(payload: bytes) -> dict[str, Any]:
    answer = json.loads(payload)
    data = answer.get("data")
    if data:
        answer["data"] = json.loads(base64.b64decode(data))
    return dict(answer)
