"""What the emulator's page shows: every chat window's messages, the protocol log, and the
actions a person took (exportable for ``claimbot replay``), published live to the page."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

LOG_LIMIT = 400
QUEUE_LIMIT = 1000


@dataclass
class Entry:
    """One message in a chat window: the bot's text or card, or what the person sent."""

    id: str
    platform: str
    user: str  # the person's key (see bot.emulator.org)
    sender: str  # "bot" | "me"
    kind: str  # "text" | "card" | "image"
    body: Any  # text, the platform's own card JSON, or an image data URL
    ref: str = ""  # the platform's handle: message_id, msgid, outTrackId
    at: float = field(default_factory=time.time)
    version: int = 1

    def public(self) -> dict[str, Any]:
        return asdict(self)


class World:
    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.log: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self.recorded: list[dict[str, Any]] = []
        self._subscribers: set[asyncio.Queue[str]] = set()
        self._counts: dict[tuple[str, str, str], int] = {}
        self._log_ids = itertools.count(1)
        self.changed_at = time.monotonic()  # the last message, card change or log line

    # -- chat --------------------------------------------------------------------------------
    def add(
        self, platform: str, user: str, sender: str, kind: str, body: Any, ref: str = ""
    ) -> Entry:
        """A new message; cards get stable ids (``feishu-lisi-c2``: the second card to 李四)."""
        tag = "c" if kind == "card" else ("t" if sender == "bot" else "m")
        key = (platform, user, tag)
        self._counts[key] = self._counts.get(key, 0) + 1
        entry = Entry(f"{platform}-{user}-{tag}{self._counts[key]}", platform, user, sender,
                      kind, body, ref)
        self.entries[entry.id] = entry
        self._publish("entry", entry.public())
        return entry

    def update(self, entry: Entry, body: Any) -> None:
        entry.body = body
        entry.version += 1
        self._publish("entry", entry.public())

    def find(self, platform: str, ref: str, user: str = "") -> Entry | None:
        return next(
            (e for e in self.entries.values()
             if e.platform == platform and e.ref == ref and user in ("", e.user)),
            None,
        )

    def cards(self, platform: str, user: str) -> Iterator[Entry]:
        return (e for e in self.entries.values()
                if (e.platform, e.user, e.kind) == (platform, user, "card"))

    # -- protocol log ------------------------------------------------------------------------
    def note(self, platform: str, direction: str, title: str, detail: Mapping[str, Any]) -> None:
        """A line of the integrators' panel: ``direction`` is "callback", "reply" or "api"."""
        record = {"id": next(self._log_ids), "at": time.time(), "platform": platform,
                  "direction": direction, "title": title, "detail": _jsonable(detail)}
        self.log.append(record)
        self._publish("log", record)

    def record(self, action: Mapping[str, Any], callback: Any) -> None:
        line = {**action, "callback": _jsonable(callback)}
        self.recorded.append(line)

    def export(self) -> str:
        return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in self.recorded)

    def snapshot(self) -> dict[str, Any]:
        return {"entries": [e.public() for e in self.entries.values()], "log": list(self.log)}

    # -- live updates ------------------------------------------------------------------------
    def subscribe(self) -> asyncio.Queue[str]:
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_LIMIT)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str]) -> None:
        self._subscribers.discard(queue)

    def end_streams(self) -> None:
        """Every live page stream ends (an empty message), so the server can shut down."""
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait("")

    async def settle(self, quiet: float, within: float) -> bool:
        """Until nothing happened for ``quiet`` seconds (the bot is done reacting), at most
        ``within`` seconds; whether it went quiet."""
        deadline = time.monotonic() + within
        while (now := time.monotonic()) - self.changed_at < quiet:
            if now >= deadline:
                return False
            await asyncio.sleep(min(quiet, 0.05))
        return True

    def _publish(self, kind: str, data: Any) -> None:
        self.changed_at = time.monotonic()
        message = json.dumps({"type": kind, "data": data}, ensure_ascii=False)
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:  # a page that stopped reading: it reloads the state
                self._subscribers.discard(queue)


def _jsonable(value: Any) -> Any:
    """Bytes become text (or a size) so every record can go to the page as JSON."""
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return f"<{len(value)} bytes>"
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
