"""Routing neutral events to handlers, and the context every handler gets.

A handler is ``async def handler(ctx: HandlerContext) -> None``: it reads through ``ctx.storage``,
and records what it wants done on the context — claim changes and audit entries in ``ctx.commit``,
messages and cards with ``ctx.send()``, the inline answer to a card click in ``ctx.inline``. The
dispatcher then writes all of it in one storage transaction, so a handler's effects happen
entirely or not at all, and exactly once per inbound event.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.config_model import Config
from bot.events import CardActionEvent, Event, FileRef, MessageEvent
from bot.outbound_codec import encode_outbound
from bot.replies import InlineReply, Outbound
from storage.base import InvoiceInUse, Storage, VersionConflict
from storage.models import Commit, NewMessage

if TYPE_CHECKING:
    from bot.directory import OrgService

log = logging.getLogger("claimbot.dispatch")

MAX_CONFLICT_RETRIES = 3

# Fetches the bytes and content type of a file a user sent, through that platform's API.
Download = Callable[[FileRef], Awaitable[tuple[bytes, str]]]


@dataclass(slots=True)
class HandlerContext:
    event: Event
    storage: Storage
    config: Config
    orgs: Mapping[str, OrgService]
    now: datetime
    downloads: Mapping[str, Download] = field(default_factory=dict)
    commit: Commit = field(default_factory=Commit)
    inline: InlineReply | None = None
    lang: str = "zh-CN"

    def send(self, *replies: Outbound) -> None:
        """Queue messages and card changes for the outbox, in order, with this change."""
        for reply in replies:
            key, payload = encode_outbound(reply)
            self.commit.messages.append(NewMessage(topic="platform", key=key, payload=payload))

    def org(self) -> OrgService | None:
        """The organisation directory of the event's platform."""
        return self.orgs.get(self.event.platform)


Handler = Callable[[HandlerContext], Awaitable[None]]
MessageFilter = Callable[[MessageEvent], bool]


@dataclass(frozen=True, slots=True)
class _MessageRoute:
    accepts: MessageFilter
    handler: Handler


class Router:
    """Handlers by event kind: messages by a filter, card actions by their payload's prefix."""

    def __init__(self) -> None:
        self._messages: list[_MessageRoute] = []
        self._actions: dict[str, Handler] = {}
        self._system: list[Handler] = []

    def message(self, accepts: MessageFilter) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._messages.append(_MessageRoute(accepts, handler))
            return handler

        return register

    def card_action(self, *prefixes: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for prefix in prefixes:
                if prefix in self._actions:
                    raise ValueError(f"card action {prefix!r} already has a handler")
                self._actions[prefix] = handler
            return handler

        return register

    def system(self, handler: Handler) -> Handler:
        self._system.append(handler)
        return handler

    def include(self, other: Router) -> None:
        self._messages.extend(other._messages)
        for prefix, handler in other._actions.items():
            self.card_action(prefix)(handler)
        self._system.extend(other._system)

    def resolve(self, event: Event) -> Handler | None:
        if isinstance(event, MessageEvent):
            return next((r.handler for r in self._messages if r.accepts(event)), None)
        if isinstance(event, CardActionEvent):
            return self._actions.get(event.action.split(":", 1)[0])
        return self._system[0] if self._system else None


class Dispatcher:
    def __init__(
        self,
        router: Router,
        storage: Storage,
        config: Config,
        orgs: Mapping[str, OrgService],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        downloads: Mapping[str, Download] | None = None,
        committed: Callable[[set[str]], None] = lambda topics: None,
    ) -> None:
        self._committed = committed
        self._downloads = dict(downloads or {})
        self._router = router
        self._storage = storage
        self._config = config
        self._orgs = orgs
        self._clock = clock

    async def dispatch(self, event: Event, consume: str = "") -> InlineReply | None:
        """Run the event's handler and commit its effects (acking ``consume`` with them).

        A concurrent change of the same claim makes the commit fail on its version check, and a
        concurrent submit with the same invoice on its registry lock; the handler then runs
        again on fresh state, so the second sees the first's outcome (and says so politely).
        """
        handler = self._router.resolve(event)
        if handler is None:
            log.info("no handler for %s event %s", event.platform, type(event).__name__)
            if consume:
                await self._storage.commit(Commit(consume=consume))
            return None
        for attempt in range(1, MAX_CONFLICT_RETRIES + 1):
            ctx = self._context(event)
            await handler(ctx)
            ctx.commit.consume = consume
            try:
                if not ctx.commit.empty:
                    await self._storage.commit(ctx.commit)
                    self._committed({m.topic for m in ctx.commit.messages})
            except (VersionConflict, InvoiceInUse) as conflict:
                if attempt == MAX_CONFLICT_RETRIES:
                    raise
                log.info("%s on %s, running the handler again", type(conflict).__name__,
                         event.event_id)
                continue
            return ctx.inline
        raise AssertionError("unreachable")  # pragma: no cover

    def _context(self, event: Event) -> HandlerContext:
        return HandlerContext(
            event=event,
            storage=self._storage,
            config=self._config,
            orgs=self._orgs,
            now=self._clock(),
            downloads=self._downloads,
        )


def describe(event: Event) -> dict[str, Any]:
    """Fields safe to log: ids and kinds, never message text or amounts."""
    return {"platform": event.platform, "kind": type(event).__name__, "event_id": event.event_id}
