"""WeCom in the emulator: message and card events as encrypted XML (SHA1 ``msg_signature``,
AES-256-CBC with the CorpID) to ``/wecom/callback``; the passive ``update_button`` reply and the
bot's ``message/send`` and ``update_template_card`` calls appear in the person's window."""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Mapping
from typing import Any

from bot.emulator.driver import Outcome, Target, api_call, show_image
from bot.emulator.org import DEPARTMENTS, PEOPLE, Credentials, Person, person
from bot.emulator.wecom import Call, FakeWecom, Sent
from bot.emulator.wecom_callbacks import WecomCallbacks
from bot.emulator.world import Entry, World

NAME = "wecom"
AGENT_ID = 1000002
DEPARTMENT_IDS = {"market": 2, "finance": 3}
_REPLACE = re.compile(r"<ReplaceName><!\[CDATA\[(.*?)\]\]></ReplaceName>", re.S)


class WecomDriver:
    name = NAME

    def __init__(self, world: World, creds: Credentials) -> None:
        self.world = world
        self.fake = FakeWecom(corp_id=creds.wecom_corp_id, secret=creds.wecom_secret)
        self.callbacks = WecomCallbacks(
            creds.wecom_token, creds.wecom_aes_key, creds.wecom_corp_id, AGENT_ID
        )
        self.fake.observers.append(self._observe)
        for key, (name, head) in DEPARTMENTS.items():
            self.fake.add_department(DEPARTMENT_IDS[key], name, leaders=[head])
        for who in PEOPLE:
            leaders = [who.manager] if who.manager else []
            self.fake.add_user(who.key, who.name, leaders=leaders,
                               departments=[DEPARTMENT_IDS[who.department]])

    async def start(self) -> str:
        return await self.fake.start()

    async def close(self) -> None:
        await self.fake.close()

    # -- what the bot does -------------------------------------------------------------------
    def _observe(self, kind: str, record: Any) -> None:
        if kind == "call" and isinstance(record, Call):
            api_call(self.world, NAME, record.method, record.path, record.query, record.body)
        elif kind == "sent" and isinstance(record, Sent):
            self._sent(record)
        elif kind == "update" and isinstance(record, tuple):
            msgid, body = record
            for user in body.get("userids", []):
                entry = self.world.find(NAME, msgid, user)
                card = body.get("template_card")
                if entry is not None and isinstance(card, dict):
                    self.world.update(entry, card)

    def _sent(self, sent: Sent) -> None:
        body = sent.body
        for user in str(body.get("touser", "")).split("|"):
            who = person(NAME, user)
            if who is None:
                continue
            kind = body.get("msgtype")
            if kind == "template_card":
                self.world.add(NAME, who.key, "bot", "card", body["template_card"], sent.msgid)
            elif kind in ("text", "markdown"):
                text = str(body[kind].get("content", ""))
                self.world.add(NAME, who.key, "bot", "text", text, sent.msgid)

    async def handshake(self, target: Target) -> bool:
        """What WeCom does when the callback URL is saved: a signed GET with an encrypted echo."""
        query, echo = self.callbacks.verification()
        self.world.note(NAME, "callback", "GET /wecom/callback (URL verification)",
                        {"query": query, "decrypted echostr": echo})
        async with target.http.get(target.server + "/wecom/callback", params=query) as response:
            status, text = response.status, await response.text()
        self.world.note(NAME, "reply", f"{status} /wecom/callback", {"body": text})
        return status == 200 and text == echo

    # -- what a person does ------------------------------------------------------------------
    async def say(self, target: Target, who: Person, text: str) -> Outcome:
        self.world.add(NAME, who.key, "me", "text", text)
        xml = self.callbacks.text(who.key, text)
        status, _ = await self._post(target, xml)
        return Outcome(status, callback=xml)

    async def image(
        self, target: Target, who: Person, data: bytes, content_type: str, name: str
    ) -> Outcome:
        show_image(self.world, NAME, who, data, content_type)
        media_id = f"MEDIA_{uuid.uuid4().hex}"
        self.fake.add_media(media_id, data, content_type)
        xml = self.callbacks.image(who.key, media_id)
        status, _ = await self._post(target, xml)
        return Outcome(status, callback=xml)

    async def click(
        self, target: Target, who: Person, card: Entry, value: Any, form: Mapping[str, Any] | None
    ) -> Outcome:
        """A button ``key``; ``form`` holds the dropdown's choice ({question_key: option id})."""
        body = card.body if isinstance(card.body, dict) else {}
        selected = {str(k): [str(v)] for k, v in (form or {}).items()}
        code = self.fake.click_code(card.ref)
        xml = self.callbacks.card_click(
            who.key, str(value), str(body.get("task_id", "")), code,
            card_type=str(body.get("card_type", "button_interaction")), selected=selected,
        )
        status, reply = await self._post(target, xml)
        label = _REPLACE.search(reply)
        if label:  # the passive reply greys the clicked card's buttons out under this label
            replaced = copy.deepcopy(body)
            replaced["button_list"] = []
            replaced.pop("button_selection", None)
            replaced["replace_text"] = label.group(1)
            self.world.update(card, replaced)
        return Outcome(status, callback=xml)

    async def _post(self, target: Target, xml: str) -> tuple[int, str]:
        query, body = self.callbacks.seal(xml)
        self.world.note(NAME, "callback", "POST /wecom/callback",
                        {"decrypted": xml, "query": query, "body": body})
        async with target.http.post(
            target.server + "/wecom/callback", params=query, data=body,
            headers={"Content-Type": "text/xml"},
        ) as response:
            status, raw = response.status, await response.read()
        plain = ""
        if b"<Encrypt>" in raw:
            plain = self.callbacks.open_reply(raw)
        shown = {"decrypted": plain, "body": raw} if plain else {"body": raw}
        self.world.note(NAME, "reply", f"{status} /wecom/callback", shown)
        return status, plain
