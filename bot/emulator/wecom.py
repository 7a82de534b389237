"""WeCom's server API, emulated: the fake the adapter tests use and ``claimbot demo`` serves.

``FakeWecom`` is an aiohttp app on 127.0.0.1 (port 0) speaking ``/cgi-bin``'s wire format:
gettoken with expiry (40014/42001 afterwards), message/send (a unique ``task_id`` per template
card, a single-use ``response_code`` for interactive cards), message/update_template_card
(refusing a reused or expired code), appchat/send, media/get (bytes, or an errcode as JSON with
HTTP 200), user/get and department/get. It records every call and can inject errcodes (45009…).

Observers (``observers``) hear every call and every message sent or card updated, which is
how the emulator's web page shows the bot's messages live. Callbacks to the bot are built and
sealed by :mod:`bot.emulator.wecom_callbacks`.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.emulator.serving import LocalServer

INTERACTIVE = frozenset({"button_interaction", "vote_interaction", "multiple_interaction"})
CODE_TTL = 72 * 3600.0
# WeCom does not document the errcode for a spent response_code or a repeated task_id;
# the fake answers both with 40058 (invalid parameter), which the real API uses for bad input.
BAD_PARAMETER = 40058
Observer = Callable[[str, Any], None]  # (what happened, the record) — see FakeWecom.observers


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class Failure:
    path: str  # injected into calls whose path ends with this
    errcode: int
    errmsg: str
    times: int
    status: int = 200


@dataclass
class Sent:
    msgid: str
    body: dict[str, Any]
    response_code: str = ""


@dataclass
class ResponseCode:
    msgid: str
    issued: float
    used: bool = False


class FakeWecom:
    def __init__(
        self,
        *,
        corp_id: str = "ww_fake_corp",
        secret: str = "fake-secret",  # noqa: S107 - a fake's credential
        token_ttl: int = 7200,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.corp_id, self.secret, self.token_ttl, self.clock = corp_id, secret, token_ttl, clock
        self.calls: list[Call] = []
        self.sent: list[Sent] = []
        self.updates: list[dict[str, Any]] = []
        self.codes: dict[str, ResponseCode] = {}
        self.task_ids: set[str] = set()
        self.tokens: dict[str, float] = {}  # token -> expiry on self.clock
        self.users: dict[str, dict[str, Any]] = {}
        self.departments: dict[str, dict[str, Any]] = {}
        self.media: dict[str, tuple[bytes, str]] = {}
        self.invalid_users: set[str] = set()
        self.observers: list[Observer] = []  # ("call", Call) | ("sent", Sent) | ("update", …)
        self._failures: list[Failure] = []
        self._ids = itertools.count(1)
        self._server = LocalServer()
        self.url = ""

    # -- control ---------------------------------------------------------------------------
    async def start(self) -> str:
        self.url = await self._server.serve(self.app())
        return self.url

    async def close(self) -> None:
        await self._server.stop()

    def fail(
        self,
        path: str,
        errcode: int = 45009,
        errmsg: str = "api freq out of limit",
        *,
        times: int = 1,
        status: int = 200,
    ) -> None:
        self._failures.append(Failure(path, errcode, errmsg, times, status))

    def expire_tokens(self) -> None:
        """Every issued token now answers 42001, as when WeCom expires tokens early."""
        for token in self.tokens:
            self.tokens[token] = self.clock() - 1

    def add_user(
        self,
        userid: str,
        name: str = "",
        *,
        leaders: Iterable[str] = (),
        departments: Iterable[int] = (1,),
        main_department: int | None = None,
        **extra: Any,
    ) -> None:
        depts = list(departments)
        self.users[userid] = {
            "userid": userid,
            "name": name,
            "department": depts,
            "main_department": main_department if main_department is not None else depts[0],
            "direct_leader": list(leaders),
            "is_leader_in_dept": [0] * len(depts),
            **extra,
        }

    def add_department(
        self, department_id: int, name: str = "", *, leaders: Iterable[str] = (), parent: int = 1
    ) -> None:
        self.departments[str(department_id)] = {
            "id": department_id,
            "name": name,
            "parentid": parent,
            "order": 1,
            "department_leader": list(leaders),
        }

    def add_media(self, media_id: str, data: bytes, content_type: str = "image/jpeg") -> None:
        self.media[media_id] = (data, content_type)

    def click_code(self, msgid: str = "") -> str:
        """A fresh ResponseCode, as WeCom puts in each template_card_event."""
        return self._issue_code(msgid)

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path.endswith(path)]

    def _notify(self, kind: str, record: Any) -> None:
        for observer in self.observers:
            observer(kind, record)

    # -- the app ---------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        routes = {
            "gettoken": self._gettoken,
            "message/send": self._send,
            "message/update_template_card": self._update,
            "appchat/send": self._appchat,
            "media/get": self._media,
            "user/get": self._user,
            "department/get": self._department,
        }
        for path, handler in routes.items():
            app.router.add_route("*", f"/cgi-bin/{path}", handler)
        return app

    @web.middleware
    async def _record(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        call = Call(request.method, request.path, dict(request.query), body)
        self.calls.append(call)
        self._notify("call", call)
        for failure in self._failures:
            if failure.times > 0 and request.path.endswith(failure.path):
                failure.times -= 1
                return _error(failure.errcode, failure.errmsg, failure.status)
        if not request.path.endswith("/gettoken"):
            denied = self._check_token(request.query.get("access_token", ""))
            if denied is not None:
                return denied
        return await handler(request)

    def _check_token(self, token: str) -> web.Response | None:
        if not token:
            return _error(41001, "access_token missing")
        if token not in self.tokens:
            return _error(40014, "invalid access_token")
        if self.tokens[token] <= self.clock():
            return _error(42001, "access_token expired")
        return None

    async def _gettoken(self, request: web.Request) -> web.Response:
        if request.query.get("corpid") != self.corp_id:
            return _error(40013, "invalid corpid")
        if request.query.get("corpsecret") != self.secret:
            return _error(40001, "invalid credential")
        token = f"tok-{next(self._ids)}-{os.urandom(4).hex()}"
        self.tokens[token] = self.clock() + self.token_ttl
        return _ok(access_token=token, expires_in=self.token_ttl)

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        kind = body.get("msgtype")
        if not isinstance(body.get("agentid"), int) or kind not in body:
            return _error(BAD_PARAMETER, "invalid agentid or msgtype")
        users = [u for u in str(body.get("touser", "")).split("|") if u]
        invalid = [u for u in users if u in self.invalid_users]
        if users and len(invalid) == len(users):
            return _error(81013, "user & party & tag all invalid")
        msgid = f"msg-{next(self._ids)}"
        code = ""
        if kind == "template_card":
            problem = self._check_card(body["template_card"])
            if problem:
                return _error(BAD_PARAMETER, problem)
            self.task_ids.add(body["template_card"]["task_id"])
            if body["template_card"].get("card_type") in INTERACTIVE:
                code = self._issue_code(msgid)
        sent = Sent(msgid, body, code)
        self.sent.append(sent)
        self._notify("sent", sent)
        extra = {"response_code": code} if code else {}
        return _ok(invaliduser="|".join(invalid), msgid=msgid, **extra)

    def _check_card(self, card: Mapping[str, Any]) -> str:
        task_id = card.get("task_id", "")
        if not task_id or len(task_id.encode()) > 128 or task_id in self.task_ids:
            return "task_id missing, too long or already used"
        buttons = card.get("button_list", [])
        if len(buttons) > 6 or any(len(b.get("key", "").encode()) > 1024 for b in buttons):
            return "button_list too long or key over 1024 bytes"
        return ""

    async def _update(self, request: web.Request) -> web.Response:
        body = await request.json()
        code = self.codes.get(str(body.get("response_code", "")))
        if code is None or code.used or self.clock() - code.issued > CODE_TTL:
            return _error(BAD_PARAMETER, "invalid response_code")
        if self._task_of(code.msgid) not in ("", body.get("template_card", {}).get("task_id")):
            return _error(BAD_PARAMETER, "response_code belongs to another card")
        code.used = True
        self.updates.append(body)
        self._notify("update", (code.msgid, body))
        return _ok(invaliduser=[])

    async def _appchat(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("msgtype") not in {"text", "markdown", "image", "file", "textcard", "news"}:
            return _error(BAD_PARAMETER, "msgtype not supported in appchat")
        sent = Sent(f"chat-{next(self._ids)}", body)
        self.sent.append(sent)
        self._notify("sent", sent)
        return _ok()

    async def _media(self, request: web.Request) -> web.Response:
        media_id = request.query.get("media_id", "")
        if media_id not in self.media:
            return _error(40007, "invalid media_id")
        data, kind = self.media[media_id]
        disposition = f'attachment; filename="{media_id}.jpg"'
        return web.Response(
            body=data, content_type=kind, headers={"Content-Disposition": disposition}
        )

    async def _user(self, request: web.Request) -> web.Response:
        user = self.users.get(request.query.get("userid", ""))
        return _error(60111, "userid not found") if user is None else _ok(**user)

    async def _department(self, request: web.Request) -> web.Response:
        department = self.departments.get(request.query.get("id", ""))
        if department is None:
            return _error(60123, "invalid party id")
        return _ok(department=department)

    def _task_of(self, msgid: str) -> str:
        sent = next((s for s in self.sent if s.msgid == msgid), None)
        return str(sent.body.get("template_card", {}).get("task_id", "")) if sent else ""

    def _issue_code(self, msgid: str) -> str:
        code = f"rc-{next(self._ids)}-{os.urandom(6).hex()}"
        self.codes[code] = ResponseCode(msgid, self.clock())
        return code


def _ok(**fields: Any) -> web.Response:
    return web.json_response({"errcode": 0, "errmsg": "ok", **fields})


def _error(errcode: int, errmsg: str, status: int = 200) -> web.Response:
    return web.json_response({"errcode": errcode, "errmsg": errmsg}, status=status)
