"""E-invoices on Feishu, webhook mode with an encrypt key: the invoice arrives as a ``file``
message (downloaded from the message's resources), every callback encrypted and signed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.einvoice.gen_ofd import invoice_ofd
from tests.einvoice.gen_pdf import invoice_pdf
from tests.fakes.feishu import FakeFeishu
from tests.filing.drive import ClientMaker, FeishuDriver
from tests.invoices.scenario import (
    LUNCH,
    pdf_then_same_invoice_as_ofd,
    unreadable_files_change_nothing,
    with_company,
)


@pytest.fixture
async def feishu(aiohttp_client: ClientMaker, tmp_path: Path) -> AsyncIterator[FeishuDriver]:
    fake = FakeFeishu()
    await fake.start()
    driver = FeishuDriver(aiohttp_client, tmp_path, fake)
    with_company(driver)
    await driver.start()
    yield driver
    await driver.stop()
    await fake.close()


async def test_pdf_prefills_then_the_same_invoice_as_ofd_is_refused(feishu: FeishuDriver) -> None:
    await pdf_then_same_invoice_as_ofd(feishu)
    downloads = [c for c in feishu.fake.calls if "/resources/file_v3_" in c.path]
    assert [c.query.get("type") for c in downloads] == ["file", "file"]


async def test_the_same_invoice_twice_in_one_claim_is_refused(feishu: FeishuDriver) -> None:
    """As PDF and then as OFD in the same draft it is one invoice, not two items to be paid."""
    d = feishu
    await d.send_file("zhangsan", invoice_pdf(LUNCH), "发票.pdf")
    await d.send_file("zhangsan", invoice_ofd(LUNCH), "发票.ofd")
    draft = d.last_card("zhangsan", "claim_draft")
    warning = f"发票 {LUNCH.number} 在本报销单中用了 2 次"
    assert warning in draft.text  # the draft says so before anyone submits
    assert draft.text.replace(warning, "").count(f"发票 {LUNCH.number}") == 2  # the two items

    refused = await d.click("zhangsan", draft, "submit:")
    assert refused.toast == f"暂时不能提交：发票 {LUNCH.number} 在本报销单中用了 2 次"
    assert d.cards_to("lisi") == []
    assert d.last_card("zhangsan", "claim_draft").claim_id == draft.claim_id


async def test_unreadable_files_get_a_message_and_change_nothing(feishu: FeishuDriver) -> None:
    await unreadable_files_change_nothing(feishu)
