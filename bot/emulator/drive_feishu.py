"""Feishu in the emulator: events and card callbacks sealed like Feishu (AES-256-CBC and the
``X-Lark-Signature`` headers) to ``/feishu/events`` and ``/feishu/cards``; messages and card
updates the bot makes through the open API appear in the person's window."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from bot.emulator.driver import Outcome, Target, api_call, show_image
from bot.emulator.feishu import Call, FakeFeishu, Message
from bot.emulator.feishu_callbacks import FeishuCallbacks
from bot.emulator.org import DEPARTMENTS, PEOPLE, Credentials, Person, person
from bot.emulator.world import Entry, World

NAME = "feishu"


class FeishuDriver:
    name = NAME

    def __init__(self, world: World, creds: Credentials) -> None:
        self.world = world
        self.fake = FakeFeishu(app_id=creds.feishu_app_id, app_secret=creds.feishu_secret)
        self.callbacks = FeishuCallbacks(
            creds.feishu_token, creds.feishu_encrypt_key,
            app_id=creds.feishu_app_id, tenant_key="tenant-demo",
        )
        self.fake.observers.append(self._observe)
        for who in PEOPLE:
            leader = f"ou_{who.manager}" if who.manager else ""
            self.fake.add_user(who.user_id(NAME), who.name, leader=leader,
                               departments=[f"od-{who.department}"])
        for key, (name, head) in DEPARTMENTS.items():
            self.fake.add_department(f"od-{key}", name, leader=f"ou_{head}")

    async def start(self) -> str:
        return await self.fake.start()

    async def close(self) -> None:
        await self.fake.close()

    # -- what the bot does -------------------------------------------------------------------
    def _observe(self, kind: str, record: Any) -> None:
        if kind == "call" and isinstance(record, Call):
            api_call(self.world, NAME, record.method, record.path, record.query, record.body)
        elif kind == "message" and isinstance(record, Message):
            self._message(record)
        elif kind == "update" and isinstance(record, Message):
            entry = self.world.find(NAME, record.message_id)
            if entry is not None:
                self.world.update(entry, record.card)

    def _message(self, message: Message) -> None:
        who = person(NAME, message.receive_id) if message.receive_id_type == "open_id" else None
        if who is None:
            return
        content = json.loads(message.content)
        if message.msg_type == "interactive":
            self.world.add(NAME, who.key, "bot", "card", content, message.message_id)
        else:
            text = content.get("text") if isinstance(content, dict) else None
            self.world.add(NAME, who.key, "bot", "text", text or message.content,
                           message.message_id)

    async def handshake(self, target: Target) -> bool:
        """What Feishu does when a request URL is saved in the console: the challenge, sealed."""
        payload = self.callbacks.url_verification(f"challenge-{uuid.uuid4().hex[:12]}")
        status, answer = await self._post(target, "/feishu/events", payload)
        return status == 200 and isinstance(answer, dict) and (
            answer.get("challenge") == payload["challenge"])

    # -- what a person does ------------------------------------------------------------------
    async def say(self, target: Target, who: Person, text: str) -> Outcome:
        self.world.add(NAME, who.key, "me", "text", text)
        payload = self.callbacks.message(
            who.user_id(NAME), {"text": text}, chat_id=_chat(who), message_id=_message_id()
        )
        status, _ = await self._post(target, "/feishu/events", payload)
        return Outcome(status, callback=payload)

    async def image(
        self, target: Target, who: Person, data: bytes, content_type: str, name: str
    ) -> Outcome:
        show_image(self.world, NAME, who, data, content_type)
        message_id, key = _message_id(), f"img_v3_{uuid.uuid4().hex[:24]}"
        self.fake.add_resource(message_id, key, data, content_type, name)
        payload = self.callbacks.message(
            who.user_id(NAME), {"image_key": key}, msg_type="image",
            chat_id=_chat(who), message_id=message_id,
        )
        status, _ = await self._post(target, "/feishu/events", payload)
        return Outcome(status, callback=payload)

    async def click(
        self, target: Target, who: Person, card: Entry, value: Any, form: Mapping[str, Any] | None
    ) -> Outcome:
        """A button's ``behaviors`` callback value, with its form's values when it submits one."""
        token = self.fake.issue_card_token(card.ref)
        payload = self.callbacks.card_action(
            who.user_id(NAME), value if isinstance(value, dict) else {"value": value},
            form_value=dict(form) if form is not None else None,
            message_id=card.ref, chat_id=_chat(who), token=token,
        )
        status, answer = await self._post(target, "/feishu/cards", payload)
        answer = answer if isinstance(answer, dict) else {}
        new = answer.get("card")
        if isinstance(new, dict) and new.get("type") == "raw" and isinstance(new.get("data"), dict):
            message = self.fake.messages.get(card.ref)
            if message is not None:  # Feishu replaces the card with the callback's answer
                message.updates.append(json.dumps(new["data"], ensure_ascii=False))
            self.world.update(card, new["data"])
        toast = answer.get("toast")
        toast = toast if isinstance(toast, dict) else {}
        return Outcome(status, str(toast.get("content", "")), str(toast.get("type", "info")),
                       payload)

    async def _post(self, target: Target, route: str, payload: dict[str, Any]) -> tuple[int, Any]:
        body, headers = self.callbacks.seal(payload)
        self.world.note(NAME, "callback", f"POST {route}",
                        {"decrypted": payload, "headers": headers, "body": body})
        async with target.http.post(target.server + route, data=body, headers=headers) as reply:
            status, text = reply.status, await reply.text()
        try:
            answer: Any = json.loads(text) if text else None
        except ValueError:
            answer = text
        self.world.note(NAME, "reply", f"{status} {route}", {"body": answer})
        return status, answer


def _chat(who: Person) -> str:
    return f"oc_p2p_{who.user_id(NAME)}"


def _message_id() -> str:
    return f"om_{uuid.uuid4().hex}"
