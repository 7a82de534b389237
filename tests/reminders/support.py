"""A server (or two) with reminders on, a clock the test moves, and the loopback platform."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.config_model import Config
from bot.workers.reminders import REMINDERS
from tests.scenario.journey import Journey, journey_config

# Monday 2 November 2026, 10:00 in Shanghai
START = datetime(2026, 11, 2, 10, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, **since_start: float) -> None:
        self.now = START + timedelta(**since_start)


def reminder_config(tmp_path: Path, **approval: Any) -> Config:
    """The journey's organisation and rules; reminders after a day, quiet 22:00-08:00."""
    base = journey_config(tmp_path)
    settings: dict[str, Any] = {"remind_after_hours": 24, "quiet_hours": "22:00-08:00", **approval}
    return replace(base, approval=replace(base.approval, **settings))


async def submit_claim(j: Journey) -> dict[str, Any]:
    """zhangsan files and submits a taxi claim; returns lisi's approval card."""
    await j.say("zhangsan", "报销 打车 45.5 昨天 去客户现场")
    await j.settle()
    draft = j.last_card("zhangsan", "claim_draft")
    await j.click("zhangsan", draft["data"]["actions"]["submit"])
    await j.settle()
    return j.last_card("lisi", "approval_request")


def reminders(j: Journey, to: str, marker: str = "⏰") -> list[str]:
    return [s["text"] for s in j.sent(to, "text") if s["text"].startswith(marker)]


async def sweep(j: Journey, *apps: web.Application) -> None:
    """Wake every instance's reminder loop and wait until whatever it sent is delivered."""
    before = len(j.platform.messenger.sent)
    for app in apps:
        app[REMINDERS].wake()
    for _ in range(3):  # a loop sweeps on waking; give each a moment, then drain the outbox
        await asyncio.sleep(0.05)
        await j.settle()
    if len(j.platform.messenger.sent) > before:
        await j.settle()
