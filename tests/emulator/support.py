"""Driving the demo as the page does: actions to /emulator/api/act, cards read from the state."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

from bot.config_model import Config
from bot.emulator.web import Emulator
from bot.emulator.world import Entry

# A 1×1 PNG: a receipt photo as far as the bot is concerned.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@dataclass
class Demo:
    client: TestClient[Any, Any]
    emulator: Emulator
    config: Config

    async def act(self, expect: int = 200, **action: Any) -> dict[str, Any]:
        response = await self.client.post("/emulator/api/act", json=action)
        answer: dict[str, Any] = await response.json()
        assert response.status == expect, answer
        return answer

    async def say(self, platform: str, user: str, text: str) -> dict[str, Any]:
        answer = await self.act(platform=platform, user=user, type="text", text=text)
        assert answer["status"] == 200, answer
        return answer

    async def send_image(self, platform: str, user: str) -> dict[str, Any]:
        data = base64.b64encode(PNG).decode()
        return await self.act(platform=platform, user=user, type="image", data=data,
                              content_type="image/png", name="receipt.png")

    async def press(self, card: Entry, verb: str, reason: str = "") -> dict[str, Any]:
        value, form = button(card, verb, reason)
        answer = await self.act(platform=card.platform, user=card.user, type="click",
                                card=card.id, value=value, form=form)
        assert answer["status"] == 200, answer
        return answer

    def cards(self, platform: str, user: str) -> list[Entry]:
        return list(self.emulator.world.cards(platform, user))

    def texts(self, platform: str, user: str) -> list[str]:
        return [str(e.body) for e in self.emulator.world.entries.values()
                if (e.platform, e.user, e.kind, e.sender) == (platform, user, "text", "bot")]


async def eventually(check: Callable[[], Any], within: float = 10.0) -> Any:
    async with asyncio.timeout(within):
        while not (found := check()):  # noqa: ASYNC110 - polling what the emulator shows
            await asyncio.sleep(0.02)
    return found


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def button(card: Entry, verb: str, reason: str = "") -> tuple[Any, Any]:
    """The value a click on the ``verb`` button sends, and its form (as the page sends them)."""
    if card.platform == "feishu":
        for form in [n for n in walk(card.body) if n.get("tag") == "form"] + [card.body]:
            for node in walk(form):
                value = (node.get("behaviors") or [{}])[0].get("value", {})
                if node.get("tag") == "button" and str(value.get("a", "")).startswith(verb + ":"):
                    inputs = {n["name"]: reason for n in walk(form) if n.get("tag") == "input"}
                    return value, inputs if form is not card.body else None
    elif card.platform == "wecom":
        for item in card.body.get("button_list", []):
            if item["key"].startswith(verb + ":"):
                has_reason = "button_selection" in card.body
                return item["key"], {"reason": reason or "other"} if has_reason else None
    else:
        for item in json.loads(card.body["params"].get("buttons") or "[]"):
            if item["action"].startswith(verb + ":") and reason in ("", item["reason"]):
                return {"action": item["action"], "reason": item["reason"]}, None
    raise AssertionError(f"no {verb!r} button on {card.id}: {card.body}")


def has_button(card: Entry, verb: str) -> bool:
    try:
        button(card, verb)
    except AssertionError:
        return False
    return True


def shows(card: Entry, text: str) -> bool:
    return text in json.dumps(card.body, ensure_ascii=False)
