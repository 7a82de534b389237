"""Group commit: write transactions that queue up while one is in SQLite's thread go together.

Every write is a body (the statement helpers of one transaction). The first write to arrive
goes to aiosqlite's thread at once; writes that arrive while it is there wait and then go as
one group: one ``BEGIN IMMEDIATE``, each body inside its own savepoint, one ``COMMIT``. Under
load that turns a thread trip, a loop wake-up and a WAL commit per write into one per group;
at rest a write goes alone, with no added wait.

Each body stays atomic and isolated as before: a body that raises is rolled back to its
savepoint and its caller gets the exception; the others commit. Bodies run in the order they
arrived, each seeing the ones before it, exactly as if they had committed one by one. Nobody
hears "done" before the group's COMMIT has returned, so an acknowledged write is as durable as
a lone one. A caller cancelled before its body reached the thread is dropped from the group
(it was never told the write happened).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, TypeVar

from storage.base import StorageUnavailable
from storage.sqlite_schema import TxConn, drive

T = TypeVar("T")
Body = Callable[[TxConn], Coroutine[Any, Any, T]]

GROUP_LIMIT = 128  # bodies per trip: bounds how long one trip holds the thread


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one body of a group came to: its result, or the exception it raised."""

    result: Any = None
    error: BaseException | None = None


def run_group(conn: sqlite3.Connection, bodies: Sequence[Body[Any]]) -> list[Outcome]:
    """In the connection's own thread: every body in one transaction, each in a savepoint.

    Raises (and commits nothing) only when the transaction itself fails: BEGIN or COMMIT, or a
    body's error after which SQLite has already rolled the whole transaction back.
    """
    conn.execute("BEGIN IMMEDIATE")
    outcomes: list[Outcome] = []
    try:
        for body in bodies:
            conn.execute("SAVEPOINT claimbot_write")
            try:
                result = drive(conn, body)
            except Exception as exc:
                if not conn.in_transaction:
                    raise
                conn.execute("ROLLBACK TO claimbot_write")
                conn.execute("RELEASE claimbot_write")
                outcomes.append(Outcome(error=exc))
            else:
                conn.execute("RELEASE claimbot_write")
                outcomes.append(Outcome(result=result))
        conn.execute("COMMIT")
    except BaseException:
        with suppress(sqlite3.Error):  # "no transaction is active": nothing left to undo
            conn.execute("ROLLBACK")
        raise
    return outcomes


Submit = Callable[[list[Body[Any]]], Awaitable[list[Outcome]]]


@dataclass(slots=True)
class _Queued:
    body: Body[Any]
    done: asyncio.Future[Any]


class GroupWriter:
    """The loop side: queues bodies and keeps one drain task sending groups to ``submit``
    (which runs :func:`run_group` in the connection's thread)."""

    def __init__(self, submit: Submit, limit: int = GROUP_LIMIT) -> None:
        self._submit = submit
        self._limit = limit
        self._queued: list[_Queued] = []
        self._drainer: asyncio.Task[None] | None = None

    async def write(self, body: Body[T]) -> T:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        self._queued.append(_Queued(body, done))
        if self._drainer is None:
            self._drainer = loop.create_task(self._drain())
        return await done

    async def settle(self) -> None:
        """Wait until every queued write has been answered (before the connection closes)."""
        while self._drainer is not None:
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
                    queued.done.set_exception(StorageUnavailable("SQLite writer stopped"))
            self._queued.clear()

    async def _send(self, group: list[_Queued]) -> None:
        try:
            outcomes = await self._submit([q.body for q in group])
        except Exception as exc:
            for queued in group:
                if not queued.done.done():
                    queued.done.set_exception(exc)
            return
        except BaseException:
            for queued in group:
                if not queued.done.done():
                    queued.done.set_exception(StorageUnavailable("SQLite writer stopped"))
            raise
        for queued, outcome in zip(group, outcomes, strict=True):
            if queued.done.done():
                continue
            if outcome.error is None:
                queued.done.set_result(outcome.result)
            else:
                queued.done.set_exception(outcome.error)
