"""Two app instances on one Redis: a due reminder goes out exactly once.

Both instances run the real reminder loop (lease, mark, dispatch) and the real outbox; the
loopback platforms share one recorder, so the test sees every message either instance sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.workers.reminders import REMINDERS
from storage.models import ClaimStatus
from storage.redis import RedisStorage
from tests.fakes.loopback import LoopDirectory, LoopMessenger, LoopPlatform, loop_factory
from tests.redis_keys import REDIS_URL
from tests.reminders.support import Clock, reminder_config, reminders, submit_claim, sweep
from tests.scenario.journey import DEPARTMENTS, USERS, Journey

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]

pytestmark = pytest.mark.redis


@pytest.fixture
async def pair(
    aiohttp_client: ClientMaker, tmp_path: Path, clock: Clock, redis_prefix: str
) -> tuple[Journey, web.Application, web.Application]:
    """Instances A and B over one Redis prefix; the journey talks to A."""
    messenger = LoopMessenger()
    directory = LoopDirectory(dict(USERS), dict(DEPARTMENTS))
    config = reminder_config(tmp_path, escalate_after_reminders=1)
    clients = []
    for _ in range(2):
        platform = LoopPlatform("feishu", messenger=messenger, directory=directory)
        storage = RedisStorage(REDIS_URL, prefix=redis_prefix)
        app = create_app(config, storage=storage, platforms=[loop_factory(platform)], clock=clock)
        clients.append(await aiohttp_client(app))
    return Journey(clients[0], platform), clients[0].app, clients[1].app


async def test_a_due_reminder_is_sent_once_by_two_instances(
    pair: tuple[Journey, web.Application, web.Application], clock: Clock
) -> None:
    j, a, b = pair
    assert a[keys.SUPERVISOR].states["reminders"].running
    assert b[keys.SUPERVISOR].states["reminders"].running
    card = await submit_claim(j)
    claim_id = card["data"]["claim"]["id"]
    version = (await a[keys.STORAGE].get_claim(claim_id)).version  # type: ignore[union-attr]

    clock.set(hours=23)
    await sweep(j, a, b)
    assert reminders(j, "lisi") == []

    clock.set(hours=25)
    await sweep(j, a, b)
    await sweep(j, b, a)  # and again, each instance first: nothing more
    assert len(reminders(j, "lisi")) == 1
    assert "BX-" in reminders(j, "lisi")[0] and "25 小时" in reminders(j, "lisi")[0]
    assert len([s for s in j.sent("lisi", "card") if s["name"] == "approval_request"]) == 2
    assert reminders(j, "wangwu") == []  # escalation starts after the first reminder

    stored = await b[keys.STORAGE].get_claim(claim_id)
    assert stored is not None and stored.version == version  # every open card stays live

    clock.set(hours=49)  # reminder 2: both sweeps at the same moment, outside the loops
    sent = await asyncio.gather(a[REMINDERS].sweep(), b[REMINDERS].sweep())
    await j.settle()
    assert sorted(sent) == [0, 1]
    assert len(reminders(j, "lisi")) == 2 and reminders(j, "lisi")[1].endswith("（第 2 次提醒）")
    assert len(reminders(j, "wangwu")) == 1  # lisi's manager, told once

    decided = await j.click("lisi", card["data"]["actions"]["approve"])  # the first card
    assert decided["card"] == "approval_decided"
    await j.settle()
    stored = await a[keys.STORAGE].get_claim(claim_id)
    assert stored is not None and stored.status is ClaimStatus.APPROVING
    trail = [(e.action, e.actor, e.to_version) for e in await a[keys.STORAGE].audit_trail(claim_id)]
    assert [t for t in trail if t[0] == "reminded"] == [("reminded", "system", 0)] * 2


async def test_a_lease_holder_that_stops_hands_over(
    pair: tuple[Journey, web.Application, web.Application], clock: Clock
) -> None:
    """When the sweeping instance shuts down, the other sends the next reminder (once)."""
    j, a, b = pair
    await submit_claim(j)
    clock.set(hours=25)
    await sweep(j, a, b)
    assert len(reminders(j, "lisi")) == 1
    holder, other = (a, b) if await _holds_lease(a) else (b, a)
    await holder[keys.SUPERVISOR].stop()  # releases the lease on the way out
    clock.set(hours=49)
    await sweep(j, other)
    assert len(reminders(j, "lisi")) == 2
    await sweep(j, other)
    assert len(reminders(j, "lisi")) == 2


async def _holds_lease(app: web.Application) -> bool:
    """True when ``app``'s sweeper holds the lease (renewing it is harmless)."""
    sweeper = app[REMINDERS]
    return await app[keys.STORAGE].acquire_lease("reminders", sweeper.owner, 180.0)
