"""The shape every queue worker shares: lease a batch, handle rows concurrently, settle each."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.platforms.retry import backoff_delay
from storage.base import StaleReceipt, Storage
from storage.models import Leased

log = logging.getLogger("claimbot.workers")


class Permanent(Exception):
    """A row that can never succeed: dead-letter it at once with this reason."""


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    topic: str
    batch: int = 16
    visibility: float = 60.0
    max_attempts: int = 10
    idle_wait: float = 1.0  # poll interval when idle; a local wake-up comes sooner
    retry_base: float = 1.0
    retry_cap: float = 300.0


RowHandler = Callable[[Leased], Awaitable[None]]
Outcome = Callable[[str, str], None]  # (topic, "ok" | "retry" | "dead")


class QueueLoop:
    def __init__(
        self, storage: Storage, policy: QueuePolicy, handle: RowHandler, record: Outcome
    ) -> None:
        self._storage = storage
        self._policy = policy
        self._handle = handle
        self._record = record
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        while True:
            # Cleared before leasing: a wake-up that arrives during the lease is kept.
            self._wakeup.clear()
            leased = await self._storage.lease(
                self._policy.topic, self._policy.batch, self._policy.visibility
            )
            if leased:
                await self._settle_all(leased)
                continue
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that
            # arrives as the event is set, and the worker then never stops on shutdown.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._policy.idle_wait):
                    await self._wakeup.wait()

    async def run_once(self) -> int:
        """Lease and handle one batch; returns how many rows were leased (tests, CLI)."""
        leased = await self._storage.lease(
            self._policy.topic, self._policy.batch, self._policy.visibility
        )
        await self._settle_all(leased)
        return len(leased)

    async def _settle_all(self, leased: list[Leased]) -> None:
        """Settle a batch; every row finishes before an error (storage down) propagates, so no
        row's task outlives the loop that leased it."""
        results = await asyncio.gather(
            *(self._settle(row) for row in leased), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _settle(self, row: Leased) -> None:
        topic = self._policy.topic
        try:
            await self._handle(row)
        except StaleReceipt:
            log.info("%s row %s was settled elsewhere", topic, row.message.id)
            return
        except Permanent as exc:
            await self._give_up(row, str(exc))
            return
        except Exception as exc:
            await self._again(row, exc)
            return
        self._record(topic, "ok")

    async def _again(self, row: Leased, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if row.message.attempts >= self._policy.max_attempts:
            await self._give_up(row, error)
            return
        delay = getattr(exc, "retry_after", None) or backoff_delay(
            row.message.attempts, self._policy.retry_base, self._policy.retry_cap
        )
        log.warning("%s row %s failed (attempt %d): %s", self._policy.topic, row.message.id,
                    row.message.attempts, error)
        try:
            await self._storage.retry(row.receipt, delay, error)
        except StaleReceipt:
            return
        self._record(self._policy.topic, "retry")

    async def _give_up(self, row: Leased, error: str) -> None:
        log.error("%s row %s dead-lettered: %s", self._policy.topic, row.message.id, error)
        try:
            await self._storage.dead_letter(row.receipt, error)
        except StaleReceipt:
            return
        self._record(self._policy.topic, "dead")
