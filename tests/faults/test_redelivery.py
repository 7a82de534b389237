"""An outbox row whose first send got through but whose ack was lost (SIGKILL, timeout) is
retried; the card must not reach the user twice.

The row's id is the send's idempotency key: WeCom's task id is derived from it, so WeCom
refuses the repeat (a task id is never reused in an app), and the outbox takes that refusal, on
a retry, as "delivered" and settles the row instead of dead-lettering it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.outbound_codec import encode_outbound
from bot.platforms.base import AlreadyDelivered
from bot.platforms.wecom.client import WecomClient
from bot.platforms.wecom.outbound import WecomMessenger
from bot.replies import Card, Recipient
from bot.workers.outbox import OutboxHandler
from bot.workers.queue_loop import Permanent
from cards import render_card
from cards.samples import sample
from storage.sqlite import SqliteStorage
from tests.fakes.wecom import FakeWecom
from tests.faults.support import AGENT_ID, CORP_ID

CLAIM = "BX-2026-000042"
TO = Recipient("wecom", user_id="zhangsan")
DATA = sample("claim_draft")


@pytest.fixture
async def fake() -> AsyncIterator[FakeWecom]:
    server = FakeWecom(corp_id=CORP_ID)
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def messenger(fake: FakeWecom) -> AsyncIterator[WecomMessenger]:
    async with aiohttp.ClientSession() as http:
        client = WecomClient(http, fake.url, CORP_ID, fake.secret, backoff=0)
        yield WecomMessenger(client, AGENT_ID, render_card)


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SqliteStorage]:
    store = SqliteStorage(str(tmp_path / "outbox.db"))
    await store.open()
    yield store
    await store.close()


def draft_cards(fake: FakeWecom) -> list[str]:
    return [s.body["template_card"]["task_id"] for s in fake.sent if "template_card" in s.body]


async def test_a_keyed_card_is_shown_once_however_often_it_is_sent(
    fake: FakeWecom, messenger: WecomMessenger
) -> None:
    first = await messenger.send_card(TO, "claim_draft", DATA, "zh-CN", key="row-1")
    with pytest.raises(AlreadyDelivered) as repeat:
        await messenger.send_card(TO, "claim_draft", DATA, "zh-CN", key="row-1")
    assert repeat.value.handles == {"user_id": "zhangsan", "task_id": first["task_id"]}
    assert draft_cards(fake) == [first["task_id"]]
    # Without a key every send is a new card, as before.
    await messenger.send_card(TO, "claim_draft", DATA, "zh-CN")
    await messenger.send_card(TO, "claim_draft", DATA, "zh-CN")
    assert len(draft_cards(fake)) == 3


async def test_a_retried_row_whose_card_went_out_is_settled_not_sent_again(
    fake: FakeWecom, messenger: WecomMessenger, storage: SqliteStorage
) -> None:
    key, payload = encode_outbound(Card(TO, "claim_draft", DATA, claim_id=CLAIM))
    await storage.enqueue("platform", key, payload)
    [first] = await storage.lease("platform", 1, 0.05)
    # The first attempt got through; the process died before it recorded the copy and acked.
    await messenger.send_card(TO, "claim_draft", DATA, "zh-CN", key=first.message.id)
    await asyncio.sleep(0.1)  # its lease runs out
    [again] = await storage.lease("platform", 1, 30)
    assert again.message.id == first.message.id and again.message.attempts == 2

    await OutboxHandler(storage, {"wecom": messenger})(again)

    assert len(draft_cards(fake)) == 1
    assert await storage.queue_depth() == {"inbound": (0, 0), "platform": (0, 0), "backend": (0, 0)}
    [copy] = await storage.card_copies(CLAIM)
    assert dict(copy.ref)["task_id"] == draft_cards(fake)[0]
    assert "response_code" not in dict(copy.ref)  # lost with the answer: updates send anew


async def test_on_a_first_attempt_the_refusal_is_an_error(
    fake: FakeWecom, messenger: WecomMessenger, storage: SqliteStorage
) -> None:
    """A task id already used before the row was ever tried is not this row's doing."""
    key, payload = encode_outbound(Card(TO, "claim_draft", DATA, claim_id=CLAIM))
    await storage.enqueue("platform", key, payload)
    [row] = await storage.lease("platform", 1, 30)
    await messenger.send_card(TO, "claim_draft", DATA, "zh-CN", key=row.message.id)
    with pytest.raises(Permanent, match="40058"):  # dead-lettered at once, as before
        await OutboxHandler(storage, {"wecom": messenger})(row)
    assert await storage.card_copies(CLAIM) == []
