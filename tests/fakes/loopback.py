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


class LoopInbound:
    def decode(self, request: InboundRequest) -> Decoded:
        try:
            body = json.loads(request.body)
            actor = Actor(NAME, str(body["user"]))
            event: Event
            if "action" in body:
                event = CardActionEvent(NAME, f"a:{body['id']}", actor, str(body["action"]),
                                        dict(body.get("form", {})))
            else:
                event = MessageEvent(NAME, f"m:{body['id']}", actor,
                                     ConversationRef(NAME, str(body["user"])), str(body["text"]))
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


@dataclass
class LoopMessenger:
    sent: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)  # raised, in order, before sending
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    def _record(self, entry: dict[str, Any]) -> dict[str, str]:
        self.sent.append(entry)
        self.arrived.set()
        return {"message_id": f"msg-{len(self.sent)}"}

    async def send_text(self, to: Recipient, text: str) -> dict[str, str]:
        self._maybe_fail()
        return self._record({"kind": "text", "to": to.key, "text": text})

    async def send_card(
        self, to: Recipient, name: str, data: Mapping[str, Any], lang: str
    ) -> dict[str, str]:
        self._maybe_fail()
        return self._record({"kind": "card", "to": to.key, "name": name, "data": dict(data)})

    async def update_card(
        self, ref: Mapping[str, str], name: str, data: Mapping[str, Any], lang: str
    ) -> dict[str, str]:
        self._maybe_fail()
        self._record({"kind": "update", "ref": dict(ref), "name": name, "data": dict(data)})
        return dict(ref)

    async def download(self, file: FileRef) -> tuple[bytes, str]:
        return b"", "application/octet-stream"

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        async def enough() -> None:
            while len(self.sent) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), timeout)


class LoopDirectory:
    async def get_user(self, user_id: str) -> DirectoryUser:
        return DirectoryUser(user_id, name=user_id)

    async def get_department(self, department_id: str) -> DirectoryDepartment:
        return DirectoryDepartment(department_id)


@dataclass
class LoopPlatform:
    messenger: LoopMessenger = field(default_factory=LoopMessenger)
    name: str = NAME
    routes: Sequence[tuple[str, str]] = (("POST", "/loop/events"),)
    card_budget: float = 2.0
    inbound: LoopInbound = field(default_factory=LoopInbound)
    directory: LoopDirectory = field(default_factory=LoopDirectory)

    def workers(self) -> Mapping[str, Worker]:
        return {}


def loop_factory(platform: LoopPlatform) -> PlatformFactory:
    return PlatformFactory(NAME, tuple(platform.routes), lambda http, render, sink: platform)


__all__ = ["LoopPlatform", "PlatformAPIError", "TransientAPIError", "loop_factory"]
