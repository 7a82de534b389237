"""Filing on Feishu beyond the shared journeys (test_filing_journeys.py): the prompt card's form."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.feishu import FakeFeishu
from tests.filing.drive import ClientMaker, FeishuDriver


@pytest.fixture
async def feishu(aiohttp_client: ClientMaker, tmp_path: Path) -> AsyncIterator[FeishuDriver]:
    fake = FakeFeishu()
    await fake.start()
    driver = FeishuDriver(aiohttp_client, tmp_path, fake)
    await driver.start()
    yield driver
    await driver.stop()
    await fake.close()


async def test_the_question_answered_in_the_card_form(feishu: FeishuDriver) -> None:
    d = feishu
    await d.say("zhangsan", "报销")
    prompt = d.last_card("zhangsan", "prompt")
    answer = await d.click("zhangsan", prompt, "answer:new_item", answer="打车 30 昨天 机场")
    assert answer.toast == "已记录"
    draft = d.last_card("zhangsan", "claim_draft")
    assert "¥30.00" in draft.text and "机场" in draft.text
