"""Three server instances on one Redis behind a round-robin client give what one instance gives.

The same journeys run twice, each against its own fake WeCom: once on one instance, once on
three instances sharing one Redis, each callback to the next instance in turn. A journey files
a claim, submits it, has the manager approve it (a double click, both clicks at once on two
instances), finance approve it and mark it paid. Both runs must show the fake the same cards,
texts and card updates, each claim's cards once, and one decision per step.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from functools import partial
from pathlib import Path

import aiohttp
import pytest

from storage.models import Claim, ClaimStatus, Decision
from tests.fakes.wecom import FakeWecom, Sent, WecomCallbacks
from tests.faults.support import (
    AES_KEY,
    AGENT_ID,
    CORP_ID,
    FINANCE,
    MANAGER,
    TOKEN,
    RedisServer,
    Server,
    add_staff,
    cards,
    claim_of,
    deliver,
    drained,
    open_store,
    title,
    until,
    until_async,
    write_config,
)

pytestmark = [pytest.mark.slow, pytest.mark.redis]

APPLICANTS = ["zhang", "zhao", "qian"]
STATUS = "报销进度"  # the applicant's claim_status card


class Cluster:
    """Callbacks to the instances in turn (the gateway's round robin)."""

    def __init__(self, http: aiohttp.ClientSession, servers: list[Server], fake: FakeWecom):
        self.http, self.fake = http, fake
        self.callbacks = WecomCallbacks(TOKEN, AES_KEY, CORP_ID, AGENT_ID)
        self._next = itertools.cycle(servers)

    async def post(self, plaintext: str) -> None:
        status = await deliver(self.http, next(self._next).url, self.callbacks, plaintext)
        assert status == 200

    async def say(self, user: str, text: str) -> None:
        await self.post(self.callbacks.text(user, text))

    async def press(self, user: str, card: Sent, action: str, later: int = 0) -> None:
        """Click ``action``; ``later`` seconds on, a click is a new event, not a redelivery."""
        keys = [b["key"] for b in card.body["template_card"]["button_list"]]
        key = next(k for k in keys if k.startswith(action + ":"))
        task = card.body["template_card"]["task_id"]
        selected = {"reason": ["other"]} if "button_selection" in card.body["template_card"] else {}
        code, at = self.fake.click_code(card.msgid), int(time.time()) + later
        click = self.callbacks.card_click(user, key, task, code, selected=selected, at=at)
        await self.post(click)

    async def card(self, user: str, claim: str, heading: str, action: str) -> Sent:
        def found() -> Sent | None:
            return next(
                (
                    c
                    for c in cards(self.fake, user)
                    if claim_of(c) == claim
                    and title(c).startswith(heading)
                    and any(
                        b["key"].startswith(action + ":")
                        for b in c.body["template_card"].get("button_list", [])
                    )
                ),
                None,
            )

        sent: Sent = await until(found, 30, f"{user}'s {heading} card with {action} for {claim}")
        return sent


async def journey(cluster: Cluster, applicant: str, amount: int) -> str:
    fake = cluster.fake
    await cluster.say(applicant, f"报销 办公 {amount}.00 昨天 买文具")
    draft = (await until(lambda: cards(fake, applicant), 30, f"{applicant}'s draft"))[0]
    claim = claim_of(draft)
    await cluster.press(applicant, draft, "submit")
    request = await cluster.card(MANAGER, claim, "", "approve")
    await asyncio.gather(  # a double click: two events at once, on two instances
        cluster.press(MANAGER, request, "approve"),
        cluster.press(MANAGER, request, "approve", later=1),
    )
    review = await cluster.card(FINANCE, claim, "", "approve")
    await cluster.press(FINANCE, review, "approve")
    notice = await cluster.card(FINANCE, claim, "", "mark_paid")
    await cluster.press(FINANCE, notice, "mark_paid")
    return claim


async def run(tmp_path: Path, instances: int) -> tuple[FakeWecom, dict[str, Claim | None]]:
    fake = FakeWecom(corp_id=CORP_ID)
    await fake.start()
    add_staff(fake, APPLICANTS)
    redis = RedisServer(tmp_path)
    await redis.start()
    servers = [
        Server(write_config(tmp_path, redis.url, fake, f"i{n}"), tmp_path / f"i{n}.log")
        for n in range(instances)
    ]
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
            await asyncio.gather(*(s.start() for s in servers))
            cluster = Cluster(http, servers, fake)
            claims = await asyncio.gather(
                *(journey(cluster, a, 40 + n) for n, a in enumerate(APPLICANTS))
            )
            for server in servers:
                await until_async(partial(drained, http, server.url), 30, "empty queues")
            await asyncio.sleep(0.5)  # a late repeat would reach the fake now
            assert [await s.stop() for s in servers] == [0] * instances
        store = await open_store(redis.url)
        try:
            stored = {c: await store.get_claim(c) for c in claims}
            refused = [
                sum(e.action == "refused" and e.actor == f"wecom:{MANAGER}" for e in trail)
                for trail in [await store.audit_trail(c) for c in claims]
            ]
        finally:
            await store.close()
    finally:
        for server in servers:
            await server.stop()
        await fake.close()
        await redis.kill()
    assert refused == [1] * len(claims)  # the second click of each double click, politely
    return fake, stored


def seen(fake: FakeWecom) -> Counter[tuple[str, str, str]]:
    """(claim, recipient, card heading or "text") for every message the fake accepted."""
    found: Counter[tuple[str, str, str]] = Counter()
    for sent in fake.sent:
        user = str(sent.body.get("touser", ""))
        if sent.body.get("msgtype") == "template_card":
            found[(claim_of(sent), user, title(sent).split(" BX-")[0])] += 1
        else:
            found[("", user, str(sent.body.get("msgtype")))] += 1
    return found


def repeats(found: Counter[tuple[str, str, str]]) -> list[tuple[str, str, int]]:
    """(recipient, heading, count) of a claim's cards that went out more than once."""
    return sorted((user, what, n) for (claim, user, what), n in found.items() if claim and n > 1)


def anonymous(found: Counter[tuple[str, str, str]]) -> Counter[tuple[str, str]]:
    return Counter({(user, what): n for (_, user, what), n in found.items()}) + Counter()


async def test_three_instances_on_one_redis_behave_as_one(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "three").mkdir()
    single, single_claims = await run(tmp_path / "one", 1)
    cluster, cluster_claims = await run(tmp_path / "three", 3)

    for stored in (single_claims, cluster_claims):
        for claim in stored.values():
            assert claim is not None and claim.status is ClaimStatus.PAID
            assert [s.decision for s in claim.steps] == [Decision.APPROVE, Decision.APPROVE]
    by_claim = seen(cluster)
    assert anonymous(by_claim) == anonymous(seen(single))
    assert repeats(by_claim) == repeats(seen(single))
    # One instance, too, sends the applicant's status card anew once its copy cannot be
    # updated; every other card of a claim (approval requests, finance notices) goes out once.
    assert {heading for _, heading, _ in repeats(by_claim)} <= {STATUS}
    updates = [Counter(str(u["userids"][0]) for u in f.updates) for f in (single, cluster)]
    assert updates[0] == updates[1]
    print(
        f"\nthree instances: {len(APPLICANTS)} journeys, each with a double click on two "
        "instances whose second click was refused; "
        f"{sum(by_claim.values())} messages and {sum(updates[1].values())} card updates at the "
        f"fake, the same as one instance; {len(cluster.calls)} API calls in all"
    )
