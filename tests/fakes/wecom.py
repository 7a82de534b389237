"""A fake WeCom server API, and a client that delivers callbacks exactly as WeCom does.

``FakeWecom`` is an aiohttp app on 127.0.0.1 (port 0) speaking ``/cgi-bin``'s wire format:
gettoken with expiry (40014/42001 afterwards), message/send (a unique ``task_id`` per template
card, a single-use ``response_code`` for interactive cards), message/update_template_card
(refusing a reused or expired code), appchat/send, media/get (bytes, or an errcode as JSON with
HTTP 200), user/get and department/get. It records every call and can inject errcodes (45009…).

``WecomCallbacks`` builds message and event XML and seals it like WeCom: SHA1 signature over the
sorted strings, AES-256-CBC with 32-byte PKCS#7 and the CorpID appended. It is written from the
protocol description, independent of the adapter's crypto, so each checks the other.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import struct
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from Crypto.Cipher import AES

INTERACTIVE = frozenset({"button_interaction", "vote_interaction", "multiple_interaction"})
CODE_TTL = 72 * 3600.0
# WeCom does not document the errcode for a spent response_code or a repeated task_id;
# the fake answers both with 40058 (invalid parameter), which the real API uses for bad input.
BAD_PARAMETER = 40058


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
        self._failures: list[Failure] = []
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- control ---------------------------------------------------------------------------
    async def start(self) -> str:
        self._runner = web.AppRunner(self.app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

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
        self.calls.append(Call(request.method, request.path, dict(request.query), body))
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
        self.sent.append(Sent(msgid, body, code))
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
        return _ok(invaliduser=[])

    async def _appchat(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("msgtype") not in {"text", "markdown", "image", "file", "textcard", "news"}:
            return _error(BAD_PARAMETER, "msgtype not supported in appchat")
        self.sent.append(Sent(f"chat-{next(self._ids)}", body))
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


# -- callbacks --------------------------------------------------------------------------------


def cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


@dataclass
class WecomCallbacks:
    """Builds and seals callbacks for one app (Token, EncodingAESKey, CorpID) like WeCom."""

    token: str
    encoding_aes_key: str
    corp_id: str
    agent_id: int = 1000002
    clock: Callable[[], float] = time.time
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(7000000000))

    # -- plaintext messages ------------------------------------------------------------------
    def text(self, user: str, content: str, *, msg_id: str = "", at: int | None = None) -> str:
        return self._message(user, "text", at, f"<Content>{cdata(content)}</Content>", msg_id)

    def image(self, user: str, media_id: str, *, msg_id: str = "", at: int | None = None) -> str:
        fields = f"<PicUrl>{cdata('https://example.invalid/p.jpg')}</PicUrl>"
        return self._message(
            user, "image", at, fields + f"<MediaId>{cdata(media_id)}</MediaId>", msg_id
        )

    def event(self, user: str, name: str, *, key: str = "", at: int | None = None) -> str:
        return self._envelope(
            user, "event", at, f"<Event>{cdata(name)}</Event><EventKey>{cdata(key)}</EventKey>"
        )

    def card_click(
        self,
        user: str,
        key: str,
        task_id: str,
        response_code: str,
        *,
        card_type: str = "button_interaction",
        selected: Mapping[str, Iterable[str]] | None = None,
        at: int | None = None,
    ) -> str:
        """A ``template_card_event``: the button ``key`` pressed, with dropdown selections."""
        items = "".join(
            f"<SelectedItem><QuestionKey>{cdata(question)}</QuestionKey><OptionIds>"
            + "".join(f"<OptionId>{cdata(o)}</OptionId>" for o in options)
            + "</OptionIds></SelectedItem>"
            for question, options in (selected or {}).items()
        )
        fields = (
            f"<Event>{cdata('template_card_event')}</Event><EventKey>{cdata(key)}</EventKey>"
            f"<TaskId>{cdata(task_id)}</TaskId><CardType>{cdata(card_type)}</CardType>"
            f"<ResponseCode>{cdata(response_code)}</ResponseCode>"
            + (f"<SelectedItems>{items}</SelectedItems>" if items else "")
        )
        return self._envelope(user, "event", at, fields)

    def _message(self, user: str, kind: str, at: int | None, fields: str, msg_id: str) -> str:
        msg_id = msg_id or str(next(self._ids))
        return self._envelope(user, kind, at, fields + f"<MsgId>{msg_id}</MsgId>")

    def _envelope(self, user: str, kind: str, at: int | None, fields: str) -> str:
        created = int(self.clock()) if at is None else at
        return (
            f"<xml><ToUserName>{cdata(self.corp_id)}</ToUserName>"
            f"<FromUserName>{cdata(user)}</FromUserName><CreateTime>{created}</CreateTime>"
            f"<MsgType>{cdata(kind)}</MsgType>{fields}<AgentID>{self.agent_id}</AgentID></xml>"
        )

    # -- sealing -----------------------------------------------------------------------------
    def seal(
        self, plaintext: str, *, nonce: str = "", timestamp: str = ""
    ) -> tuple[dict[str, str], bytes]:
        """The query string and POST body WeCom sends for ``plaintext``."""
        timestamp = timestamp or str(int(self.clock()))
        nonce = nonce or str(int.from_bytes(os.urandom(4), "big"))
        encrypted = self.encrypt(plaintext)
        query = {
            "msg_signature": self.sign(timestamp, nonce, encrypted),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        body = (
            f"<xml><ToUserName>{cdata(self.corp_id)}</ToUserName>\n"
            f"<Encrypt>{cdata(encrypted)}</Encrypt>\n"
            f"<AgentID>{cdata(str(self.agent_id))}</AgentID>\n</xml>"
        )
        return query, body.encode()

    def verification(self, echo: str = "") -> tuple[dict[str, str], str]:
        """The GET query of URL verification, and the plaintext the server must answer."""
        echo = echo or str(int.from_bytes(os.urandom(8), "big"))
        timestamp, nonce = str(int(self.clock())), str(int.from_bytes(os.urandom(4), "big"))
        encrypted = self.encrypt(echo)
        query = {
            "msg_signature": self.sign(timestamp, nonce, encrypted),
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": encrypted,
        }
        return query, echo

    def open_reply(self, body: bytes) -> str:
        """Check and decrypt a passive reply as WeCom would; raises ValueError if it is bad."""
        text = body.decode()
        fields = {
            name: _between(text, name) for name in ("Encrypt", "MsgSignature", "TimeStamp", "Nonce")
        }
        expected = self.sign(fields["TimeStamp"], fields["Nonce"], fields["Encrypt"])
        if expected != fields["MsgSignature"]:
            raise ValueError("reply signature mismatch")
        return self.decrypt(fields["Encrypt"])

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        joined = "".join(sorted([self.token, timestamp, nonce, encrypted]))
        return hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324 - WeCom's scheme

    def encrypt(self, plaintext: str) -> str:
        key = base64.b64decode(self.encoding_aes_key + "=")
        body = plaintext.encode()
        raw = os.urandom(16) + struct.pack(">I", len(body)) + body + self.corp_id.encode()
        pad = 32 - len(raw) % 32
        raw += bytes([pad]) * pad
        return base64.b64encode(AES.new(key, AES.MODE_CBC, key[:16]).encrypt(raw)).decode()

    def decrypt(self, encrypted: str) -> str:
        key = base64.b64decode(self.encoding_aes_key + "=")
        raw = AES.new(key, AES.MODE_CBC, key[:16]).decrypt(base64.b64decode(encrypted))
        raw = raw[: -raw[-1]]
        (length,) = struct.unpack(">I", raw[16:20])
        if raw[20 + length :].decode() != self.corp_id:
            raise ValueError("reply encrypted for another corp")
        return raw[20 : 20 + length].decode()

    async def post(
        self, http: aiohttp.ClientSession, url: str, plaintext: str
    ) -> tuple[int, bytes]:
        """Deliver ``plaintext`` to the callback ``url``: (HTTP status, response body)."""
        query, body = self.seal(plaintext)
        async with http.post(
            url, params=query, data=body, headers={"Content-Type": "text/xml"}
        ) as response:
            return response.status, await response.read()


def _between(text: str, tag: str) -> str:
    start, end = text.find(f"<{tag}>"), text.find(f"</{tag}>")
    if start < 0 or end < 0:
        raise ValueError(f"reply has no <{tag}>")
    value = text[start + len(tag) + 2 : end]
    if value.startswith("<![CDATA[") and value.endswith("]]>"):
        value = value[9:-3]
    return value
