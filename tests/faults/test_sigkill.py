"""SIGKILL under a steady load of callbacks, on SQLite and on Redis.

A real ``python -m bot serve`` (WeCom only, its API at the fake in this process) gets a steady
stream of signed and encrypted one-line claims, each from its own user, and is SIGKILLed
mid-stream while callbacks are in flight and draft cards are going out. It is started again on
the same storage; every callback that did not get a 200 is delivered again, as WeCom would, and
so is a sample of those that did (platforms repeat acknowledged callbacks too).

Then: every user has exactly one draft claim in storage, the fake received exactly one draft
card per user (counting every message/send that reached it, accepted or not), and no queue
holds a row (the outbox resumed and finished).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from storage.models import ClaimStatus
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
    claim_of,
    deliver,
    drained,
    duplicates,
    metric,
    open_store,
    sends,
    title,
    until,
    until_async,
    write_config,
)

pytestmark = pytest.mark.slow

USERS = 80
SENDERS = 4  # callbacks in flight at once
PACE = 0.01  # seconds each sender waits between callbacks
KILL_AFTER = USERS // 3  # acknowledged callbacks before the SIGKILL
RESAMPLE = 3  # every third acknowledged callback is delivered again after the restart


async def test_sigkill_mid_stream_applies_every_acknowledged_event_once(tmp_path: Path) -> None:
    """Both backends at once: rows leased by the killed process wait out their visibility
    (60 s) before the restarted one takes them, and the two waits overlap."""
    (tmp_path / "sqlite").mkdir()
    (tmp_path / "redis").mkdir()
    figures = await asyncio.gather(
        crash_and_recover("sqlite", tmp_path / "sqlite"),
        crash_and_recover("redis", tmp_path / "redis"),
    )
    print("\n" + "\n".join(figures))


async def crash_and_recover(backend: str, tmp_path: Path) -> str:
    users = [f"u{n:03d}" for n in range(USERS)]
    fake = FakeWecom(corp_id=CORP_ID)
    await fake.start()
    add_staff(fake, users)
    redis = RedisServer(tmp_path)
    if backend == "redis":
        await redis.start()
    storage_url = redis.url if backend == "redis" else f"sqlite:///{tmp_path / 'claims.db'}"
    server = Server(write_config(tmp_path, storage_url, fake), tmp_path / "server.log")
    callbacks = WecomCallbacks(TOKEN, AES_KEY, CORP_ID, AGENT_ID)
    messages = {
        user: callbacks.text(user, f"报销 办公 {n + 10}.50 昨天 文具", msg_id=str(81_000_000 + n))
        for n, user in enumerate(users)
    }
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            first = await stream_and_kill(http, server, fake, callbacks, messages)
            acked_first = [u for u, status in first.items() if status == 200]
            await server.wait()
            at_kill = await census(storage_url, users)

            await server.start()
            unacked = [u for u in users if first.get(u) != 200]
            sample = acked_first[::RESAMPLE]
            again = await asyncio.gather(
                *(deliver(http, server.url, callbacks, messages[u]) for u in unacked + sample)
            )
            assert set(again) == {200}, Counter(again)
            await until(
                lambda: {s.body["touser"] for s in cards(fake)} >= set(users),
                90,
                "a draft card for every user",
            )
            await until_async(lambda: drained(http, server.url), 90, "the queues to empty")
            repeats = await metric(http, server.url, "claimbot_events_total", outcome="duplicate")
            assert await server.stop() == 0
    finally:
        await server.stop()
        await fake.close()

    try:
        store = await open_store(storage_url)
        try:
            depth = await store.queue_depth()
            per_user = {u: await store.claims_by_applicant("wecom", u) for u in users}
        finally:
            await store.close()
    finally:
        await redis.kill()

    claims = Counter({u: len(found) for u, found in per_user.items()})
    assert duplicates(claims) == {}, "users without exactly one claim"
    assert {c[0].status for c in per_user.values()} == {ClaimStatus.DRAFT}
    assert depth.get("inbound", (0, 0)) == (0, 0)
    assert depth.get("platform", (0, 0)) == (0, 0)
    drafts = [s for s in cards(fake) if title(s).startswith(DRAFT_TITLE)]
    per_card_user = Counter(str(s.body["touser"]) for s in drafts)
    per_claim = Counter(claim_of(s) for s in drafts)
    calls = {u: sends(fake, u, DRAFT_TITLE) for u in users}
    distinct = Counter({u: n for u, (n, _) in calls.items()})
    assert duplicates(per_card_user) == {}, "users who did not get exactly one draft card"
    assert duplicates(per_claim) == {}, "claims whose draft card did not go out exactly once"
    assert set(per_claim) == {c[0].id for c in per_user.values()}
    assert duplicates(distinct) == {}, "draft cards sent more than once (refused or not)"
    assert repeats >= len(sample)
    return (
        f"sigkill/{backend}: {USERS} callbacks; {len(acked_first)} acknowledged before the kill, "
        f"when storage held {at_kill[0]} claims and {at_kill[1]} inbound and {at_kill[2]} "
        "outbox rows not yet done; "
        f"{len(unacked)} not (redelivered), {len(sample)} acknowledged ones redelivered; "
        f"{repeats:.0f} repeats recognised after restart; {sum(claims.values())} claims; "
        f"{len(drafts)} draft cards from {sum(distinct.values())} distinct sends in "
        f"{sum(n for _, n in calls.values())} calls (repeats refused by WeCom as a used task id)"
    )


async def census(storage_url: str, users: list[str]) -> tuple[int, int, int]:
    """Claims, live inbound rows and live outbox rows in storage (the server is down)."""
    store = await open_store(storage_url)
    try:
        claims = sum([len(await store.claims_by_applicant("wecom", u)) for u in users])
        depth = await store.queue_depth()
    finally:
        await store.close()
    return claims, depth.get("inbound", (0, 0))[0], depth.get("platform", (0, 0))[0]


async def stream_and_kill(
    http: aiohttp.ClientSession,
    server: Server,
    fake: FakeWecom,
    callbacks: WecomCallbacks,
    messages: dict[str, str],
) -> dict[str, int]:
    """Send every message at a steady pace; SIGKILL the server once a third are acknowledged
    and draft cards are going out. Each user's HTTP status (0: no answer)."""
    await server.start()
    pending = list(messages)
    status: dict[str, int] = {}

    async def sender() -> None:
        while pending:
            user = pending.pop(0)
            status[user] = await deliver(http, server.url, callbacks, messages[user])
            await asyncio.sleep(PACE)

    senders = [asyncio.create_task(sender()) for _ in range(SENDERS)]
    try:
        await until(
            lambda: sum(s == 200 for s in status.values()) >= KILL_AFTER and len(cards(fake)) > 2,
            30,
            "a third of the callbacks acknowledged and cards going out",
        )
        server.kill()
        await asyncio.gather(*senders)
    finally:
        for task in senders:
            task.cancel()
    return status
