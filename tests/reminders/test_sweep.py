"""One instance on SQLite: when reminders go out, to whom, in which language, and when not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.config_model import Config
from bot.workers.reminders import REMINDERS
from handlers.reminders import reminder_event
from tests.fakes.loopback import LoopDirectory, LoopPlatform, loop_factory
from tests.reminders.support import START, Clock, reminder_config, reminders, submit_claim, sweep
from tests.scenario.journey import DEPARTMENTS, USERS, Journey, journey_config

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]
Start = Callable[..., Awaitable[Journey]]


@pytest.fixture
def start(aiohttp_client: ClientMaker, tmp_path: Path, clock: Clock) -> Start:
    async def make(config: Config | None = None, **approval: Any) -> Journey:
        platform = LoopPlatform("feishu", directory=LoopDirectory(dict(USERS), dict(DEPARTMENTS)))
        config = config or reminder_config(tmp_path, **approval)
        app = create_app(config, platforms=[loop_factory(platform)], clock=clock)
        return Journey(await aiohttp_client(app), platform)

    return make


def app_of(j: Journey) -> web.Application:
    app: web.Application = j.client.app
    return app


async def test_no_reminder_worker_unless_configured(start: Start, tmp_path: Path) -> None:
    j = await start(journey_config(tmp_path))
    assert REMINDERS not in app_of(j)
    assert "reminders" not in app_of(j)[keys.SUPERVISOR].states


async def test_reminders_once_per_interval(start: Start, clock: Clock) -> None:
    j = await start(remind_every_hours=6)
    await submit_claim(j)
    # due at 24 h (10:00), 30 h (16:00), then 22:00 is quiet: 08:00 (46 h) and 14:00 (52 h)
    steps = ((23.9, 0), (24, 1), (29, 1), (30, 2), (31, 2), (36, 2), (45.9, 2), (46, 3), (48, 3),
             (51.9, 3), (52, 4))
    for hours, expected in steps:
        clock.set(hours=hours)
        await sweep(j, app_of(j))
        assert len(reminders(j, "lisi")) == expected, hours
    assert reminders(j, "zhangsan") == [] and reminders(j, "wangwu") == []


async def test_quiet_hours_hold_a_reminder_until_they_end(start: Start, clock: Clock) -> None:
    j = await start(remind_after_hours=12)  # submitted 10:00, due 22:00: quiet until 08:00
    await submit_claim(j)
    for hours in (12, 13, 18, 21.9):
        clock.set(hours=hours)
        await sweep(j, app_of(j))
    assert reminders(j, "lisi") == []
    clock.set(hours=22)
    await sweep(j, app_of(j))
    assert len(reminders(j, "lisi")) == 1
    assert "22 小时" in reminders(j, "lisi")[0]


async def test_escalation_tells_the_manager_in_a_message(start: Start, clock: Clock) -> None:
    j = await start(escalate_after_reminders=2)
    card = await submit_claim(j)
    for day in (1, 2, 3):
        clock.set(hours=24 * day)
        await sweep(j, app_of(j))
    assert len(reminders(j, "lisi")) == 3
    told = reminders(j, "wangwu")  # lisi's manager, from the third reminder on
    assert len(told) == 1
    assert "李四" in told[0] and "提醒 3 次" in told[0] and "3 天" in told[0]
    assert j.sent("wangwu", "card") == []  # a message, never a card to decide on
    refused = await j.click("wangwu", card["data"]["actions"]["approve"])
    assert refused["toast"] == "你不是这一步的审批人，无法操作。"


async def test_the_next_step_waits_from_the_decision(start: Start, clock: Clock) -> None:
    j = await start()
    card = await submit_claim(j)
    clock.set(hours=30)
    await j.click("lisi", card["data"]["actions"]["approve"])  # finance waits from here
    await j.settle()
    clock.set(hours=53)
    await sweep(j, app_of(j))
    assert reminders(j, "zhaoliu") == [] and reminders(j, "lisi") == []
    clock.set(hours=54)
    await sweep(j, app_of(j))
    assert len(reminders(j, "zhaoliu")) == 1 and "财务审核" in reminders(j, "zhaoliu")[0]
    assert reminders(j, "lisi") == []


async def test_an_approver_who_speaks_english_is_reminded_in_english(
    start: Start, clock: Clock
) -> None:
    j = await start()
    await j.say("lisi", "English")
    await submit_claim(j)
    clock.set(hours=26)
    await sweep(j, app_of(j))
    assert reminders(j, "lisi") == [
        reminders(j, "lisi")[0]
    ] and reminders(j, "lisi")[0].startswith("⏰ Reminder: 张三's claim BX-")
    card = [s for s in j.sent("lisi", "card") if s["name"] == "approval_request"][-1]
    assert card["data"]["claim"]["status_label"] == "Awaiting approval"


async def test_a_claim_decided_meanwhile_gets_no_reminder(start: Start, clock: Clock) -> None:
    j = await start()
    card = await submit_claim(j)
    storage = app_of(j)[keys.STORAGE]
    seen = await storage.get_claim(card["data"]["claim"]["id"])
    assert seen is not None
    await j.click("lisi", card["data"]["actions"]["approve"])
    await j.settle()
    before = len(j.platform.messenger.sent)
    clock.set(hours=25)
    event = reminder_event(seen, 1, START)  # what a sweep that read the claim earlier sends
    await app_of(j)[REMINDERS].dispatcher.dispatch(event)
    await j.settle()
    assert len(j.platform.messenger.sent) == before
    assert "reminded" not in [e.action for e in await storage.audit_trail(seen.id)]


async def test_a_resubmitted_claim_waits_from_its_resubmission(start: Start, clock: Clock) -> None:
    j = await start()
    card = await submit_claim(j)
    claim_id = card["data"]["claim"]["id"]
    clock.set(hours=25)
    await sweep(j, app_of(j))
    await j.click("lisi", card["data"]["actions"]["return"], reason="补充行程")
    await j.settle()
    clock.set(hours=40)  # Tuesday 02:00 in Shanghai; the new round is due Wednesday 02:00 (quiet)
    for verb in ("resubmit", "submit"):
        claim = await app_of(j)[keys.STORAGE].get_claim(claim_id)
        assert claim is not None
        await j.click("zhangsan", f"{verb}:{claim_id}:{claim.version}")
        await j.settle()
    clock.set(hours=49)  # 24 h after the first submission: not a reminder of the new round
    await sweep(j, app_of(j))
    assert len(reminders(j, "lisi")) == 1
    clock.set(hours=70)  # Wednesday 08:00
    await sweep(j, app_of(j))
    assert len(reminders(j, "lisi")) == 2 and "30 小时" in reminders(j, "lisi")[1]


def test_replace_keeps_config_frozen(tmp_path: Path) -> None:
    config = reminder_config(tmp_path, escalate_after_reminders=3)
    assert config.approval.escalate_after_reminders == 3
    assert replace(config.approval, remind_after_hours=0).reminders is False
