"""Feishu's open platform, emulated: the fake the adapter tests use and ``claimbot demo`` serves.

``FakeFeishu`` is an aiohttp app on 127.0.0.1 (port 0) speaking the open API's wire format:
tenant_access_token with expiry, message create (``uuid`` idempotency) and PATCH, delayed card
update with its 2-use token, message resources, contact users and departments, bot info, and a
long connection that keeps a ``mode = "websocket"`` bot online (``feishu_longconn``). It
records every call and can inject failures (HTTP 429, frequency-limit codes, 5xx).

Observers (``observers``) hear every call, every message created and every card updated, which
is how the emulator's web page shows the bot live. Callbacks to the bot are built and sealed by
:mod:`bot.emulator.feishu_callbacks`.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.emulator.feishu_longconn import FakeLongConnections
from bot.emulator.serving import LocalServer

MAX_CARD_BYTES = 30 * 1024
Observer = Callable[[str, Any], None]  # (what happened, the record) — see FakeFeishu


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    peer: Any


@dataclass
class Failure:
    path: str  # injected into calls whose path contains this
    status: int
    code: int
    msg: str
    headers: dict[str, str]
    times: int


@dataclass
class Message:
    message_id: str
    receive_id: str
    receive_id_type: str
    msg_type: str
    content: str
    uuid: str = ""
    updates: list[str] = field(default_factory=list)

    @property
    def card(self) -> Any:
        return json.loads(self.updates[-1] if self.updates else self.content)


class FakeFeishu:
    def __init__(
        self,
        *,
        app_id: str = "cli_fake",
        app_secret: str = "fake-secret",  # noqa: S107 - a fake's credential
        bot_open_id: str = "ou_bot",
        token_ttl: int = 7200,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app_id, self.app_secret, self.bot_open_id = app_id, app_secret, bot_open_id
        self.token_ttl = token_ttl
        self.clock = clock
        self.calls: list[Call] = []
        self.messages: dict[str, Message] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.departments: dict[str, dict[str, Any]] = {}
        self.resources: dict[tuple[str, str], tuple[bytes, str, str]] = {}
        self.card_tokens: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, float] = {}  # token -> expiry on self.clock
        self.observers: list[Observer] = []  # ("call", Call) | ("message"|"update", Message)
        self._failures: list[Failure] = []
        self._ids = itertools.count(1)
        self.long_connections = FakeLongConnections(app_id, app_secret)
        self._server = LocalServer()
        self.url = ""

    # -- control ---------------------------------------------------------------------------
    async def start(self) -> str:
        self.url = await self._server.serve(self.app())
        return self.url

    async def close(self) -> None:
        await self.long_connections.close()
        await self._server.stop()

    def fail(
        self,
        path: str,
        *,
        status: int = 429,
        code: int = 99991400,
        msg: str = "request trigger frequency limit",
        times: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._failures.append(Failure(path, status, code, msg, dict(headers or {}), times))

    def expire_tokens(self) -> None:
        """Every issued token becomes invalid (as if Feishu rotated them early)."""
        self.tokens.clear()

    def add_user(
        self,
        open_id: str,
        name: str = "",
        leader: str = "",
        departments: Iterable[str] = (),
        **extra: Any,
    ) -> None:
        self.users[open_id] = {
            "open_id": open_id,
            "name": name,
            "leader_user_id": leader,
            "department_ids": list(departments),
            **extra,
        }

    def add_department(
        self, department_id: str, name: str = "", leader: str = "", parent: str = "0"
    ) -> None:
        self.departments[department_id] = {
            "open_department_id": department_id,
            "name": name,
            "leader_user_id": leader,
            "parent_department_id": parent,
            "leaders": [{"leaderType": 1, "leaderID": leader}] if leader else [],
        }

    def add_resource(
        self,
        message_id: str,
        file_key: str,
        data: bytes,
        content_type: str = "image/png",
        file_name: str = "",
    ) -> None:
        self.resources[(message_id, file_key)] = (data, content_type, file_name)

    def issue_card_token(self, message_id: str) -> str:
        token = f"c-{uuid.uuid4().hex}"
        self.card_tokens[token] = {"message_id": message_id, "uses": 0}
        return token

    def calls_to(self, path: str, method: str | None = None) -> list[Call]:
        return [c for c in self.calls if path in c.path and method in (None, c.method)]

    def _notify(self, kind: str, record: Any) -> None:
        for observer in self.observers:
            observer(kind, record)

    # -- the app ---------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        api = "/open-apis"
        app.router.add_post(f"{api}/auth/v3/tenant_access_token/internal", self._token)
        app.router.add_get(f"{api}/bot/v3/info", self._bot_info)
        app.router.add_post(f"{api}/im/v1/messages", self._create)
        app.router.add_patch(f"{api}/im/v1/messages/{{mid}}", self._patch)
        app.router.add_get(f"{api}/im/v1/messages/{{mid}}/resources/{{key}}", self._resource)
        app.router.add_post(f"{api}/interactive/v1/card/update", self._delayed_update)
        app.router.add_get(f"{api}/contact/v3/users/{{uid}}", self._user)
        app.router.add_get(f"{api}/contact/v3/departments/{{did}}", self._department)
        self.long_connections.add_routes(app)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        peer = request.transport.get_extra_info("peername") if request.transport else None
        call = Call(
            request.method, request.path, dict(request.query), dict(request.headers), body, peer
        )
        self.calls.append(call)
        self._notify("call", call)
        for failure in self._failures:
            if failure.times > 0 and failure.path in request.path:
                failure.times -= 1
                return _error(failure.code, failure.msg, failure.status, failure.headers)
        if request.path.startswith("/open-apis/") and not request.path.endswith(
            "tenant_access_token/internal"
        ):  # the long connection authenticates with the app's credentials instead
            denied = self._check_auth(request)
            if denied is not None:
                return denied
        response: web.StreamResponse = await handler(request)
        return response

    def _check_auth(self, request: web.Request) -> web.Response | None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return _error(99991661, "Missing access token for authorization", 400)
        expiry = self.tokens.get(auth.removeprefix("Bearer "))
        if expiry is None or self.clock() >= expiry:
            return _error(99991663, "Invalid access token for authorization", 400)
        return None

    async def _token(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read() or b"{}")  # the SDK posts without Content-Type
        if (body.get("app_id"), body.get("app_secret")) != (self.app_id, self.app_secret):
            return _error(10014, "app secret invalid", 200)
        now = self.clock()
        live = [(t, exp) for t, exp in self.tokens.items() if exp - now >= 1800]
        if live:  # Feishu returns the same token while 30 minutes or more remain
            token, expiry = live[0]
        else:
            token, expiry = f"t-{uuid.uuid4().hex}", now + self.token_ttl
            self.tokens[token] = expiry
        return _ok(tenant_access_token=token, expire=int(expiry - now))

    async def _bot_info(self, request: web.Request) -> web.Response:
        return _ok(bot={"open_id": self.bot_open_id, "app_name": "报销助手", "activate_status": 2})

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        id_type = request.query.get("receive_id_type", "")
        if id_type not in ("open_id", "user_id", "union_id", "email", "chat_id"):
            return _error(99992402, "field validation failed: receive_id_type", 400)
        invalid = _invalid_content(body.get("msg_type", ""), body.get("content"))
        if invalid is not None:
            return invalid
        key = body.get("uuid", "")
        same = next((m for m in self.messages.values() if key and m.uuid == key), None)
        message = same or Message(
            f"om_{next(self._ids):06d}",
            body.get("receive_id", ""),
            id_type,
            body["msg_type"],
            body["content"],
            key,
        )
        self.messages[message.message_id] = message
        if same is None:
            self._notify("message", message)
        chat = message.receive_id if id_type == "chat_id" else f"oc_p2p_{message.receive_id}"
        return _ok(
            data={
                "message_id": message.message_id,
                "chat_id": chat,
                "msg_type": message.msg_type,
                "create_time": str(int(time.time() * 1000)),
            }
        )

    async def _patch(self, request: web.Request) -> web.Response:
        message = self.messages.get(request.match_info["mid"])
        if message is None or message.msg_type != "interactive":
            return _error(230001, "invalid message_id", 400)
        content = (await request.json()).get("content")
        invalid = _invalid_content("interactive", content)
        if invalid is not None:
            return invalid
        message.updates.append(content)
        self._notify("update", message)
        return _ok(data={})

    async def _delayed_update(self, request: web.Request) -> web.Response:
        body = await request.json()
        grant = self.card_tokens.get(body.get("token", ""))
        if grant is None:
            return _error(300030, "token expired or invalid", 200)
        if grant["uses"] >= 2:
            return _error(300040, "token used more than twice", 200)
        card = body.get("card")
        if not isinstance(card, dict) or len(json.dumps(card).encode()) > MAX_CARD_BYTES:
            return _error(11311, "invalid card", 200)
        grant["uses"] += 1
        message = self.messages.get(grant["message_id"])
        if message is not None:
            message.updates.append(json.dumps(card, ensure_ascii=False))
            self._notify("update", message)
        return _ok()

    async def _resource(self, request: web.Request) -> web.Response:
        found = self.resources.get((request.match_info["mid"], request.match_info["key"]))
        if found is None:
            return _error(234003, "file key and message id mismatch", 400)
        data, content_type, name = found
        headers = {"Content-Disposition": f'attachment; filename="{name}"'} if name else {}
        return web.Response(body=data, content_type=content_type, headers=headers)

    async def _user(self, request: web.Request) -> web.Response:
        user = self.users.get(request.match_info["uid"])
        if user is None:
            return _error(41050, "no user authority error", 400)
        return _ok(data={"user": user})

    async def _department(self, request: web.Request) -> web.Response:
        department = self.departments.get(request.match_info["did"])
        if department is None:
            return _error(40004, "no dept authority error", 400)
        return _ok(data={"department": department})


def _ok(**fields: Any) -> web.Response:
    return web.json_response({"code": 0, "msg": "success", **fields})


def _error(
    code: int, msg: str, status: int, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status, headers=headers)


def _invalid_content(msg_type: str, content: Any) -> web.Response | None:
    if not isinstance(content, str):
        return _error(230001, "content must be a JSON string", 400)
    try:
        parsed = json.loads(content)
    except ValueError:
        return _error(230001, "content is not JSON", 400)
    if msg_type == "interactive":
        if len(content.encode()) > MAX_CARD_BYTES:
            return _error(230025, "card content too long", 400)
        if parsed.get("schema") != "2.0" or "body" not in parsed:
            return _error(230099, "failed to create card content", 400)
    elif msg_type == "text" and not isinstance(parsed.get("text"), str):
        return _error(230001, "text content needs a text field", 400)
    return None
