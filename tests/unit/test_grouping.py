"""storage.grouping.Grouper on its own: groups form under load, and a failed group's callers
each get an error of their own."""

from __future__ import annotations

import asyncio

import pytest

from storage.base import StorageUnavailable
from storage.grouping import Grouper, Outcome


async def test_calls_queued_behind_a_group_go_out_together_in_order() -> None:
    groups: list[list[int]] = []
    out = asyncio.Event()

    async def submit(items: list[int]) -> list[Outcome]:
        groups.append(items)
        out.set()
        await asyncio.sleep(0.01)
        return [Outcome(result=item * 2) for item in items]

    grouper: Grouper[int] = Grouper(submit, "test store")
    first = asyncio.create_task(grouper.call(0))
    await out.wait()  # the first call is out, alone, as soon as the loop turns
    results = await asyncio.gather(first, *(grouper.call(n) for n in range(1, 10)))
    assert results == [n * 2 for n in range(10)]
    assert groups == [[0], list(range(1, 10))]  # the rest waited for it and went together


async def test_a_failed_group_gives_each_caller_its_own_error() -> None:
    async def submit(items: list[int]) -> list[Outcome]:
        raise StorageUnavailable("store went away")

    grouper: Grouper[int] = Grouper(submit, "test store")
    errors = await asyncio.gather(*(grouper.call(n) for n in range(5)), return_exceptions=True)
    assert all(isinstance(e, StorageUnavailable) and str(e) == "store went away" for e in errors)
    assert len({id(e) for e in errors}) == 5


async def test_an_item_failure_stays_with_its_caller() -> None:
    async def submit(items: list[int]) -> list[Outcome]:
        return [Outcome(error=ValueError(n)) if n == 2 else Outcome(result=n) for n in items]

    grouper: Grouper[int] = Grouper(submit, "test store")
    results = await asyncio.gather(*(grouper.call(n) for n in range(4)), return_exceptions=True)
    assert results[:2] == [0, 1] and results[3] == 3
    with pytest.raises(ValueError, match="2"):
        raise results[2]


async def test_calls_behind_a_cancelled_lone_call_are_still_answered() -> None:
    out = asyncio.Event()

    async def submit(items: list[int]) -> list[Outcome]:
        out.set()
        await asyncio.sleep(0.01)
        return [Outcome(result=item) for item in items]

    grouper: Grouper[int] = Grouper(submit, "test store")
    lone = asyncio.create_task(grouper.call(0))
    await out.wait()
    behind = [asyncio.create_task(grouper.call(n)) for n in (1, 2, 3)]
    await asyncio.sleep(0)
    lone.cancel()
    assert await asyncio.gather(*behind) == [1, 2, 3]
    await grouper.settle()
    with pytest.raises(asyncio.CancelledError):
        await lone
