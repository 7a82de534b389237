"""Group commit's loop side, for any store: calls that queue while one group is out go together.

The first call goes out at once, alone, sent by its own caller; calls that arrive while a group
is out wait and go as the next group (sent by a drain task), so at rest nothing waits and under
load one round trip (a thread hop and a SQLite commit, a Redis pipeline) serves many callers.
``submit`` takes the queued items in arrival order and returns one :class:`Outcome` per item.
Nobody is answered before ``submit`` has returned, so a caller that hears "done" knows its item
is as durable as it would be alone. A caller cancelled before its item went out is dropped from
the group: it was never told the call happened.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from storage.base import StorageUnavailable

Item = TypeVar("Item")

GROUP_LIMIT = 128  # items per group: bounds how long one group holds the store


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one item of a group came to: its result, or the exception it raised."""

    result: Any = None
    error: BaseException | None = None


@dataclass(slots=True)
class _Queued(Generic[Item]):
    item: Item
    done: asyncio.Future[Any]


class Grouper(Generic[Item]):
    """Queues items and keeps one drain task sending them to ``submit`` in groups."""

    def __init__(
        self, submit: Callable[[list[Item]], Awaitable[list[Outcome]]], what: str,
        limit: int = GROUP_LIMIT,
    ) -> None:
        self._submit = submit
        self._what = what  # for the error when the drain stops: "SQLite writer", …
        self._limit = limit
        self._queued: list[_Queued[Item]] = []
        self._drainer: asyncio.Task[None] | None = None
        self._lone: asyncio.Event | None = None  # set once a call sent alone has its answer

    async def call(self, item: Item) -> Any:
        if self._drainer is None and self._lone is None:
            return await self._alone(item)
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queued.append(_Queued(item, done))
        return await done

    async def _alone(self, item: Item) -> Any:
        """Nothing is out: the caller sends its item itself, at once (no drain task, no extra
        loop turn); whatever queued meanwhile goes as the next group."""
        lone = self._lone = asyncio.Event()
        try:
            outcomes = await self._submit([item])
        finally:
            lone.set()
            self._lone = None
            if self._queued and self._drainer is None:
                self._drainer = asyncio.get_running_loop().create_task(self._drain())
        if outcomes[0].error is not None:
            raise outcomes[0].error
        return outcomes[0].result

    async def settle(self) -> None:
        """Wait until every queued item has been answered (before the store closes)."""
        while self._drainer is not None or self._lone is not None:
            if self._lone is not None:
                await self._lone.wait()
            elif self._drainer is not None:
                await asyncio.shield(self._drainer)

    async def _drain(self) -> None:
        try:
            while self._queued:
                group = [q for q in self._queued[: self._limit] if not q.done.done()]
                del self._queued[: self._limit]
                if group:
                    await self._send(group)
        finally:
            self._drainer = None
            for queued in self._queued:  # only when the drain itself was cancelled
                if not queued.done.done():
                    queued.done.set_exception(StorageUnavailable(f"{self._what} stopped"))
            self._queued.clear()

    async def _send(self, group: list[_Queued[Item]]) -> None:
        try:
            outcomes = await self._submit([q.item for q in group])
        except Exception as exc:
            for queued in group:
                if not queued.done.done():
                    queued.done.set_exception(_own_copy(exc))
            return
        except BaseException:
            for queued in group:
                if not queued.done.done():
                    queued.done.set_exception(StorageUnavailable(f"{self._what} stopped"))
            raise
        for queued, outcome in zip(group, outcomes, strict=True):
            if queued.done.done():
                continue
            if outcome.error is None:
                queued.done.set_result(outcome.result)
            else:
                queued.done.set_exception(outcome.error)


def _own_copy(exc: Exception) -> Exception:
    """A copy of a group's failure for one caller (its cause is the original): each caller raises
    an exception of its own, so tracebacks do not pile up on one shared object."""
    try:
        mine = copy.copy(exc)
    except Exception:  # an exception type that cannot be copied: share it after all
        return exc
    mine.__cause__ = exc
    return mine
