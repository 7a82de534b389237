"""The queue loop's recovery rule: a success after failures makes the waiting retries due."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from bot.workers.queue_loop import QueueLoop, QueuePolicy, Recovery
from bot.workers.sync import SYNC_POLICY
from storage.base import StorageUnavailable
from storage.models import Leased
from storage.sqlite import SqliteStorage
from tests.contract.support import FakeClock

POLICY = QueuePolicy("platform", hasten_on_recovery=True, hasten_every=5.0)
OUTAGE_DELAY = 60.0


class Down(Exception):
    """The peer refused; like the platform errors, it may say how long to wait (Retry-After)."""

    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__("HTTP 503")
        self.retry_after = retry_after


class Peer:
    """Delivers rows (acking them) while up; while down, fails each, with the wait named for its
    key in ``told`` if any (else the row waits out the loop's backoff, OUTAGE_DELAY)."""

    def __init__(self, storage: SqliteStorage) -> None:
        self.storage = storage
        self.down = False
        self.told: dict[str, float] = {}
        self.refused = 0
        self.delivered: list[str] = []
        self.called = asyncio.Event()

    async def __call__(self, row: Leased) -> None:
        if self.down:
            self.refused += 1
            self.called.set()
            raise Down(self.told.get(row.message.key))
        self.delivered.append(row.message.key)
        self.called.set()
        await self.storage.ack(row.receipt)

    async def until(self, done: Callable[[], bool], limit: float) -> None:
        """Wait for ``done`` to hold after some call; TimeoutError after ``limit`` seconds."""
        async with asyncio.timeout(limit):
            while not done():
                self.called.clear()
                await self.called.wait()


class CountingStorage(SqliteStorage):
    """SQLite that counts ``hasten`` calls and can fail the next ones."""

    def __init__(self, path: str, clock: FakeClock) -> None:
        super().__init__(path, clock=clock)
        self.hastened: list[int] = []
        self.failures = 0

    async def hasten(self, topic: str) -> int:
        if self.failures:
            self.failures -= 1
            raise StorageUnavailable("SQLite: database is locked")
        count = await super().hasten(topic)
        self.hastened.append(count)
        return count


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def storage(tmp_path: Path, clock: FakeClock) -> AsyncIterator[CountingStorage]:
    store = CountingStorage(str(tmp_path / "loop.db"), clock)
    await store.open()
    yield store
    await store.close()


def make_loop(
    storage: CountingStorage, clock: FakeClock, policy: QueuePolicy = POLICY
) -> tuple[QueueLoop, Peer]:
    peer = Peer(storage)
    loop = QueueLoop(storage, policy, peer, lambda topic, outcome: None, clock=clock,
                     backoff=lambda attempt: OUTAGE_DELAY)
    return loop, peer


async def fail_all(storage: CountingStorage, loop: QueueLoop, peer: Peer, keys: str) -> None:
    """Queue a row per key and let each fail once while the peer is down."""
    for key in keys:
        await storage.enqueue("platform", key, {})
    peer.down = True
    assert await loop.run_once() == len(keys)
    peer.down = False


async def test_a_success_after_failures_makes_the_waiting_retries_due(
    storage: CountingStorage, clock: FakeClock
) -> None:
    loop, peer = make_loop(storage, clock)
    await fail_all(storage, loop, peer, "abc")
    await storage.enqueue("platform", "d", {})
    assert await loop.run_once() == 1  # only the new row is due: the peer is back
    assert await loop.run_once() == 3  # hastened before this lease
    assert peer.delivered == ["d", "a", "b", "c"]
    assert storage.hastened == [3]
    assert [m.attempts for m in await storage.queue_rows("platform", dead=False)] == []


async def test_without_the_flag_the_retries_wait_out_their_delay(
    storage: CountingStorage, clock: FakeClock
) -> None:
    loop, peer = make_loop(storage, clock, replace(POLICY, hasten_on_recovery=False))
    await fail_all(storage, loop, peer, "abc")
    await storage.enqueue("platform", "d", {})
    assert await loop.run_once() == 1
    assert await loop.run_once() == 0
    assert storage.hastened == []
    clock.advance(OUTAGE_DELAY)
    assert await loop.run_once() == 3


async def test_successes_without_failures_do_not_hasten(
    storage: CountingStorage, clock: FakeClock
) -> None:
    loop, _ = make_loop(storage, clock)
    await storage.enqueue("platform", "a", {})
    await storage.enqueue("platform", "b", {}, delay=30)  # queued for later on purpose
    assert await loop.run_once() == 1
    assert await loop.run_once() == 0
    assert storage.hastened == []


async def test_a_failure_alone_does_not_hasten(storage: CountingStorage, clock: FakeClock) -> None:
    loop, peer = make_loop(storage, clock)
    await fail_all(storage, loop, peer, "ab")
    peer.down = True
    assert await loop.run_once() == 0
    assert storage.hastened == []


async def test_a_recovery_inside_the_window_waits_for_its_end(
    storage: CountingStorage, clock: FakeClock
) -> None:
    loop, peer = make_loop(storage, clock)
    await fail_all(storage, loop, peer, "a")
    await storage.enqueue("platform", "b", {})
    await loop.run_once()
    assert await loop.run_once() == 1  # "a", hastened
    clock.advance(1)
    await fail_all(storage, loop, peer, "c")  # the peer flaps: the window doubles to 10 s
    await storage.enqueue("platform", "d", {})
    assert await loop.run_once() == 1
    clock.advance(4)
    assert await loop.run_once() == 0  # inside the window: "c" keeps waiting
    assert storage.hastened == [1]
    clock.advance(5)
    assert await loop.run_once() == 1  # the window is over: the recovery is not forgotten
    assert storage.hastened == [1, 1]
    assert peer.delivered == ["b", "a", "d", "c"]


def test_recovery_needs_failures_then_a_success() -> None:
    recovery = Recovery(every=5, cap=60)
    recovery.succeeded()
    assert not recovery.due(0)
    recovery.failed(0)
    assert not recovery.due(0)
    recovery.succeeded()
    assert recovery.due(0)
    recovery.hastening(0)
    recovery.hastened()
    assert not recovery.due(100)


def hasten_at(recovery: Recovery, now: float) -> None:
    assert recovery.due(now)
    recovery.hastening(now)
    recovery.hastened()


def test_the_window_doubles_while_rows_fail_again_up_to_the_cap() -> None:
    """One platform of several still down: every hastening sends its rows into failure."""
    recovery, now, windows = Recovery(every=5, cap=60), 0.0, []
    recovery.failed(now)
    recovery.succeeded()
    hasten_at(recovery, now)
    for _ in range(6):
        recovery.failed(now + 0.1)  # the hastened rows of the platform still down
        recovery.failed(now + 0.2)  # one doubling per hastening, however many rows fail
        recovery.succeeded()  # a row of a platform that is up
        start = now
        while not recovery.due(now):
            now += 1
        windows.append(now - start)
        hasten_at(recovery, now)
    assert windows == [10, 20, 40, 60, 60, 60]


def test_the_window_is_back_to_its_start_after_a_hastening_that_held() -> None:
    recovery = Recovery(every=5, cap=60)
    recovery.failed(0)
    recovery.succeeded()
    hasten_at(recovery, 0)
    recovery.failed(1)  # backfired: 10 s
    recovery.succeeded()
    assert not recovery.due(9)
    hasten_at(recovery, 10)
    recovery.failed(25)  # a later outage, after the window: the hastening at 10 held
    recovery.succeeded()
    hasten_at(recovery, 25)  # 15 s ≥ 10 s; and the window is 5 s again
    recovery.failed(26)  # backfired: 5 s doubled, where 10 s doubled would give 20 s
    recovery.succeeded()
    assert not recovery.due(34)
    assert recovery.due(35)


async def test_no_hastening_before_the_wait_a_peer_named(
    storage: CountingStorage, clock: FakeClock
) -> None:
    loop, peer = make_loop(storage, clock)
    peer.told = {"a": 30.0}  # a 429 with Retry-After: 30
    await fail_all(storage, loop, peer, "ab")  # "b" named no wait: it waits out the backoff
    await storage.enqueue("platform", "c", {})
    assert await loop.run_once() == 1  # "c": the peer is back, but "a" asked for 30 s
    clock.advance(POLICY.hasten_every)
    assert await loop.run_once() == 0
    assert storage.hastened == []
    clock.advance(30.0 - POLICY.hasten_every)
    assert await loop.run_once() == 2  # "a" is due by now anyway; "b" is hastened with it
    assert storage.hastened == [1]
    assert peer.delivered == ["c", "a", "b"]


def test_recovery_keeps_the_latest_wait_it_was_told() -> None:
    recovery = Recovery(every=5, cap=60)
    recovery.failed(0, told=40)
    recovery.failed(1, told=2)  # a shorter wait named later does not cut the first one short
    recovery.succeeded()
    assert not recovery.due(39)
    assert recovery.due(40)


async def test_a_storage_error_while_hastening_is_logged_and_tried_again(
    storage: CountingStorage, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    loop, peer = make_loop(storage, clock)
    await fail_all(storage, loop, peer, "a")
    await storage.enqueue("platform", "b", {})
    await loop.run_once()
    storage.failures = 1
    assert await loop.run_once() == 0
    assert "could not hasten the waiting retries" in caplog.text
    clock.advance(POLICY.hasten_every)
    assert await loop.run_once() == 1
    assert peer.delivered == ["b", "a"]


async def test_a_running_loop_delivers_the_waiting_rows_at_once_after_recovery(
    tmp_path: Path,
) -> None:
    storage = SqliteStorage(str(tmp_path / "live.db"))
    await storage.open()
    peer = Peer(storage)
    peer.told = {"first": 0.3}  # the first row to come due finds the peer back
    loop = QueueLoop(storage, replace(POLICY, idle_wait=0.05), peer, lambda t, o: None,
                     backoff=lambda attempt: OUTAGE_DELAY)
    for key in ("first", "k1", "k2", "k3"):
        await storage.enqueue("platform", key, {})
    peer.down = True
    worker = asyncio.create_task(loop.run())
    try:
        await peer.until(lambda: peer.refused == 4, 2)
        peer.down = False
        await peer.until(lambda: len(peer.delivered) == 4, 2)  # not the 60 s of their backoff
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await storage.close()
    assert peer.delivered[0] == "first"
    assert sorted(peer.delivered[1:]) == ["k1", "k2", "k3"]


def test_backend_sync_hastens_on_recovery() -> None:
    assert SYNC_POLICY.hasten_on_recovery
