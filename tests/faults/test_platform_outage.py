"""WeCom's API answering 429, 5xx and its rate-limit errcode for a while: every card and notice
queued meanwhile arrives afterwards, once each, and nothing is dead-lettered.

The outage lasts 10 seconds in ``make test`` and as long as ``CLAIMBOT_OUTAGE_SECONDS`` says
otherwise (``CLAIMBOT_OUTAGE_SECONDS=60`` is the issue's minute; the run takes a little over
a minute, as the first delivery that gets through sends the waiting rows at once): HTTP 429
for the first 35 %, then HTTP 502 for 35 %, then errcode 45009 with HTTP 200, on message/send
and message/update_template_card alike.
During it, applicants submit drafts they already hold (each submit queues an approval card for
the manager and an update of the applicant's card) and other users file new claims (each
queues a draft card).
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from functools import partial
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.wecom import FakeWecom, Sent, WecomCallbacks
from tests.faults.support import (
    AES_KEY,
    AGENT_ID,
    CORP_ID,
    DRAFT_TITLE,
    MANAGER,
    TOKEN,
    Server,
    add_staff,
    cards,
    claim_of,
    deliver,
    drained,
    duplicates,
    metric,
    title,
    until,
    until_async,
    write_config,
)

pytestmark = pytest.mark.slow

PER_GROUP = 6
OUTAGE_SECONDS = float(os.environ.get("CLAIMBOT_OUTAGE_SECONDS", "10"))
OUTAGE = (  # (what, errcode, HTTP status, seconds)
    ("HTTP 429", 429, 429, 0.35 * OUTAGE_SECONDS),
    ("HTTP 502", 502, 502, 0.35 * OUTAGE_SECONDS),
    ("errcode 45009", 45009, 200, 0.3 * OUTAGE_SECONDS),
)
# After the outage a row waits out its current backoff: up to about the outage's length again.
RECOVERY_WAIT = 30 + 1.5 * OUTAGE_SECONDS
PATHS = ("message/send", "message/update_template_card")


def submit_key(card: Sent) -> str:
    keys = [b["key"] for b in card.body["template_card"]["button_list"]]
    return str(next(k for k in keys if k.startswith("submit:")))


async def outage(fake: FakeWecom) -> int:
    """Fail every send and update through the phases of OUTAGE; the calls refused."""
    before = len(fake.calls)
    for _, errcode, status, seconds in OUTAGE:
        for path in PATHS:
            fake.fail(path, errcode, "injected", times=1_000_000, status=status)
        await asyncio.sleep(seconds)
        for failure in fake._failures:
            failure.times = 0
    return sum(1 for c in fake.calls[before:] if c.path.endswith(PATHS))


async def test_cards_and_notices_arrive_once_after_the_platform_recovers(tmp_path: Path) -> None:
    submitters = [f"s{n:02d}" for n in range(PER_GROUP)]
    filers = [f"f{n:02d}" for n in range(PER_GROUP)]
    fake = FakeWecom(corp_id=CORP_ID)
    await fake.start()
    add_staff(fake, submitters + filers)
    storage_url = f"sqlite:///{tmp_path / 'claims.db'}"
    server = Server(write_config(tmp_path, storage_url, fake), tmp_path / "server.log")
    callbacks = WecomCallbacks(TOKEN, AES_KEY, CORP_ID, AGENT_ID)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
            await server.start()
            for n, user in enumerate(submitters):
                text = callbacks.text(user, f"报销 办公 {n + 30}.00 昨天 买文具")
                assert await deliver(http, server.url, callbacks, text) == 200
            drafts = {
                user: (await until(partial(cards, fake, user), 20, f"{user}'s draft"))[0]
                for user in submitters
            }
            await until_async(lambda: drained(http, server.url), 20, "the queues to empty")
            sent_before = len(fake.sent)
            updates_before = len(fake.updates)

            failing = asyncio.create_task(outage(fake))
            await asyncio.sleep(0.2)
            for user, draft in drafts.items():
                click = callbacks.card_click(
                    user,
                    submit_key(draft),
                    draft.body["template_card"]["task_id"],
                    fake.click_code(draft.msgid),
                )
                assert await deliver(http, server.url, callbacks, click) == 200
            for n, user in enumerate(filers):
                text = callbacks.text(user, f"报销 办公 {n + 60}.00 昨天 买文具")
                assert await deliver(http, server.url, callbacks, text) == 200
            refused = await failing
            loop = asyncio.get_running_loop()
            ended = loop.time()
            during = (len(fake.sent) - sent_before, len(fake.updates) - updates_before)
            assert during == (0, 0), "something went out while every call failed"
            assert refused >= 2 * PER_GROUP  # the outage met the deliveries

            await until(
                lambda: (
                    len(cards(fake, MANAGER)) >= PER_GROUP and all(cards(fake, u) for u in filers)
                ),
                RECOVERY_WAIT,
                "approval cards and draft cards after the outage",
            )
            recovered = loop.time() - ended
            await until_async(
                lambda: drained(http, server.url), RECOVERY_WAIT, "the queues to empty"
            )
            dead = await metric(http, server.url, "claimbot_queue_depth", state="dead")
            retried = await metric(
                http, server.url, "claimbot_deliveries_total", topic="platform", outcome="retry"
            )
            assert await server.stop() == 0
    finally:
        await server.stop()
        await fake.close()

    requests = Counter(claim_of(s) for s in cards(fake, MANAGER))
    submitted = {claim_of(d) for d in drafts.values()}
    assert set(requests) == submitted and duplicates(requests) == {}
    new_drafts = Counter(
        str(s.body["touser"])
        for u in filers
        for s in cards(fake, u)
        if title(s).startswith(DRAFT_TITLE)
    )
    assert set(new_drafts) == set(filers) and duplicates(new_drafts) == {}
    after = fake.updates[updates_before:]
    updated = Counter(str(u["userids"][0]) for u in after)
    resent = Counter(str(s.body["touser"]) for u in submitters for s in cards(fake, u)[1:])
    assert duplicates(updated + resent) == {} and set(updated + resent) == set(submitters)
    assert dead == 0
    print(
        f"\nplatform outage: {refused} calls refused over {sum(p[3] for p in OUTAGE):.0f}s "
        f"({', '.join(p[0] for p in OUTAGE)}); {retried:.0f} outbox retries; afterwards "
        f"{len(requests)} approval cards, {len(new_drafts)} draft cards, "
        f"{sum((updated + resent).values())} applicant card updates, each once, all there "
        f"{recovered:.1f}s after the outage ended; 0 dead"
    )
