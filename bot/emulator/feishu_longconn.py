"""The emulated Feishu's long connection: enough for a ``mode = "websocket"`` bot to stay online.

``POST /callback/ws/endpoint`` checks the app's credentials and hands out a ``ws://`` URL on
the same server with a ``ClientConfig``; the socket answers every ping frame with a pong.
Events still reach the bot by webhook in the emulator, so nothing is pushed here. Frames use
the server's own codec: this fake keeps a bot connected (the footprint bench, demos), it is
not evidence that the codec is right (``tests/feishu/ws_fake.py`` is, with lark-oapi's).
"""

from __future__ import annotations

from typing import Any

from aiohttp import WSMsgType, web

from bot.platforms.feishu import frames

ENDPOINT = "/callback/ws/endpoint"
SOCKET = "/callback/ws/socket"
BAD_CREDENTIALS = 1000040343


class FakeLongConnections:
    def __init__(self, app_id: str, app_secret: str, ping_interval: int = 120) -> None:
        self.app_id, self.app_secret = app_id, app_secret
        self.ping_interval = ping_interval
        self.sockets: set[web.WebSocketResponse] = set()
        self.pings = 0

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(ENDPOINT, self._endpoint)
        app.router.add_get(SOCKET, self._socket)

    async def close(self) -> None:
        for socket in list(self.sockets):
            await socket.close()

    async def _endpoint(self, request: web.Request) -> web.Response:
        body: Any = await request.json()
        if not isinstance(body, dict) or (body.get("AppID"), body.get("AppSecret")) != (
            self.app_id,
            self.app_secret,
        ):
            return web.json_response({"code": BAD_CREDENTIALS, "msg": "app id or secret invalid"})
        base = str(request.url.origin()).replace("http", "ws", 1)
        config = {"PingInterval": self.ping_interval, "ReconnectCount": -1,
                  "ReconnectInterval": 120, "ReconnectNonce": 30}
        url = f"{base}{SOCKET}?device_id=emulator&service_id=1"
        return web.json_response({"code": 0, "msg": "ok", "data": {"URL": url,
                                                                   "ClientConfig": config}})

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.add(socket)
        try:
            async for message in socket:
                if message.type == WSMsgType.BINARY:
                    await self._frame(socket, message.data)
        finally:
            self.sockets.discard(socket)
        return socket

    async def _frame(self, socket: web.WebSocketResponse, data: bytes) -> None:
        try:
            frame = frames.decode(data)
        except frames.FrameError:
            return
        if frame.method == frames.METHOD_CONTROL and frame.header("type") == "ping":
            self.pings += 1
            pong = frames.Frame(service=frame.service, method=frames.METHOD_CONTROL,
                                headers=(frames.Header("type", "pong"),))
            await socket.send_bytes(frames.encode(pong))
