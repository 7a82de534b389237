"""What every platform's driver does: seed its fake open platform, turn the page's actions into
that platform's real callbacks, and turn the fake's recorded API calls into chat messages."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from bot.emulator.org import Person
from bot.emulator.world import Entry, World


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the page learns from one action: the callback's HTTP status (or the Stream ACK's
    code) and the toast the platform would show, if any."""

    status: int
    toast: str = ""
    toast_kind: str = "info"
    callback: Any = None  # the decrypted callback, as recorded for export

    def public(self) -> dict[str, Any]:
        return {"status": self.status, "toast": self.toast, "toast_kind": self.toast_kind}


@dataclass(frozen=True, slots=True)
class Target:
    """Where callbacks go: the server's own address, and the client session to send with."""

    http: aiohttp.ClientSession
    server: str  # e.g. http://127.0.0.1:8080


class Driver(Protocol):
    name: str

    async def start(self) -> str:
        """Start the fake open platform; its base URL."""

    async def close(self) -> None: ...

    async def handshake(self, target: Target) -> bool:
        """The platform's check of the callback URL, as when it is saved in the console."""

    async def say(self, target: Target, who: Person, text: str) -> Outcome: ...

    async def image(
        self, target: Target, who: Person, data: bytes, content_type: str, name: str
    ) -> Outcome: ...

    async def click(
        self, target: Target, who: Person, card: Entry, value: Any, form: Mapping[str, Any] | None
    ) -> Outcome: ...


def data_url(data: bytes, content_type: str) -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"


def show_image(world: World, platform: str, who: Person, data: bytes, content_type: str) -> None:
    world.add(platform, who.key, "me", "image", data_url(data, content_type))


def api_call(world: World, platform: str, method: str, path: str, query: Any, body: Any) -> None:
    """An open-API call the bot made, for the integrators' panel (the token stays out)."""
    shown = {k: v for k, v in dict(query or {}).items() if k != "access_token"}
    world.note(platform, "api", f"{method} {path}", {"query": shown, "body": body})
