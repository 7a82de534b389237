"""Redis restarted under a running server: it reconnects by itself, /readyz shows the outage,
callbacks are refused (503, so WeCom retries) rather than acknowledged while nothing can record
them, and no acknowledged event is lost.

The redis-server is our own, on a spare port, with ``--appendonly yes`` so what it acknowledged
survives its SIGKILL; the claimbot server is never restarted.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.wecom import FakeWecom, WecomCallbacks
from tests.faults.support import (
    AES_KEY,
    AGENT_ID,
    CORP_ID,
    DRAFT_TITLE,
    TOKEN,
    RedisServer,
    Server,
    add_staff,
    cards,
    deliver,
    drained,
    duplicates,
    open_store,
    title,
    until,
    until_async,
    write_config,
)

pytestmark = [pytest.mark.slow, pytest.mark.redis]

PER_PHASE = 10


async def readiness(http: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, object]]:
    async with http.get(f"{url}/readyz") as response:
        return response.status, await response.json()


async def test_redis_restart_is_survived_without_restarting_the_server(tmp_path: Path) -> None:
    phases = {p: [f"{p}{n:02d}" for n in range(PER_PHASE)] for p in ("before", "during", "after")}
    users = [u for group in phases.values() for u in group]
    fake = FakeWecom(corp_id=CORP_ID)
    await fake.start()
    add_staff(fake, users)
    redis = RedisServer(tmp_path, appendonly=True)
    await redis.start()
    server = Server(write_config(tmp_path, redis.url, fake), tmp_path / "server.log")
    callbacks = WecomCallbacks(TOKEN, AES_KEY, CORP_ID, AGENT_ID)
    messages = {
        u: callbacks.text(u, f"报销 办公 {n + 20}.00 昨天 买文具", msg_id=str(8_200_000_000 + n))
        for n, u in enumerate(users)
    }
    statuses: dict[str, list[int]] = {u: [] for u in users}

    async def send(group: list[str]) -> list[int]:
        codes = await asyncio.gather(
            *(deliver(http, server.url, callbacks, messages[u]) for u in group)
        )
        for user, code in zip(group, codes, strict=True):
            statuses[user].append(code)
        return list(codes)

    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
            await server.start()
            assert (await readiness(http, server.url))[0] == 200
            assert set(await send(phases["before"])) == {200}
            # Settled first: a row leased when Redis dies waits out its 60 s visibility, as
            # after a SIGKILL (test_sigkill covers that); here the outage itself is under test.
            await until(
                lambda: {s.body["touser"] for s in cards(fake)} >= set(phases["before"]),
                20,
                "draft cards before the outage",
            )
            await until_async(lambda: drained(http, server.url), 20, "the queues to empty")

            await redis.kill()
            status, body = await until_async(
                lambda: _unready(http, server.url), 20, "/readyz to report the outage"
            )
            assert status == 503 and body["storage"] is False
            refused = await send(phases["during"])
            assert set(refused) == {503}, Counter(refused)  # never 200 while Redis is away

            await redis.start()
            await until_async(lambda: _ready(http, server.url), 60, "/readyz to recover on its own")
            again = await send(phases["during"])  # WeCom retries what got no 200
            after = await send(phases["after"])
            assert set(again) == set(after) == {200}, (Counter(again), Counter(after))
            await until(
                lambda: {s.body["touser"] for s in cards(fake)} >= set(users),
                30,
                "a draft card for every user",
            )
            await asyncio.sleep(0.5)  # a late repeat would reach the fake now
            assert await server.stop() == 0
    finally:
        await server.stop()
        await fake.close()
    try:
        store = await open_store(redis.url)
        try:
            per_user = Counter({u: len(await store.claims_by_applicant("wecom", u)) for u in users})
            depth = await store.queue_depth()
        finally:
            await store.close()
    finally:
        await redis.kill()

    assert duplicates(per_user) == {}, "users without exactly one claim"
    drafts = Counter(s.body["touser"] for s in cards(fake) if title(s).startswith(DRAFT_TITLE))
    assert duplicates(drafts) == {} and set(drafts) == set(users)
    assert depth.get("inbound", (0, 0)) == depth.get("platform", (0, 0)) == (0, 0)
    print(
        f"\nredis restart: {len(users)} users; {PER_PHASE} acknowledged before the outage, "
        f"{PER_PHASE} refused with 503 during it and acknowledged when retried after, "
        f"{PER_PHASE} after; {sum(per_user.values())} claims, {sum(drafts.values())} draft cards"
    )


async def _unready(http: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, object]] | None:
    status, body = await readiness(http, url)
    return (status, body) if status == 503 else None


async def _ready(http: aiohttp.ClientSession, url: str) -> bool:
    return (await readiness(http, url))[0] == 200
