"""DingTalk in the emulator, in Stream mode: robot messages and card clicks pushed as frames on
the bot's own Stream WebSocket; each frame's ACK (a click's carries the new card data), the
bot's interactive cards (``createAndDeliver``, updates by key) and robot messages appear live."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from bot.emulator.dingtalk import Call, FakeDingtalk
from bot.emulator.dingtalk_callbacks import (
    CARD_TOPIC,
    ROBOT_TOPIC,
    card_callback_payload,
    robot_payload,
)
from bot.emulator.driver import Outcome, Target, api_call, show_image
from bot.emulator.org import DEPARTMENTS, PEOPLE, Credentials, Person, person
from bot.emulator.world import Entry, World

NAME = "dingtalk"
CORP_ID = "dingcorpdemo"
DEPARTMENT_IDS = {"market": 2, "finance": 3}
ACK_WITHIN = 10.0


class DingtalkDriver:
    name = NAME

    def __init__(self, world: World, creds: Credentials) -> None:
        self.world = world
        self.client_id = creds.dingtalk_client_id
        self.fake = FakeDingtalk(client_id=creds.dingtalk_client_id,
                                 client_secret=creds.dingtalk_secret)
        self.fake.observers.append(self._observe)
        for key, (name, head) in DEPARTMENTS.items():
            self.fake.departments[DEPARTMENT_IDS[key]] = {
                "dept_id": DEPARTMENT_IDS[key], "name": name, "dept_manager_userid_list": [head],
            }
        for who in PEOPLE:
            user: dict[str, Any] = {"userid": who.key, "name": who.name,
                                    "dept_id_list": [DEPARTMENT_IDS[who.department]]}
            if who.manager:
                user["manager_userid"] = who.manager
            self.fake.users[who.key] = user

    async def start(self) -> str:
        return await self.fake.start()

    async def close(self) -> None:
        await self.fake.close()

    async def connected(self, within: float) -> None:
        await self.fake.wait_connected(within=within)

    # -- what the bot does -------------------------------------------------------------------
    def _observe(self, kind: str, record: Any) -> None:
        if kind == "call" and isinstance(record, Call):
            api_call(self.world, NAME, record.method, record.path, record.query, record.body)
        elif kind == "card" and isinstance(record, dict):
            who = person(NAME, str(record.get("openSpaceId", "")).rsplit(".", 1)[-1])
            if who is not None:
                body = {"params": dict(record["cardData"]["cardParamMap"]), "private": {}}
                self.world.add(NAME, who.key, "bot", "card", body, str(record["outTrackId"]))
        elif kind == "card_update" and isinstance(record, dict):
            entry = self.world.find(NAME, str(record.get("outTrackId", "")))
            if entry is not None:
                params = dict(record["cardData"]["cardParamMap"])
                self.world.update(entry, {**entry.body, "params": params})
        elif kind == "text" and isinstance(record, dict):
            self._text(record)
        elif kind == "ack" and isinstance(record, dict):
            self.world.note(NAME, "reply", f"ACK {record.get('code')}", _readable(record))

    def _text(self, body: Mapping[str, Any]) -> None:
        try:
            param = json.loads(str(body.get("msgParam", "")))
        except ValueError:
            param = {}
        text = str(param.get("content") or param.get("text") or "")
        for user in body.get("userIds", []):
            who = person(NAME, str(user))
            if who is not None:
                self.world.add(NAME, who.key, "bot", "text", text)

    async def handshake(self, target: Target) -> bool:
        """Stream mode has no callback URL to verify: the bot dialled in with its secret."""
        return bool(self.fake.gateway.sockets)

    # -- what a person does ------------------------------------------------------------------
    async def say(self, target: Target, who: Person, text: str) -> Outcome:
        self.world.add(NAME, who.key, "me", "text", text)
        return await self._robot(robot_payload(text, sender=who.key, nick=who.name,
                                               corp_id=CORP_ID))

    async def image(
        self, target: Target, who: Person, data: bytes, content_type: str, name: str
    ) -> Outcome:
        show_image(self.world, NAME, who, data, content_type)
        code = f"dc-{uuid.uuid4().hex}"
        self.fake.files[code] = data
        content = {"downloadCode": code, "pictureDownloadCode": code}
        return await self._robot(robot_payload(sender=who.key, nick=who.name, msgtype="picture",
                                               content=content, corp_id=CORP_ID))

    async def click(
        self, target: Target, who: Person, card: Entry, value: Any, form: Mapping[str, Any] | None
    ) -> Outcome:
        """A template button's callback parameters: ``{"action": …, "reason": …}``."""
        values = value if isinstance(value, dict) else {"action": str(value)}
        params = {"action": str(values.get("action", "")), "reason": str(values.get("reason", ""))}
        payload = card_callback_payload(card.ref, who.key, params, corp_id=CORP_ID)
        ack = await self._push(CARD_TOPIC, payload)
        data = json.loads(ack.get("data") or "{}")
        response = data.get("response") if isinstance(data, dict) else None
        if isinstance(response, dict):
            self._apply(card, who, response)
        return Outcome(int(ack.get("code", 0)), callback=payload)

    def _apply(self, card: Entry, who: Person, response: Mapping[str, Any]) -> None:
        """The ACK's card data: public variables for everyone, private ones for the clicker."""
        public = response.get("cardData", {}).get("cardParamMap", {})
        private = response.get("userPrivateData", {}).get("cardParamMap", {})
        body = dict(card.body)
        body["params"] = {**body.get("params", {}), **public}
        body["private"] = {**body.get("private", {}), who.key: dict(private)}
        stored = self.fake.cards.get(card.ref)
        if stored is not None:
            stored["cardData"]["cardParamMap"].update(public)
        self.world.update(card, body)

    async def _robot(self, payload: dict[str, Any]) -> Outcome:
        payload["robotCode"] = self.client_id
        ack = await self._push(ROBOT_TOPIC, payload)
        return Outcome(int(ack.get("code", 0)), callback=payload)

    async def _push(self, topic: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.world.note(NAME, "callback", f"Stream CALLBACK {topic}", {"data": payload})
        text = json.dumps(payload, ensure_ascii=False)
        message_id = await self.fake.push_frame("CALLBACK", topic, text)
        async with asyncio.timeout(ACK_WITHIN):
            return await self.fake.wait_ack(message_id, within=ACK_WITHIN)


def _readable(ack: Mapping[str, Any]) -> dict[str, Any]:
    shown = dict(ack)
    with contextlib.suppress(ValueError):
        shown["data"] = json.loads(str(ack.get("data") or "null"))
    return shown
