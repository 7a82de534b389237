"""The shape every queue worker shares: lease a batch, handle rows concurrently, settle each.

With ``hasten_on_recovery`` a success after failures ends the outage for the whole topic: the
rows still waiting out a retry delay become due at once (:meth:`Storage.hasten`), instead of
trickling out over the rest of their backoff. A topic spans peers (the "platform" topic carries
every chat platform's rows), so a success may come from a peer that is up while another is still
down: hastening is therefore spaced by a window, ``hasten_every`` seconds at first, doubled (up
to ``retry_cap``) each time rows fail again within it, and a recovery inside the window waits
for its end, so a peer still down is not hammered and a flapping one is not forgotten. A peer
that said how long to wait (``retry_after``: a 429's or 503's Retry-After) is taken at its word:
no hastening before that time has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.platforms.retry import backoff_delay
from storage.base import StaleReceipt, Storage, StorageError
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
    hasten_on_recovery: bool = False  # a success after failures makes waiting retries due
    hasten_every: float = 5.0  # seconds, at least, between two such hastenings (see Recovery)


class Recovery:
    """When to hasten a topic's waiting retries: after a success that follows failures, once
    the window since the last hastening has passed. The window doubles, up to ``cap``, when a
    row fails within it (the hastening did not end the failures), and is back to ``every``
    after a hastening that no failure followed within its window."""

    def __init__(self, every: float, cap: float) -> None:
        self._every = every
        self._cap = max(cap, every)
        self._window = every
        self._failed = False  # a row was sent back to wait since the last success
        self._pending = False  # then one succeeded: hasten when the window allows
        self._hastened_at: float | None = None
        self._backfired = False  # a row failed within the window of the last hastening
        self._not_before = 0.0  # the latest time a peer asked to be left alone until

    def failed(self, now: float, told: float | None = None) -> None:
        """A row failed at ``now``; ``told``: the wait its peer asked for, if it named one."""
        self._failed = True
        if told:
            self._not_before = max(self._not_before, now + told)
        if self._backfired or self._hastened_at is None:
            return
        if now - self._hastened_at < self._window:
            self._backfired = True
            self._window = min(2 * self._window, self._cap)

    def succeeded(self) -> None:
        if self._failed:
            self._failed, self._pending = False, True

    def due(self, now: float) -> bool:
        last = self._hastened_at
        waited = now >= self._not_before
        return self._pending and waited and (last is None or now - last >= self._window)

    def hastening(self, now: float) -> None:
        if self._hastened_at is not None and not self._backfired:
            self._window = self._every
        self._hastened_at, self._backfired = now, False

    def hastened(self) -> None:
        self._pending = False


RowHandler = Callable[[Leased], Awaitable[None]]
Outcome = Callable[[str, str], None]  # (topic, "ok" | "retry" | "dead")


class QueueLoop:
    def __init__(
        self,
        storage: Storage,
        policy: QueuePolicy,
        handle: RowHandler,
        record: Outcome,
        *,
        clock: Callable[[], float] = time.monotonic,
        backoff: Callable[[int], float] | None = None,
    ) -> None:
        """``backoff``: attempt number → seconds before the next one, when the peer named no
        wait (default: full-jitter exponential from the policy's ``retry_base``/``retry_cap``)."""
        self._storage = storage
        self._policy = policy
        self._handle = handle
        self._record = record
        self._clock = clock
        self._backoff = backoff or (
            lambda attempt: backoff_delay(attempt, policy.retry_base, policy.retry_cap))
        self._wakeup = asyncio.Event()
        self._recovery = (
            Recovery(policy.hasten_every, policy.retry_cap) if policy.hasten_on_recovery else None
        )

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        while True:
            # Cleared before leasing: a wake-up that arrives during the lease is kept.
            self._wakeup.clear()
            await self._hasten_if_recovered()
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
        await self._hasten_if_recovered()
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
        if self._recovery is not None:
            self._recovery.succeeded()

    async def _hasten_if_recovered(self) -> None:
        """After a recovery, make the topic's waiting retries due; a storage error only logs,
        and a later pass tries again once the window has gone by."""
        recovery, now = self._recovery, self._clock()
        if recovery is None or not recovery.due(now):
            return
        recovery.hastening(now)
        topic = self._policy.topic
        try:
            count = await self._storage.hasten(topic)
        except StorageError as exc:
            log.warning("%s: could not hasten the waiting retries: %s", topic, exc)
            return
        recovery.hastened()
        if count:
            log.info("%s recovered: %d waiting rows are due now", topic, count)

    async def _again(self, row: Leased, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if row.message.attempts >= self._policy.max_attempts:
            await self._give_up(row, error)
            return
        told: float | None = getattr(exc, "retry_after", None)
        delay = told or self._backoff(row.message.attempts)
        log.warning("%s row %s failed (attempt %d): %s", self._policy.topic, row.message.id,
                    row.message.attempts, error)
        try:
            await self._storage.retry(row.receipt, delay, error)
        except StaleReceipt:
            return
        if self._recovery is not None:
            self._recovery.failed(self._clock(), told)
        self._record(self._policy.topic, "retry")

    async def _give_up(self, row: Leased, error: str) -> None:
        log.error("%s row %s dead-lettered: %s", self._policy.topic, row.message.id, error)
        try:
            await self._storage.dead_letter(row.receipt, error)
        except StaleReceipt:
            return
        self._record(self._policy.topic, "dead")
