"""The storage contract, part two: dedup and the durable queue, on SQLite and a real Redis."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from storage.base import TOPICS, InvalidInput, StaleReceipt, Storage
from storage.models import Commit
from tests.contract.queue_model import QueueModel
from tests.contract.support import BACKENDS, START, FakeClock, MakeStorage

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


def empty_depth() -> dict[str, tuple[int, int]]:
    return dict.fromkeys(TOPICS, (0, 0))


# -- dedup -------------------------------------------------------------------------------


async def test_mark_seen_is_true_once_until_the_ttl_passes(
    storage: Storage, clock: FakeClock
) -> None:
    assert await storage.mark_seen("feishu", "ev-1", ttl=60)
    assert not await storage.mark_seen("feishu", "ev-1", ttl=60)
    assert await storage.mark_seen("wecom", "ev-1", ttl=60)  # namespaced by platform
    assert await storage.mark_seen("feishu:ev", "1", ttl=60)  # no separator collisions
    assert await storage.mark_seen("feishu", "ev:1", ttl=60)
    clock.advance(59.5)
    assert not await storage.mark_seen("feishu", "ev-1", ttl=60)
    clock.advance(1)
    assert await storage.mark_seen("feishu", "ev-1", ttl=60)
    assert not await storage.mark_seen("feishu", "ev-1", ttl=60)


async def test_200_concurrent_mark_seen_one_true(make_storage: MakeStorage) -> None:
    stores = [await make_storage() for _ in range(4)]
    results = await asyncio.gather(
        *(stores[n % 4].mark_seen("dingtalk", "msg-42", 300) for n in range(200))
    )
    assert results.count(True) == 1


@pytest.mark.parametrize(
    ("platform", "key", "ttl"), [("", "k", 1), ("p", "", 1), ("p", "k", 0), ("p", "k", -5)]
)
async def test_mark_seen_checks_its_arguments(
    storage: Storage, platform: str, key: str, ttl: float
) -> None:
    with pytest.raises(InvalidInput):
        await storage.mark_seen(platform, key, ttl)


# -- enqueue, lease, ack -----------------------------------------------------------------


async def test_enqueue_lease_ack(storage: Storage, clock: FakeClock) -> None:
    payload: dict[str, Any] = {"card": "审批", "amount": "45.50", "nested": [1, {"a": None}]}
    message_id = await storage.enqueue("platform", "BX-2026-000001", payload)
    [leased] = await storage.lease("platform", 10, visibility=30)
    message = leased.message
    assert (message.id, message.topic, message.key) == (message_id, "platform", "BX-2026-000001")
    assert (message.payload, message.attempts, message.created_at) == (payload, 1, START)
    assert message.available_at == START
    assert await storage.lease("platform", 10, visibility=30) == []  # invisible while leased
    assert await storage.lease("backend", 10, visibility=30) == []
    await storage.ack(leased.receipt)
    assert await storage.queue_depth() == empty_depth()
    with pytest.raises(StaleReceipt):
        await storage.ack(leased.receipt)


async def test_delayed_rows_wait_until_due(storage: Storage, clock: FakeClock) -> None:
    await storage.enqueue("backend", "k", {"n": 1}, delay=10)
    assert await storage.lease("backend", 1, 30) == []
    clock.advance(10)
    [leased] = await storage.lease("backend", 1, 30)
    assert leased.message.available_at == START + 10


async def test_one_row_per_key_oldest_first(storage: Storage, clock: FakeClock) -> None:
    for n in range(3):
        await storage.enqueue("platform", "claim-a", {"n": n})
        await storage.enqueue("platform", "claim-b", {"n": n})
        clock.advance(0.001)
    seen: dict[str, list[int]] = {"claim-a": [], "claim-b": []}
    for _ in range(3):
        batch = await storage.lease("platform", 10, visibility=30)
        assert sorted(item.message.key for item in batch) == ["claim-a", "claim-b"]
        for item in batch:
            seen[item.message.key].append(item.message.payload["n"])
            await storage.ack(item.receipt)
    assert seen == {"claim-a": [0, 1, 2], "claim-b": [0, 1, 2]}
    assert await storage.lease("platform", 10, visibility=30) == []


async def test_lease_limit_takes_the_oldest_heads(storage: Storage) -> None:
    for key in ("k1", "k2", "k3"):
        await storage.enqueue("platform", key, {})
    first = await storage.lease("platform", 2, 30)
    assert [item.message.key for item in first] == ["k1", "k2"]
    assert [item.message.key for item in await storage.lease("platform", 2, 30)] == ["k3"]


async def test_an_expired_lease_comes_back(storage: Storage, clock: FakeClock) -> None:
    await storage.enqueue("backend", "BX-2026-000001", {"sync": 1})
    await storage.enqueue("backend", "BX-2026-000001", {"sync": 2})
    [first] = await storage.lease("backend", 5, visibility=30)
    clock.advance(29)
    assert await storage.lease("backend", 5, visibility=30) == []
    clock.advance(1)
    [again] = await storage.lease("backend", 5, visibility=30)
    assert again.message.id == first.message.id
    assert again.message.attempts == 2
    assert again.receipt != first.receipt
    for stale in (first.receipt, "not-a-receipt", first.receipt[:-1] + "0"):
        with pytest.raises(StaleReceipt):
            await storage.ack(stale)
        with pytest.raises(StaleReceipt):
            await storage.retry(stale, 5, "boom")
        with pytest.raises(StaleReceipt):
            await storage.dead_letter(stale, "boom")
    await storage.ack(again.receipt)
    [second] = await storage.lease("backend", 5, visibility=30)
    assert second.message.payload == {"sync": 2}


async def test_retry_backs_off_and_keeps_the_key_blocked(
    storage: Storage, clock: FakeClock
) -> None:
    await storage.enqueue("backend", "k", {"n": 1})
    await storage.enqueue("backend", "k", {"n": 2})
    [leased] = await storage.lease("backend", 5, 30)
    await storage.retry(leased.receipt, 60, "HTTP 503 from backend")
    with pytest.raises(StaleReceipt):
        await storage.ack(leased.receipt)
    clock.advance(59)
    assert await storage.lease("backend", 5, 30) == []
    clock.advance(1)
    [again] = await storage.lease("backend", 5, 30)
    assert (again.message.payload, again.message.attempts) == ({"n": 1}, 2)
    assert again.message.last_error == "HTTP 503 from backend"
    assert again.message.available_at == START + 60


async def test_dead_letter_unblocks_the_key(storage: Storage, clock: FakeClock) -> None:
    first_id = await storage.enqueue("backend", "k", {"n": 1})
    await storage.enqueue("backend", "k", {"n": 2})
    [leased] = await storage.lease("backend", 5, 30)
    await storage.dead_letter(leased.receipt, "400 bad request")
    [second] = await storage.lease("backend", 5, 30)
    assert second.message.payload == {"n": 2}
    [dead] = await storage.queue_rows("backend", dead=True)
    assert (dead.id, dead.last_error, dead.attempts) == (first_id, "400 bad request", 1)
    assert await storage.queue_depth() == {**empty_depth(), "backend": (1, 1)}
    with pytest.raises(StaleReceipt):
        await storage.ack(leased.receipt)


async def test_requeue_brings_a_dead_row_back_behind_its_key(
    storage: Storage, clock: FakeClock
) -> None:
    first_id = await storage.enqueue("backend", "k", {"n": 1})
    [leased] = await storage.lease("backend", 5, 30)
    await storage.dead_letter(leased.receipt, "boom")
    second_id = await storage.enqueue("backend", "k", {"n": 2})
    [inflight] = await storage.lease("backend", 5, 30)
    assert inflight.message.id == second_id
    clock.advance(5)
    assert await storage.requeue(first_id)
    assert not await storage.requeue(first_id)  # live now, not dead
    assert not await storage.requeue("no-such-row")
    assert await storage.lease("backend", 5, 30) == []  # still behind the leased row of k
    await storage.ack(inflight.receipt)
    [back] = await storage.lease("backend", 5, 30)
    assert (back.message.id, back.message.attempts) == (first_id, 1)
    assert back.message.available_at == START + 5
    assert back.message.last_error == "boom"


async def test_drop_removes_live_and_dead_rows(storage: Storage) -> None:
    dead_id = await storage.enqueue("platform", "k", {"n": 1})
    blocked_id = await storage.enqueue("platform", "k", {"n": 2})
    [leased] = await storage.lease("platform", 5, 30)
    await storage.dead_letter(leased.receipt, "x")
    leased_next = await storage.lease("platform", 5, 30)
    assert [item.message.id for item in leased_next] == [blocked_id]
    assert await storage.drop(blocked_id)  # a leased row: its receipt goes stale
    with pytest.raises(StaleReceipt):
        await storage.ack(leased_next[0].receipt)
    assert await storage.drop(dead_id)
    assert not await storage.drop(dead_id)
    assert await storage.queue_depth() == empty_depth()


async def test_dropping_the_head_lets_the_next_row_out(storage: Storage) -> None:
    head = await storage.enqueue("platform", "k", {"n": 1})
    await storage.enqueue("platform", "k", {"n": 2})
    await storage.enqueue("platform", "k", {"n": 3})
    assert await storage.drop(head)
    [leased] = await storage.lease("platform", 5, 30)
    assert leased.message.payload == {"n": 2}


async def test_queue_rows_for_operators(storage: Storage, clock: FakeClock) -> None:
    ids: list[str] = []
    for topic in ("backend", "platform", "backend"):
        ids.append(await storage.enqueue(topic, f"k{len(ids)}", {"i": len(ids)}))
        clock.advance(1)
    assert [m.id for m in await storage.queue_rows(None, dead=False)] == ids
    assert [m.id for m in await storage.queue_rows("backend", dead=False)] == [ids[0], ids[2]]
    assert [m.id for m in await storage.queue_rows(None, dead=False, limit=2)] == ids[:2]
    assert await storage.queue_rows(None, dead=True) == []
    with pytest.raises(InvalidInput):
        await storage.queue_rows("outbox", dead=False)
    with pytest.raises(InvalidInput):
        await storage.queue_rows(None, dead=False, limit=0)


async def test_put_inbound_dedups_and_enqueues(storage: Storage, clock: FakeClock) -> None:
    payload = {"text": "报销 打车 45.5"}
    assert await storage.put_inbound("feishu", "ev-1", "feishu:ou_alice", payload, 300) == ""
    assert await storage.put_inbound("feishu", "ev-1", "feishu:ou_alice", payload, 300) is None
    assert not await storage.mark_seen("feishu", "ev-1", 300)  # one dedup store
    assert await storage.put_inbound("wecom", "ev-1", "wecom:zhangsan", payload, 300) == ""
    [row, other] = await storage.queue_rows("inbound", dead=False)
    assert (row.dedup, row.key, row.payload) == ("feishu:ev-1", "feishu:ou_alice", payload)
    assert other.dedup == "wecom:ev-1"
    clock.advance(301)
    assert await storage.put_inbound("feishu", "ev-1", "feishu:ou_alice", payload, 300) == ""
    assert (await storage.queue_depth())["inbound"] == (3, 0)


async def test_put_inbound_can_lease_the_new_row_to_the_caller(
    storage: Storage, clock: FakeClock
) -> None:
    receipt = await storage.put_inbound("feishu", "click-1", "feishu:ou_boss", {}, 300, lease_for=5)
    assert receipt
    assert await storage.lease("inbound", 10, 30) == []  # leased to the caller
    assert await storage.put_inbound("feishu", "click-1", "feishu:ou_boss", {}, 300, 5) is None
    # A second event of the same key waits its turn: no lease while an older row is live.
    assert await storage.put_inbound("feishu", "click-2", "feishu:ou_boss", {}, 300, 5) == ""
    clock.advance(5)  # the caller did not finish: the row goes to the workers
    [again] = await storage.lease("inbound", 10, 30)
    assert (again.message.dedup, again.message.attempts) == ("feishu:click-1", 2)
    with pytest.raises(StaleReceipt):
        await storage.ack(receipt)
    await storage.ack(again.receipt)
    fresh = await storage.put_inbound("feishu", "click-3", "feishu:ou_cfo", {}, 300, lease_for=5)
    assert fresh
    await storage.commit(Commit(consume=fresh))
    assert [m.dedup for m in await storage.queue_rows("inbound", dead=False)] == ["feishu:click-2"]
    with pytest.raises(InvalidInput):
        await storage.put_inbound("feishu", "click-4", "k", {}, 300, lease_for=-1)


async def test_two_workers_never_hold_one_row_at_once(
    make_storage: MakeStorage, clock: FakeClock
) -> None:
    producer = await make_storage()
    for n in range(60):
        await producer.enqueue("platform", f"key-{n % 20}", {"n": n})
    workers = [await make_storage(), await make_storage()]
    held: set[str] = set()
    delivered: list[int] = []

    async def work(store: Storage) -> None:
        while True:
            batch = await store.lease("platform", 4, visibility=300)
            if not batch:
                if len(delivered) == 60:
                    return
                await asyncio.sleep(0)
                continue
            for item in batch:
                assert item.message.id not in held, "row handed out twice while leased"
                held.add(item.message.id)
            await asyncio.sleep(0)
            for item in batch:
                held.discard(item.message.id)
                delivered.append(item.message.payload["n"])
                await store.ack(item.receipt)

    await asyncio.wait_for(asyncio.gather(*(work(w) for w in workers)), timeout=30)
    assert sorted(delivered) == list(range(60))
    for key in range(20):  # each key's rows went out in the order they were queued
        assert [n for n in delivered if n % 20 == key] == [key, key + 20, key + 40]


@pytest.mark.parametrize(
    ("topic", "key", "payload", "delay"),
    [
        ("outbox", "k", {}, 0),
        ("", "k", {}, 0),
        ("platform", "", {}, 0),
        ("platform", "k", [], 0),
        ("platform", "k", {"x": float("nan")}, 0),
        ("platform", "k", {}, -1),
        ("platform", "k", {}, float("inf")),
    ],
)
async def test_enqueue_checks_its_arguments(
    storage: Storage, topic: str, key: str, payload: Any, delay: float
) -> None:
    with pytest.raises(InvalidInput):
        await storage.enqueue(topic, key, payload, delay)
    assert await storage.queue_depth() == empty_depth()


async def test_queue_calls_check_their_arguments(storage: Storage) -> None:
    with pytest.raises(InvalidInput, match="topic"):
        await storage.lease("email", 1, 30)
    with pytest.raises(InvalidInput):
        await storage.lease("platform", 1, 0)
    for call in (storage.ack(""), storage.retry("", 1, "e"), storage.dead_letter("", "e")):
        with pytest.raises(InvalidInput):
            await call
    with pytest.raises(InvalidInput):
        await storage.retry("r.x", -1, "e")
    with pytest.raises(InvalidInput):
        await storage.requeue("")
    with pytest.raises(InvalidInput):
        await storage.drop("")
    with pytest.raises(InvalidInput):
        await storage.put_inbound("feishu", "", "k", {}, 60)
    with pytest.raises(InvalidInput):
        await storage.put_inbound("feishu", "ev", "k", {}, 0)
    with pytest.raises(InvalidInput, match="topic"):
        await storage.hasten("email")


@pytest.mark.parametrize("seed", range(4))
async def test_random_operations_match_the_reference_model(
    storage: Storage, clock: FakeClock, seed: int
) -> None:
    rng = random.Random(seed)
    model = QueueModel()
    receipts: list[str] = []
    for _ in range(150):
        await random_step(storage, clock, model, receipts, rng)
        assert [m.id for m in await storage.queue_rows("platform", dead=False)] == model.live_ids()
        assert [m.id for m in await storage.queue_rows("platform", dead=True)] == model.dead_ids()


async def random_step(
    storage: Storage, clock: FakeClock, model: QueueModel, receipts: list[str], rng: random.Random
) -> None:
    op = rng.choice(
        ["enqueue", "enqueue", "lease", "lease", "settle", "settle", "admin", "hasten", "tick"]
    )
    now = clock()
    if op == "enqueue":
        key, delay = rng.choice("abcd"), rng.choice([0, 0, 3])
        model.enqueue(await storage.enqueue("platform", key, {}, delay), key, now, delay)
    elif op == "lease":
        limit = rng.randint(1, 3)
        expected = model.leasable(now, limit)
        leased = await storage.lease("platform", limit, visibility=10)
        assert [item.message.id for item in leased] == expected
        for item in leased:
            model.lease(item.message.id, item.receipt, now, 10)
            assert item.message.attempts == model.rows[item.message.id].attempts
            receipts.append(item.receipt)
    elif op == "settle" and receipts:
        await random_settle(storage, now, model, rng.choice(receipts), rng)
    elif op == "admin" and model.rows:
        message_id = rng.choice(sorted(model.rows))
        if rng.random() < 0.7:
            assert await storage.requeue(message_id) == model.requeue(message_id, now)
        else:
            assert await storage.drop(message_id) == model.drop(message_id)
    elif op == "hasten":
        assert await storage.hasten("platform") == model.hasten(now)
    else:
        clock.advance(rng.choice([0.5, 2, 6, 11]))


async def random_settle(
    storage: Storage, now: float, model: QueueModel, receipt: str, rng: random.Random
) -> None:
    kind = rng.choice(["ack", "retry", "dead"])
    delay = rng.choice([4, 30])  # the long delay leaves rows for "hasten" to find
    valid = model.settle(kind, receipt, now, delay=delay)
    try:
        if kind == "ack":
            await storage.ack(receipt)
        elif kind == "retry":
            await storage.retry(receipt, delay, "again")
        else:
            await storage.dead_letter(receipt, "gone")
    except StaleReceipt:
        assert not valid, f"{kind} refused a receipt the model holds valid"
    else:
        assert valid, f"{kind} accepted a receipt the model holds stale"


# -- hasten --------------------------------------------------------------------------------


async def retried(storage: Storage, topic: str, key: str, delay: float) -> str:
    """Queue a row of ``key``, lease it and send it back to wait ``delay`` seconds; its id."""
    message_id = await storage.enqueue(topic, key, {"key": key})
    [leased] = await storage.lease(topic, 1, 30)
    assert leased.message.id == message_id
    await storage.retry(leased.receipt, delay, "HTTP 503")
    return message_id


async def test_hasten_makes_retried_rows_due_now(storage: Storage, clock: FakeClock) -> None:
    first = await retried(storage, "platform", "k1", 60)
    second = await retried(storage, "platform", "k2", 30)
    clock.advance(5)
    assert await storage.lease("platform", 10, 30) == []
    assert await storage.hasten("platform") == 2
    leased = await storage.lease("platform", 10, 30)
    assert [item.message.id for item in leased] == [first, second]  # equal due: queue order
    assert [item.message.attempts for item in leased] == [2, 2]
    assert [item.message.available_at for item in leased] == [START + 5, START + 5]
    assert [item.message.last_error for item in leased] == ["HTTP 503", "HTTP 503"]
    assert await storage.hasten("platform") == 0  # leased now


async def test_hasten_leaves_rows_never_attempted_alone(
    storage: Storage, clock: FakeClock
) -> None:
    await retried(storage, "platform", "k", 60)
    reminder = await storage.enqueue("platform", "reminder", {}, delay=3600)
    await storage.enqueue("platform", "due", {})
    assert await storage.hasten("platform") == 1
    rows = {row.id: row for row in await storage.queue_rows("platform", dead=False)}
    assert (rows[reminder].available_at, rows[reminder].attempts) == (START + 3600, 0)
    assert sorted(item.message.key for item in await storage.lease("platform", 10, 30)) == [
        "due", "k"
    ]


async def test_hasten_leaves_leased_and_dead_rows_and_other_topics_alone(
    storage: Storage, clock: FakeClock
) -> None:
    await storage.enqueue("platform", "leased", {})
    [held] = await storage.lease("platform", 1, 30)
    dead = await storage.enqueue("platform", "dead", {})
    [doomed] = await storage.lease("platform", 1, 30)
    await storage.dead_letter(doomed.receipt, "400")
    other = await retried(storage, "backend", "k", 60)
    clock.advance(1)
    assert await storage.hasten("platform") == 0
    assert await storage.lease("platform", 10, 30) == []
    await storage.ack(held.receipt)  # the lease is still good
    [row] = await storage.queue_rows("platform", dead=True)
    assert row.id == dead
    [waiting] = await storage.queue_rows("backend", dead=False)
    assert (waiting.id, waiting.available_at) == (other, START + 60)
    assert await storage.hasten("backend") == 1


async def test_hasten_leaves_an_expired_lease_as_it_is(storage: Storage, clock: FakeClock) -> None:
    await storage.enqueue("platform", "k", {})
    [first] = await storage.lease("platform", 1, 30)
    clock.advance(31)  # due again already: nothing to hasten
    assert await storage.hasten("platform") == 0
    [again] = await storage.lease("platform", 1, 30)
    assert (again.message.id, again.message.attempts) == (first.message.id, 2)


async def test_hasten_keeps_each_keys_order(storage: Storage, clock: FakeClock) -> None:
    head = await retried(storage, "platform", "k", 60)
    later = await storage.enqueue("platform", "k", {"n": 2})
    assert await storage.hasten("platform") == 1
    [leased] = await storage.lease("platform", 10, 30)
    assert leased.message.id == head
    assert await storage.lease("platform", 10, 30) == []  # the later row waits for the head
    await storage.retry(leased.receipt, 60, "HTTP 503")
    assert await storage.hasten("platform") == 1
    [again] = await storage.lease("platform", 10, 30)
    assert again.message.id == head
    await storage.ack(again.receipt)
    [after] = await storage.lease("platform", 10, 30)
    assert (after.message.id, after.message.attempts) == (later, 1)
