"""DingTalk's open platform, emulated: the fake the adapter tests use and ``claimbot demo`` serves.

``FakeDingtalk`` is an aiohttp app on 127.0.0.1 (port 0) speaking DingTalk's wire formats: the
OAuth2 access token with expiry, the Stream gateway (``connections/open`` with single-use
tickets, then a WebSocket that pushes robot messages and card callbacks, pings, sends the
disconnect notice, drops the socket, records every ACK and can redeliver what was not
acknowledged), interactive cards (``createAndDeliver`` with per-user delivery failures, update
by key), robot batch and group sends, message file download, and the legacy user and department
lookups. It records every call and injects failures (HTTP 429/5xx, oapi errcodes).

Observers (``observers``) hear every call, card and robot message, and every ACK, which is how
the emulator's web page shows the bot live. Callback payloads and signing are in
:mod:`bot.emulator.dingtalk_callbacks`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bot.emulator.dingtalk_callbacks import CARD_TOPIC, ROBOT_TOPIC
from bot.emulator.serving import LocalServer

BATCH_LIMIT = 20
Observer = Callable[[str, Any], None]  # (what happened, the record) — see FakeDingtalk


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Failure:
    path: str  # injected into calls whose path contains this
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    times: int


@dataclass
class Gateway:
    """The Stream side: connected sockets, frames pushed, ACKs received (by messageId)."""

    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    tickets: set[str] = field(default_factory=set)
    subscriptions: list[Any] = field(default_factory=list)
    connections: int = 0
    pushed: dict[str, dict[str, Any]] = field(default_factory=dict)
    acks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


def _error(code: str, message: str, status: int = 400) -> web.Response:
    return web.json_response({"code": code, "message": message, "requestid": "req"}, status=status)


def _ms() -> str:
    return str(int(time.time() * 1000))


__all__ = ["CARD_TOPIC", "ROBOT_TOPIC", "FakeDingtalk"]


class FakeDingtalk:
    def __init__(
        self,
        *,
        client_id: str = "dingfakeappkey",
        client_secret: str = "fake-secret",  # noqa: S107 - a fake's credential
        token_ttl: int = 7200,
    ) -> None:
        self.client_id, self.client_secret, self.token_ttl = client_id, client_secret, token_ttl
        self.calls: list[Call] = []
        self.tokens: dict[str, float] = {}  # token → when it expires (monotonic)
        self.failures: list[Failure] = []
        self.gateway = Gateway()
        self.cards: dict[str, dict[str, Any]] = {}  # outTrackId → the createAndDeliver body
        self.undeliverable: set[str] = set()  # user ids whose card delivery fails
        self.invalid_staff: set[str] = set()
        self.flow_controlled: set[str] = set()
        self.users: dict[str, dict[str, Any]] = {}
        self.departments: dict[int, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}  # downloadCode → bytes
        self.observers: list[Observer] = []  # ("call"|"card"|"card_update"|"text"|"ack", …)
        self._ids = itertools.count(1)
        self._server = LocalServer()
        self.url = ""
        self.app = self._build()

    def _notify(self, kind: str, record: Any) -> None:
        for observer in self.observers:
            observer(kind, record)

    def _build(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        app.router.add_post("/v1.0/oauth2/accessToken", self._token)
        app.router.add_post("/v1.0/gateway/connections/open", self._open)
        app.router.add_get("/gateway", self._socket)
        app.router.add_post("/v1.0/card/instances/createAndDeliver", self._create_card)
        app.router.add_put("/v1.0/card/instances", self._update_card)
        app.router.add_post("/v1.0/card/callbacks/register", self._ok)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._batch_send)
        app.router.add_post("/v1.0/robot/groupMessages/send", self._group_send)
        app.router.add_post("/v1.0/robot/messageFiles/download", self._download)
        app.router.add_get("/files/{code}", self._file)
        app.router.add_post("/topapi/v2/user/get", self._user)
        app.router.add_post("/topapi/v2/department/get", self._department)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self.url = await self._server.serve(self.app, host, port)
        return self.url

    async def close(self) -> None:
        for ws in list(self.gateway.sockets):
            await ws.close()
        await self._server.stop()

    # --- recording, failure injection, auth -------------------------------------------------

    def fail_next(
        self, path: str, status: int = 429, *, times: int = 1, code: str = "Throttling",
        errcode: int | None = None, retry_after: float | None = None,
    ) -> None:
        """Answer the next ``times`` calls to ``path`` with an error (oapi style if errcode)."""
        body: dict[str, Any] = {"code": code, "message": "injected", "requestid": "req"}
        if errcode is not None:
            status, body = 200, {"errcode": errcode, "errmsg": "injected"}
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self.failures.append(Failure(path, status, body, headers, times))

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == "/gateway":
            return await handler(request)  # type: ignore[no-any-return]
        raw = await request.read()
        body = json.loads(raw) if raw else None
        call = Call(request.method, request.path, dict(request.query), dict(request.headers), body)
        self.calls.append(call)
        self._notify("call", call)
        for failure in self.failures:
            if failure.path in request.path and failure.times > 0:
                failure.times -= 1
                return web.json_response(failure.body, status=failure.status,
                                         headers=failure.headers)
        if request.path.startswith("/v1.0/") and not self._authorised(request):
            return web.json_response(
                {"code": "InvalidAuthentication", "message": "不合法的access_token"}, status=401
            )
        token = request.query.get("access_token")
        if request.path.startswith("/topapi/") and not self._valid(token):
            return web.json_response({"errcode": 40014, "errmsg": "不合法的access_token"})
        return await handler(request)  # type: ignore[no-any-return]

    def _authorised(self, request: web.Request) -> bool:
        if request.path in ("/v1.0/oauth2/accessToken", "/v1.0/gateway/connections/open"):
            return True
        return self._valid(request.headers.get("x-acs-dingtalk-access-token"))

    def _valid(self, token: str | None) -> bool:
        return token is not None and self.tokens.get(token, 0.0) > time.monotonic()

    def expire_tokens(self) -> None:
        self.tokens.clear()

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("appKey") != self.client_id or body.get("appSecret") != self.client_secret:
            return _error("invalidClientIdOrSecret", "bad", 400)
        token = f"tok-{next(self._ids)}"
        self.tokens[token] = time.monotonic() + self.token_ttl
        return web.json_response({"accessToken": token, "expireIn": self.token_ttl})

    async def _ok(self, request: web.Request) -> web.Response:
        return web.json_response({"result": True})

    # --- the Stream gateway -----------------------------------------------------------------

    async def _open(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            return _error("invalidClient", "bad client", 401)
        ticket = secrets.token_urlsafe(16)
        self.gateway.tickets.add(ticket)
        self.gateway.subscriptions = body.get("subscriptions", [])
        return web.json_response({"endpoint": self.url.replace("http", "ws") + "/gateway",
                                  "ticket": ticket})

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self.gateway.tickets:
            raise web.HTTPForbidden(text="unknown or used ticket")
        self.gateway.tickets.discard(ticket)  # single use
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        gw = self.gateway
        async with gw.changed:
            gw.sockets.append(ws)
            gw.connections += 1
            gw.changed.notify_all()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    ack = json.loads(message.data)
                    async with gw.changed:
                        gw.acks.setdefault(ack["headers"]["messageId"], []).append(ack)
                        self._notify("ack", ack)
                        gw.changed.notify_all()
        finally:
            async with gw.changed:
                gw.sockets.remove(ws)
                gw.changed.notify_all()
        return ws

    async def wait_connected(self, connections: int = 1, within: float = 5.0) -> None:
        """Until the ``connections``-th socket (counting from start) is open."""
        gw = self.gateway
        async with gw.changed:
            await asyncio.wait_for(gw.changed.wait_for(
                lambda: gw.connections >= connections and bool(gw.sockets)), within)

    async def wait_ack(self, message_id: str, within: float = 5.0) -> dict[str, Any]:
        gw = self.gateway
        async with gw.changed:
            await asyncio.wait_for(gw.changed.wait_for(lambda: message_id in gw.acks), within)
        return gw.acks[message_id][0]

    async def push_frame(self, kind: str, topic: str, data: str, message_id: str = "") -> str:
        message_id = message_id or f"{uuid.uuid4().hex[:8]}_{next(self._ids)}"
        frame = {
            "specVersion": "1.0", "type": kind, "data": data,
            "headers": {"appId": "fake-app", "connectionId": "conn", "topic": topic,
                        "contentType": "application/json", "messageId": message_id,
                        "time": _ms()},
        }
        if kind == "CALLBACK":
            self.gateway.pushed[message_id] = frame
        await self.wait_connected()
        await self.gateway.sockets[-1].send_str(json.dumps(frame, ensure_ascii=False))
        return message_id

    async def push_robot_message(self, payload: Mapping[str, Any], message_id: str = "") -> str:
        return await self.push_frame(
            "CALLBACK", ROBOT_TOPIC, json.dumps(payload, ensure_ascii=False), message_id
        )

    async def push_card_callback(self, payload: Mapping[str, Any], message_id: str = "") -> str:
        return await self.push_frame(
            "CALLBACK", CARD_TOPIC, json.dumps(payload, ensure_ascii=False), message_id
        )

    async def ping(self) -> str:
        return await self.push_frame("SYSTEM", "ping", json.dumps({"opaque": uuid.uuid4().hex}))

    async def disconnect_notice(self) -> str:
        return await self.push_frame("SYSTEM", "disconnect", json.dumps({"reason": "restart"}))

    async def drop(self) -> None:
        """Close every socket without a notice, as a gateway restart or a network cut does."""
        for ws in list(self.gateway.sockets):
            await ws.close()

    def unacknowledged(self) -> list[str]:
        return [m for m in self.gateway.pushed if m not in self.gateway.acks]

    async def redeliver_unacknowledged(self) -> list[str]:
        """What DingTalk does with frames it got no ACK for: send them again, same messageId."""
        again = self.unacknowledged()
        for message_id in again:
            frame = self.gateway.pushed[message_id]
            await self.push_frame("CALLBACK", frame["headers"]["topic"], frame["data"], message_id)
        return again

    # --- cards and robot messages ------------------------------------------------------------

    async def _create_card(self, request: web.Request) -> web.Response:
        body = await request.json()
        params = body.get("cardData", {}).get("cardParamMap", {})
        if not all(isinstance(v, str) for v in params.values()):
            return _error("param.error", "cardParamMap values must be strings", 400)
        space = str(body.get("openSpaceId", ""))
        target = space.rsplit(".", 1)[-1]
        self.cards[body["outTrackId"]] = body
        ok = target not in self.undeliverable
        if ok:
            self._notify("card", body)
        result = {"spaceType": "IM_ROBOT" if "IM_ROBOT" in space else "IM_GROUP",
                  "spaceId": target, "success": ok}
        if not ok:
            result["errorMsg"] = "user not in the robot's visible range"
        return web.json_response({"success": True, "result": {
            "outTrackId": body["outTrackId"], "deliverResults": [result]}})

    async def _update_card(self, request: web.Request) -> web.Response:
        body = await request.json()
        card = self.cards.get(body.get("outTrackId", ""))
        if card is None:
            return _error("card.notFound", "no such card", 400)
        params = body.get("cardData", {}).get("cardParamMap", {})
        if not all(isinstance(v, str) for v in params.values()):
            return _error("param.error", "strings only", 400)
        if body.get("cardUpdateOptions", {}).get("updateCardDataByKey"):
            card["cardData"]["cardParamMap"].update(params)
        else:
            card["cardData"]["cardParamMap"] = params
        self._notify("card_update", card)
        return web.json_response({"success": True, "result": True})

    async def _batch_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        users = body.get("userIds", [])
        if not users or len(users) > BATCH_LIMIT or not isinstance(body.get("msgParam"), str):
            return _error("param.error", "userIds", 400)
        self._notify("text", body)
        return web.json_response({
            "processQueryKey": f"pqk-{next(self._ids)}",
            "invalidStaffIdList": [u for u in users if u in self.invalid_staff],
            "flowControlledStaffIdList": [u for u in users if u in self.flow_controlled],
        })

    async def _group_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not body.get("openConversationId") or not isinstance(body.get("msgParam"), str):
            return _error("param.error", "group", 400)
        self._notify("text", body)
        return web.json_response({"processQueryKey": f"pqk-{next(self._ids)}"})

    async def _download(self, request: web.Request) -> web.Response:
        code = (await request.json()).get("downloadCode", "")
        if code not in self.files:
            return _error("file.notFound", "bad code", 400)
        return web.json_response({"downloadUrl": f"{self.url}/files/{code}"})

    async def _file(self, request: web.Request) -> web.Response:
        return web.Response(body=self.files[request.match_info["code"]], content_type="image/jpeg")

    async def _user(self, request: web.Request) -> web.Response:
        user = self.users.get((await request.json()).get("userid", ""))
        if user is None:
            return web.json_response({"errcode": 60121, "errmsg": "找不到该用户"})
        return web.json_response({"errcode": 0, "errmsg": "ok", "result": user})

    async def _department(self, request: web.Request) -> web.Response:
        dept = self.departments.get((await request.json()).get("dept_id", -1))
        if dept is None:
            return web.json_response({"errcode": 60003, "errmsg": "部门不存在"})
        return web.json_response({"errcode": 0, "errmsg": "ok", "result": dept})
