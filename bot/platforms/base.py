"""The seam between the server and each platform adapter.

An adapter translates and holds no business rules: raw HTTP (or WebSocket frames) in, neutral
``Event`` out; neutral replies in, platform API calls out. It never imports ``handlers`` or
``storage``. The HTTP edge (``bot.http``) wraps aiohttp requests into :class:`InboundRequest`
so adapters and their tests never need aiohttp's server classes.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.events import Event, FileRef
from bot.replies import InlineReply, Recipient


@dataclass(frozen=True, slots=True)
class InboundRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-cased names
    query: Mapping[str, str]
    body: bytes  # exactly as received: signatures and decryption need the raw bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass(frozen=True, slots=True)
class HttpReply:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"

    @classmethod
    def json(cls, data: Any, status: int = 200) -> HttpReply:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status=status, body=body, content_type="application/json")

    @classmethod
    def text(cls, text: str, status: int = 200) -> HttpReply:
        return cls(status=status, body=text.encode(), content_type="text/plain")


# The usual acknowledgement, built once: most callbacks are answered with it.
EMPTY_JSON = HttpReply.json({})


class InboundError(Exception):
    """Bad input at the edge: answered with ``status`` and a short public reason, nothing stored."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(slots=True)
class Decoded:
    """What an adapter made of one request: a handshake answer, or events to ingest."""

    events: list[Event] = field(default_factory=list)
    handshake: HttpReply | None = None
    context: Any = None  # whatever the adapter needs to build the acknowledgement


@dataclass(frozen=True, slots=True)
class Ingested:
    duplicate: bool
    inline: InlineReply | None = None


# The pipeline entry adapters hand events to (HTTP edge and long connections alike): it
# dedups, durably records, and for card actions may run the handler within ``budget`` seconds.
EventSink = Callable[[Event, float], Awaitable[Ingested]]


class PlatformAPIError(Exception):
    """A platform API answered with an error that retrying will not fix."""

    def __init__(self, platform: str, code: int | str, message: str, http_status: int = 200):
        super().__init__(f"{platform} API error {code}: {message}")
        self.platform = platform
        self.code = code
        self.message = message
        self.http_status = http_status


class TransientAPIError(PlatformAPIError):
    """Rate limited, 5xx, timeout: worth retrying later (``retry_after`` seconds when known)."""

    def __init__(
        self, platform: str, code: int | str, message: str, http_status: int = 0,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(platform, code, message, http_status)
        self.retry_after = retry_after


class AlreadyDelivered(PlatformAPIError):
    """The platform refused a send as a repeat of one it delivered under the same idempotency
    key: an earlier attempt got through, its answer was lost. ``handles`` are what is known."""

    def __init__(
        self, platform: str, code: int | str, message: str, handles: Mapping[str, str]
    ) -> None:
        super().__init__(platform, code, message)
        self.handles = dict(handles)


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    user_id: str
    name: str = ""
    manager_id: str = ""
    department_ids: tuple[str, ...] = ()
    email: str = ""
    employee_no: str = ""


@dataclass(frozen=True, slots=True)
class DirectoryDepartment:
    department_id: str
    name: str = ""
    leader_ids: tuple[str, ...] = ()
    parent_id: str = ""


class CardRenderer(Protocol):
    def __call__(self, platform: str, name: str, data: Mapping[str, Any], lang: str) -> Any:
        """Render ``cards/<platform>/<name>.json.j2`` and return the parsed JSON."""


class Messenger(Protocol):
    """``key``, where given, is the same for every attempt at one delivery (the outbox row):
    a platform that can tell repeats apart delivers at most one message per key."""

    async def send_text(self, to: Recipient, text: str, *, key: str = "") -> dict[str, str]:
        """Send and return the platform handles of the message (message_id…)."""

    async def send_card(
        self, to: Recipient, name: str, data: Mapping[str, Any], lang: str, *, key: str = ""
    ) -> dict[str, str]:
        """Send a card and return the handles needed to update this copy later."""

    async def update_card(
        self, ref: Mapping[str, str], name: str, data: Mapping[str, Any], lang: str
    ) -> dict[str, str]:
        """Update one delivered copy; returns its (possibly renewed) handles."""

    async def download(self, file: FileRef) -> tuple[bytes, str]:
        """The bytes of a file a user sent, and its content type."""


class Directory(Protocol):
    async def get_user(self, user_id: str) -> DirectoryUser: ...

    async def get_department(self, department_id: str) -> DirectoryDepartment: ...


class InboundAdapter(Protocol):
    def decode(self, request: InboundRequest) -> Decoded:
        """Handshake, verify, decrypt and parse; raises :class:`InboundError` on bad input."""

    def acknowledge(
        self, decoded: Decoded, results: Sequence[Ingested], budget_exceeded: bool
    ) -> HttpReply:
        """The HTTP answer once every event is durably recorded (inline card where there is one)."""


Worker = Callable[[], Awaitable[None]]


class PlatformAdapter(Protocol):
    # Read-only properties, so an adapter may declare its own (narrower) component types.
    @property
    def name(self) -> str: ...

    @property
    def routes(self) -> Sequence[tuple[str, str]]:
        """(method, path) this adapter answers."""

    @property
    def card_budget(self) -> float:
        """Seconds a card callback may spend before it must be answered."""

    @property
    def inbound(self) -> InboundAdapter: ...

    @property
    def messenger(self) -> Messenger: ...

    @property
    def directory(self) -> Directory: ...

    def workers(self) -> Mapping[str, Worker]:
        """Long-running loops the app supervises (Stream / long connection), by name."""
