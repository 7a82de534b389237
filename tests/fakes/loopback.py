"""A minimal platform adapter for server tests: plain JSON in, recorded sends out.

It exercises the server's own machinery (edge, pipeline, dispatcher, workers) without any
platform's crypto, which the adapters' own suites cover.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.events import Actor, CardActionEvent, ConversationRef, Event, FileRef, MessageEvent
from bot.platforms.base import (
    Decoded,
    DirectoryDepartment,
    DirectoryUser,
    HttpReply,
    InboundError,
    InboundRequest,
    Ingested,
    PlatformAPIError,
    TransientAPIError,
    Worker,
)
from bot.platforms.registry import PlatformFactory
from bot.replies import Recipient

NAME = "loop"


@dataclass
class LoopInbound:
    platform: str = NAME

    def decode(self, request: InboundRequest) -> Decoded:
        name = self.platform
        try:
            body = json.loads(request.body)
            actor = Actor(name, str(body["user"]))
            event: Event
            if "action" in body:
                event = CardActionEvent(name, f"a:{body['id']}", actor, str(body["action"]),
                                        dict(body.get("form", {})))
            else:
                files = tuple(FileRef("image", str(h)) for h in body.get("files", ()))
                event = MessageEvent(name, f"m:{body['id']}", actor,
                                     ConversationRef(name, str(body["user"])),
                                     str(body.get("text", "")), files)
        except (ValueError, KeyError, TypeError) as exc:
            raise InboundError(400, f"bad loopback body: {exc}") from exc
        return Decoded(events=[event])

    def acknowledge(
        self, decoded: Decoded, results: Sequence[Ingested], budget_exceeded: bool
    ) -> HttpReply:
        first = results[0]
        inline = first.inline
        return HttpReply.json({
            "duplicate": first.duplicate,
            "card": inline.card_name if inline else "",
            "toast": inline.toast.text if inline and inline.toast else "",
        })


def _short(to: Recipient) -> str:
    """``loop:u:<user>`` / ``loop:c:<chat>``, whatever platform name the loopback speaks as."""
    return f"loop:{'u' if to.user_id else 'c'}:{to.user_id or to.chat_id}"


@dataclass
class LoopMessenger:
    sent: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)  # raised, in order, before sending
    files: dict[str, bytes] = field(default_factory=dict)  # what download() returns, by handle
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    def _record(self, entry: dict[str, Any]) -> dict[str, str]:
        self.sent.append(entry)
        self.arrived.set()
        return {"message_id": f"msg-{len(self.sent)}"}

    async def send_text(self, to: Recipient, text: str, *, key: str = "") -> dict[str, str]:
        self._maybe_fail()
        return self._record({"kind": "text", "to": _short(to), "text": text})

    async def send_card(
        self, to: Recipient, name: str, data: Mapping[str, Any], lang: str, *, key: str = ""
    ) -> dict[str, str]:
        self._maybe_fail()
        return self._record({"kind": "card", "to": _short(to), "name": name, "data": dict(data),
                             "lang": lang})

    async def update_card(
        self, ref: Mapping[str, str], name: str, data: Mapping[str, Any], lang: str
    ) -> dict[str, str]:
        self._maybe_fail()
        self._record({"kind": "update", "ref": dict(ref), "name": name, "data": dict(data),
                      "lang": lang})
        return dict(ref)

    async def download(self, file: FileRef) -> tuple[bytes, str]:
        if file.handle in self.files:
            return self.files[file.handle], "application/octet-stream"
        if file.handle.startswith("bad"):
            return b"MZ not a receipt", "image/jpeg"  # claims to be an image; is not
        return b"\xff\xd8\xff\xe0 receipt " + file.handle.encode(), "image/jpeg"

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        async def enough() -> None:
            while len(self.sent) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), timeout)


@dataclass
class LoopDirectory:
    users: dict[str, DirectoryUser] = field(default_factory=dict)
    departments: dict[str, DirectoryDepartment] = field(default_factory=dict)

    async def get_user(self, user_id: str) -> DirectoryUser:
        if user_id not in self.users:
            raise PlatformAPIError(NAME, 404, f"no user {user_id}")
        return self.users[user_id]

    async def get_department(self, department_id: str) -> DirectoryDepartment:
        if department_id not in self.departments:
            raise PlatformAPIError(NAME, 404, f"no department {department_id}")
        return self.departments[department_id]


@dataclass
class LoopPlatform:
    """Speaks as platform ``name`` (use a real name, e.g. "feishu", to get its config)."""

    name: str = NAME
    messenger: LoopMessenger = field(default_factory=LoopMessenger)
    routes: Sequence[tuple[str, str]] = (("POST", "/loop/events"),)
    card_budget: float = 2.0
    directory: LoopDirectory = field(default_factory=LoopDirectory)
    inbound: LoopInbound = field(init=False)

    def __post_init__(self) -> None:
        self.inbound = LoopInbound(self.name)

    def workers(self) -> Mapping[str, Worker]:
        return {}


def loop_factory(platform: LoopPlatform) -> PlatformFactory:
    return PlatformFactory(platform.name, tuple(platform.routes),
                           lambda http, render, sink: platform)


__all__ = ["LoopPlatform", "PlatformAPIError", "TransientAPIError", "loop_factory"]
