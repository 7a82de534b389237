"""Drive the real server through one platform's real callbacks; read what reached its fake API.

A driver owns a running app (``bot.app.create_app``, SQLite in ``tmp_path``) wired to the
platform's fake. ``say``, ``send_image`` and ``click`` deliver callbacks exactly as the platform
does (sealed by the fake's own client) and return once every queue has drained, so what the
user got can be read straight from the fake: ``cards_to``, ``texts_to``, ``last_to``. Cards
are read as their recipient sees them now, later updates applied, and classified by title.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.config_model import (
    ApprovalConfig,
    ApprovalStepConfig,
    Config,
    DingtalkConfig,
    FeishuConfig,
    StorageConfig,
    WecomConfig,
)
from cards.i18n import translate
from tests.fakes.dingtalk import (
    DingtalkSender,
    FakeDingtalk,
    card_callback_payload,
    robot_payload,
)
from tests.fakes.feishu import FakeFeishu, FeishuCallbacks
from tests.fakes.wecom import FakeWecom, Sent, WecomCallbacks
from tests.scenario.journey import CATEGORIES

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]

TEXT = "text"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF a receipt"
FILE_TYPES = {".pdf": "application/pdf", ".ofd": "application/ofd", ".xml": "text/xml"}
INVOICE = "26312000000012345678"  # a 20-digit 数电票 number
CLAIM_ID = re.compile(r"BX-\d{4}-\d{6}")
# user id, name, manager: 张三 and 钱七 both report to 李四.
PEOPLE = (("zhangsan", "张三", "lisi"), ("lisi", "李四", ""), ("qianqi", "钱七", "lisi"))
NAMES = {user: name for user, name, _ in PEOPLE}
# Catalogue card → the label its title starts with; a card with none of these is a prompt.
TITLES = {
    "claim_draft": "draft_title", "claim_status": "status_title",
    "approval_request": "approval_title", "approval_decided": "decided_title",
    "finance_notice": "finance_title", "claim_list": "list_title", "help": "help_title",
}


def filing_config(tmp_path: Path, **platform: Any) -> Config:
    """One platform (``feishu=…``), the journeys' categories, the manager approves."""
    return Config(
        storage=StorageConfig(url=f"sqlite:///{tmp_path / 'filing.db'}"),
        categories=CATEGORIES,
        approval=ApprovalConfig(steps=(ApprovalStepConfig("直属上级", "manager"),)),
        **platform,
    )


def file_type(name: str) -> str:
    """The content type a platform serves a sent file with (the bot goes by the bytes)."""
    return FILE_TYPES.get(Path(name).suffix, "application/octet-stream")


def card_name(title: str) -> str:
    labels = sorted(((translate(k), n) for n, k in TITLES.items()), key=lambda p: -len(p[0]))
    return next((name for label, name in labels if title.startswith(label)), "prompt")


def strings(node: Any) -> Iterator[str]:
    """Every string in a card, JSON-in-a-string (DingTalk's params) opened up."""
    if isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)
    elif isinstance(node, str):
        opened = _json_container(node)
        yield from strings(opened) if opened is not None else (node,)


def _json_container(text: str) -> Any:
    if not text.startswith(("[", "{")):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class Seen:
    """A message as its recipient sees it: a card (by catalogue name) or a text."""

    name: str
    text: str  # every string it shows, one per line
    actions: tuple[str, ...] = ()  # the payloads of its buttons
    handle: Any = None  # what a click on it needs (message id, sent record, track id)

    def action(self, prefix: str) -> str:
        found = [a for a in self.actions if a.startswith(prefix)]
        assert found, f"no {prefix!r} button on {self.name}: {self.actions}"
        return found[0]

    @property
    def claim_id(self) -> str:
        found = CLAIM_ID.search(self.text)
        assert found, f"no claim id on {self.name}: {self.text}"
        return found.group()

    @property
    def attachments(self) -> int:
        """The attachment count the card shows ("附件 1" / "附件" beside "1")."""
        found = re.search(r"附件\s(\d+)", self.text)
        return int(found.group(1)) if found else 0


@dataclass(frozen=True)
class Answer:
    """The platform's synchronous answer to a click: what the clicker is shown at once."""

    toast: str
    card: Seen | None = None


class Driver:
    """The app for one platform; subclasses speak that platform's wire format."""

    platform = ""

    def __init__(self, make_client: ClientMaker, config: Config) -> None:
        self._make_client = make_client
        self.config = config
        self.starts = 0
        self.client: TestClient[Any, Any]

    async def start(self) -> None:
        self.client = await self._make_client(create_app(self.config))
        self.starts += 1
        await self.connected()

    async def connected(self) -> None:
        """Until the platform can deliver (DingTalk Stream: the socket is open)."""

    def receipt_downloaded(self) -> bool:
        """Whether the bot fetched a receipt through the platform's download API."""
        raise NotImplementedError

    async def restart(self) -> None:
        """Stop the server and start a new one on the same database (and the same fake)."""
        await self.client.close()
        await self.start()

    async def stop(self) -> None:
        await self.client.close()

    async def settle(self) -> None:
        """Until the inbound and outbound queues are empty; nothing may have gone dead."""
        store = self.client.app[keys.STORAGE]
        async with asyncio.timeout(5):
            while True:
                depth = await store.queue_depth()
                assert all(dead == 0 for _, dead in depth.values()), f"dead letters: {depth}"
                if all(live == 0 for live, _ in depth.values()):
                    return
                await asyncio.sleep(0.01)

    # -- what the platform received, per recipient, oldest first ---------------------------
    def seen(self, user: str) -> list[Seen]:
        raise NotImplementedError

    def cards_to(self, user: str, name: str | None = None) -> list[Seen]:
        return [s for s in self.seen(user) if s.name != TEXT and name in (None, s.name)]

    def last_card(self, user: str, name: str) -> Seen:
        cards = self.cards_to(user, name)
        assert cards, f"no {name} card for {user}: {self.seen(user)}"
        return cards[-1]

    def texts_to(self, user: str) -> list[str]:
        return [s.text for s in self.seen(user) if s.name == TEXT]

    def last_to(self, user: str) -> Seen:
        seen = self.seen(user)
        assert seen, f"nothing sent to {user}"
        return seen[-1]

    # -- what users do -----------------------------------------------------------------------
    async def say(self, user: str, text: str) -> None:
        raise NotImplementedError

    async def send_image(self, user: str, data: bytes = JPEG) -> None:
        raise NotImplementedError

    async def send_file(self, user: str, data: bytes, name: str) -> None:
        """A file (an e-invoice PDF or OFD) as the platform delivers one sent in a chat."""
        raise NotImplementedError

    async def click(self, user: str, card: Seen, prefix: str, **form: str) -> Answer:
        raise NotImplementedError


# -- Feishu: the webhook with an encrypt key (every callback encrypted and signed) -------------
FEISHU_TOKEN, FEISHU_KEY = "filing-verification-token", "filing-encrypt-key"


class FeishuDriver(Driver):
    platform = "feishu"

    def receipt_downloaded(self) -> bool:
        return bool(self.fake.calls_to("/resources/img_v3_receipt"))

    def __init__(self, make_client: ClientMaker, tmp_path: Path, fake: FakeFeishu) -> None:
        feishu = FeishuConfig(fake.app_id, fake.app_secret, FEISHU_TOKEN, FEISHU_KEY,
                              base_url=fake.url)
        super().__init__(make_client, filing_config(tmp_path, feishu=feishu))
        self.fake = fake
        self.callbacks = FeishuCallbacks(FEISHU_TOKEN, FEISHU_KEY, app_id=fake.app_id)
        for user, name, manager in PEOPLE:
            fake.add_user(user, name, leader=manager, departments=["od-1"])
        fake.add_department("od-1", "市场部", leader="lisi")

    async def _post(self, path: str, payload: dict[str, Any]) -> Any:
        body, headers = self.callbacks.seal(payload)
        assert "X-Lark-Signature" in headers and b'"encrypt"' in body
        response = await self.client.post(path, data=body, headers=headers)
        assert response.status == 200, await response.text()
        answer = await response.json()
        await self.settle()
        return answer

    async def say(self, user: str, text: str) -> None:
        await self._post("/feishu/events", self.callbacks.message(user, {"text": text}))

    async def send_image(self, user: str, data: bytes = JPEG) -> None:
        message_id = f"om_{uuid.uuid4().hex}"
        self.fake.add_resource(message_id, "img_v3_receipt", data, "image/jpeg")
        await self._post("/feishu/events", self.callbacks.message(
            user, {"image_key": "img_v3_receipt"}, msg_type="image", message_id=message_id))

    async def send_file(self, user: str, data: bytes, name: str) -> None:
        message_id, file_key = f"om_{uuid.uuid4().hex}", f"file_v3_{uuid.uuid4().hex}"
        self.fake.add_resource(message_id, file_key, data, file_type(name), name)
        await self._post("/feishu/events", self.callbacks.message(
            user, {"file_key": file_key, "file_name": name}, msg_type="file",
            message_id=message_id))

    async def click(self, user: str, card: Seen, prefix: str, **form: str) -> Answer:
        payload = self.callbacks.card_action(
            user, {"a": card.action(prefix)}, form_value=form or None, message_id=card.handle)
        answer = await self._post("/feishu/cards", payload)
        shown = answer.get("card", {}).get("data")
        return Answer(answer.get("toast", {}).get("content", ""),
                      feishu_card(shown, card.handle) if shown else None)

    def seen(self, user: str) -> list[Seen]:
        return [
            Seen(TEXT, json.loads(m.content)["text"]) if m.msg_type == "text"
            else feishu_card(m.card, m.message_id)
            for m in self.fake.messages.values() if m.receive_id == user
        ]


def feishu_card(card: dict[str, Any], message_id: str) -> Seen:
    header = card.get("header")
    name = card_name(header["title"]["content"]) if header else "prompt"
    actions = tuple(str(b["behaviors"][0]["value"]["a"]) for b in _nodes(card)
                    if b.get("tag") == "button")
    return Seen(name, "\n".join(strings(card)), actions, message_id)


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        node = list(node.values())
    if isinstance(node, list):
        for value in node:
            yield from _nodes(value)


# -- WeCom: encrypted XML callbacks, passive replies to card clicks ----------------------------
WECOM_CORP, WECOM_AGENT = "ww_filing_corp", 1000002
WECOM_TOKEN, WECOM_AES_KEY = "filingCallbackToken", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"


class WecomDriver(Driver):
    platform = "wecom"

    def receipt_downloaded(self) -> bool:
        return bool(self.fake.calls_to("media/get"))

    def __init__(self, make_client: ClientMaker, tmp_path: Path, fake: FakeWecom) -> None:
        wecom = WecomConfig(WECOM_CORP, WECOM_AGENT, fake.secret, WECOM_TOKEN, WECOM_AES_KEY,
                            base_url=fake.url)
        super().__init__(make_client, filing_config(tmp_path, wecom=wecom))
        self.fake = fake
        # One client for the whole test: its MsgIds keep counting across a restart.
        self.callbacks = WecomCallbacks(WECOM_TOKEN, WECOM_AES_KEY, WECOM_CORP, WECOM_AGENT)
        for user, name, manager in PEOPLE:
            fake.add_user(user, name, leaders=[manager] if manager else [], departments=[2])
        fake.add_department(2, "市场部", leaders=["lisi"])

    async def _post(self, plaintext: str) -> str:
        query, body = self.callbacks.seal(plaintext)
        response = await self.client.post("/wecom/callback", params=query, data=body)
        assert response.status == 200, await response.text()
        raw = await response.read()
        await self.settle()
        return self.callbacks.open_reply(raw) if raw else ""

    async def say(self, user: str, text: str) -> None:
        await self._post(self.callbacks.text(user, text))

    async def send_image(self, user: str, data: bytes = JPEG) -> None:
        media_id = f"MEDIA_{uuid.uuid4().hex}"
        self.fake.add_media(media_id, data, "image/jpeg")
        await self._post(self.callbacks.image(user, media_id))

    async def send_file(self, user: str, data: bytes, name: str) -> None:
        """A self-built app's callback never carries a file (no ``file`` MsgType): whatever
        reaches the bot arrives as an image message whose media is the file's bytes."""
        media_id = f"MEDIA_{uuid.uuid4().hex}"
        self.fake.add_media(media_id, data, file_type(name))
        await self._post(self.callbacks.image(user, media_id))

    async def click(self, user: str, card: Seen, prefix: str, **form: str) -> Answer:
        """A ``template_card_event`` with a fresh ResponseCode, as WeCom sends for each click."""
        sent: Sent = card.handle
        task = sent.body["template_card"]["task_id"]
        selected = {key: [value] for key, value in form.items()}
        xml = self.callbacks.card_click(user, card.action(prefix), task,
                                        self.fake.click_code(sent.msgid), selected=selected)
        reply = await self._post(xml)
        label = re.search(r"<ReplaceName><!\[CDATA\[(.*?)\]\]>", reply) if reply else None
        return Answer(label.group(1) if label else "")

    def seen(self, user: str) -> list[Seen]:
        return [self._view(s) for s in self.fake.sent if s.body.get("touser") == user]

    def _view(self, sent: Sent) -> Seen:
        if sent.body["msgtype"] == "text":
            return Seen(TEXT, sent.body["text"]["content"])
        card = self._current(sent)
        actions = tuple(b["key"] for b in card.get("button_list", []))
        return Seen(card_name(card["main_title"]["title"]), "\n".join(strings(card)), actions,
                    sent)

    def _current(self, sent: Sent) -> dict[str, Any]:
        """The card as last updated through a response code issued for this message."""
        updates = [u["template_card"] for u in self.fake.updates
                   if self.fake.codes[u["response_code"]].msgid == sent.msgid]
        card: dict[str, Any] = updates[-1] if updates else sent.body["template_card"]
        return card


# -- DingTalk: Stream frames, or signed HTTP robot callbacks and the card callback route -------
DINGTALK_CARD_TOKEN = "filing-card-callback-token-0123456789"
CREATE_CARD = "/v1.0/card/instances/createAndDeliver"
BATCH_SEND = "/v1.0/robot/oToMessages/batchSend"


class DingtalkDriver(Driver):
    platform = "dingtalk"

    def receipt_downloaded(self) -> bool:
        return bool(self.fake.calls_to("/v1.0/robot/messageFiles/download"))

    def __init__(
        self, make_client: ClientMaker, tmp_path: Path, fake: FakeDingtalk, mode: str
    ) -> None:
        dingtalk = DingtalkConfig(
            fake.client_id, fake.client_secret, mode,  # type: ignore[arg-type]
            card_template_id="tpl-filing.schema",
            card_callback_token=DINGTALK_CARD_TOKEN if mode == "http" else "",
            base_url=fake.url, oapi_base_url=fake.url)
        super().__init__(make_client, filing_config(tmp_path, dingtalk=dingtalk))
        self.fake, self.mode = fake, mode
        self.sender = DingtalkSender(fake.client_id, fake.client_secret)
        for user, name, manager in PEOPLE:
            fake.users[user] = {"userid": user, "name": name, "manager_userid": manager,
                                "dept_id_list": [2]}
        fake.departments[2] = {"name": "市场部", "dept_manager_userid_list": ["lisi"]}

    async def connected(self) -> None:
        if self.mode == "stream":
            await self.fake.wait_connected(self.starts)

    async def _robot(self, payload: dict[str, Any]) -> None:
        if self.mode == "stream":
            ack = await self.fake.wait_ack(await self.fake.push_robot_message(payload))
            assert ack["code"] == 200, ack
        else:
            response = await self.client.post("/dingtalk/robot", data=json.dumps(payload),
                                              headers=self.sender.robot_headers())
            assert response.status == 200, await response.text()
        await self.settle()

    async def say(self, user: str, text: str) -> None:
        await self._robot(robot_payload(text, sender=user, nick=NAMES[user]))

    async def send_image(self, user: str, data: bytes = JPEG) -> None:
        code = f"dc-{uuid.uuid4().hex}"
        self.fake.files[code] = data
        await self._robot(robot_payload(sender=user, nick=NAMES[user], msgtype="picture",
                                        content={"downloadCode": code}))

    async def send_file(self, user: str, data: bytes, name: str) -> None:
        code = f"dc-{uuid.uuid4().hex}"
        self.fake.files[code] = data
        await self._robot(robot_payload(sender=user, nick=NAMES[user], msgtype="file",
                                        content={"downloadCode": code, "fileName": name}))

    async def click(self, user: str, card: Seen, prefix: str, **form: str) -> Answer:
        """A button as DingTalk reports it: its ``action`` and ``reason`` params, plus ``form``."""
        action = card.action(prefix)
        button = next(b for b in _buttons(self.fake.cards[card.handle]) if b["action"] == action)
        payload = card_callback_payload(card.handle, user, {
            "action": action, "reason": button.get("reason", ""), **form})
        if self.mode == "stream":
            ack = await self.fake.wait_ack(await self.fake.push_card_callback(payload))
            assert ack["code"] == 200, ack
            response = json.loads(ack["data"])["response"]
        else:
            answered = await self.client.post(f"/dingtalk/cards/{DINGTALK_CARD_TOKEN}",
                                              json=payload)
            assert answered.status == 200, await answered.text()
            response = await answered.json()
        await self.settle()
        params = response.get("cardData", {}).get("cardParamMap")
        notice = response.get("userPrivateData", {}).get("cardParamMap", {}).get("notice", "")
        return Answer(notice, dingtalk_card(params, card.handle) if params else None)

    def seen(self, user: str) -> list[Seen]:
        found: dict[str, Seen] = {}  # by track id (a retried create is one card) or call
        for n, call in enumerate(self.fake.calls):
            if call.path == CREATE_CARD and call.body["openSpaceId"].endswith("." + user):
                track = call.body["outTrackId"]
                card = self.fake.cards[track]["cardData"]["cardParamMap"]
                found.setdefault(track, dingtalk_card(card, track))
            elif call.path == BATCH_SEND and call.body["userIds"] == [user]:
                found[str(n)] = Seen(TEXT, json.loads(call.body["msgParam"])["content"])
        return list(found.values())


def _buttons(card: dict[str, Any]) -> list[dict[str, str]]:
    buttons: list[dict[str, str]] = json.loads(card["cardData"]["cardParamMap"]["buttons"])
    return buttons


def dingtalk_card(params: dict[str, str], track: str) -> Seen:
    actions = tuple(b["action"] for b in json.loads(params.get("buttons", "[]")))
    return Seen(card_name(params["title"]), "\n".join(strings(params)), actions, track)
