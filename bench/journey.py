"""Journey: from a claim's submit callback to the approver's card arriving at the fake platform.

Run ``.venv/bin/python bench/journey.py [sqlite|redis]``. A running ``python -m bot serve`` (one
process, SQLite in a temp dir or Redis at ``CLAIMBOT_BENCH_REDIS_URL``) is wired to the
emulator's fake Feishu and WeCom, which run in this process so their observers time the card's
arrival. Each journey: 张三 says ``报销 打车 N.5 昨天``, the draft card arrives, he presses
submit (a sealed card callback: the clock starts just before it is sent) and the clock stops
when the fake platform receives the approval-request card for his manager 李四 (the inbound
worker files it, the outbox worker sends it). ``JOURNEYS`` journeys per platform, one after
another; first on an idle server (the baseline, same run), then under a background load of
``BACKGROUND`` callbacks a second (ingest.py's ``ack`` workload, open loop) from the same process.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiohttp
from _load import (
    Fakes,
    RawClient,
    Rows,
    machine,
    ms,
    per_backend,
    percentile,
    server_toml,
    start_server,
    table,
)
from ingest import builders

from bot.emulator.driver import Target
from bot.emulator.org import PEOPLE, Credentials
from bot.emulator.web import Emulator
from bot.emulator.world import Entry
from tests.emulator.support import button

JOURNEYS = 100
BACKGROUND = 300.0  # callbacks a second during the loaded runs
PLATFORMS = ("feishu", "wecom")
WAIT = 10.0  # seconds for any card before the run is declared stuck

APPLICANT = next(p for p in PEOPLE if p.key == "zhangsan")
APPROVER = APPLICANT.manager


class Cards:
    """Every card the fakes deliver, with when it arrived, waited on by (platform, person)."""

    def __init__(self, emulator: Emulator) -> None:
        self._changed = asyncio.Condition()
        self.arrived: list[tuple[float, Entry]] = []
        world = emulator.world
        original: Callable[..., Entry] = world.add

        def add(platform: str, user: str, sender: str, kind: str, body: Any,
                ref: str = "") -> Entry:
            entry = original(platform, user, sender, kind, body, ref)
            if kind == "card":
                self.arrived.append((time.perf_counter(), entry))
                asyncio.get_running_loop().create_task(self._notify())
            return entry

        world.add = add  # type: ignore[method-assign]

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def next(self, platform: str, user: str, after: int) -> tuple[float, Entry]:
        """The first card to ``user`` on ``platform`` among those arrived after index ``after``."""

        def found() -> tuple[float, Entry] | None:
            return next(((at, e) for at, e in self.arrived[after:]
                         if (e.platform, e.user) == (platform, user)), None)

        async with asyncio.timeout(WAIT), self._changed:
            await self._changed.wait_for(lambda: found() is not None)
        hit = found()
        assert hit is not None
        return hit


async def one_journey(emulator: Emulator, cards: Cards, target: Target, platform: str,
                      n: int) -> float:
    driver = emulator.drivers[platform]
    mark = len(cards.arrived)
    said = await driver.say(target, APPLICANT, f"报销 打车 {n % 200 + 1}.5 昨天")
    if said.status != 200:
        raise RuntimeError(f"{platform} message answered {said.status}")
    _, draft = await cards.next(platform, APPLICANT.key, mark)
    value, form = button(draft, "submit")
    mark = len(cards.arrived)
    started = time.perf_counter()
    clicked = await driver.click(target, APPLICANT, draft, value, form)
    if clicked.status != 200:
        raise RuntimeError(f"{platform} submit answered {clicked.status}")
    arrived, _ = await cards.next(platform, APPROVER, mark)
    return arrived - started


async def background(url: str, fakes: Fakes, stop: asyncio.Event) -> int:
    """Open-loop ack-workload callbacks at ``BACKGROUND``/s, round robin over the platforms."""
    client = RawClient.for_url(url)
    build = [builders(fakes, "ack")[p] for p in ("feishu", "wecom", "dingtalk")]
    sent, n, tasks = 0, 0, set()
    start = time.perf_counter()
    try:
        while not stop.is_set():
            due = start + n / BACKGROUND
            delay = due - time.perf_counter()
            if delay > 0.0005:
                await asyncio.sleep(delay)
            request = build[n % 3](5 * 10**6 + n)
            task = asyncio.create_task(client.one(request))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
            sent += 1
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        client.close()
    return sent


async def one_storage(name: str, storage: str, tmp: Path) -> Rows:
    creds = Credentials.fresh()
    emulator = Emulator(creds)
    urls = asdict(await emulator.start())
    fakes = Fakes(None, asdict(creds), urls)  # type: ignore[arg-type]  # in-process, no helper
    cards = Cards(emulator)
    config = tmp / f"journey-{name}.toml"
    config.write_text(server_toml(fakes.creds, urls, storage))
    server, url = await start_server(config, tmp / f"journey-{name}.log")
    rows: Rows = []
    try:
        async with aiohttp.ClientSession() as http:
            target = Target(http, url)
            for platform in PLATFORMS:
                await one_journey(emulator, cards, target, platform, 0)  # warm-up
                idle = [await one_journey(emulator, cards, target, platform, n)
                        for n in range(JOURNEYS)]
                stop = asyncio.Event()
                load = asyncio.create_task(background(url, fakes, stop))
                await asyncio.sleep(0.5)
                started = time.perf_counter()
                loaded = [await one_journey(emulator, cards, target, platform, n)
                          for n in range(JOURNEYS)]
                stop.set()
                rate = await load / (time.perf_counter() - started + 0.5)
                for label, samples in (("idle", idle), (f"~{rate:.0f} callbacks/s", loaded)):
                    rows.append([f"{platform} ({name})", label, ms(percentile(samples, 0.5)),
                                 ms(percentile(samples, 0.99)), ms(max(samples))])
                rows.append([f"{platform} ({name})", "ratio loaded/idle p50",
                             f"{percentile(loaded, 0.5) / percentile(idle, 0.5):.2f}", "", ""])
    finally:
        await server.stop()
        await emulator.close()
    return rows


async def main(argv: list[str]) -> None:
    started = time.perf_counter()
    print(f"machine: {machine()}")
    rows = await per_backend(argv, one_storage, "journey.db")
    print(f"submit callback sent → approver's approval card received by the fake platform; "
          f"{JOURNEYS} journeys each, one at a time")
    print(table(["platform", "background", "p50 ms", "p99 ms", "max ms"], rows))
    print(f"took {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(sys.argv[1:]))
