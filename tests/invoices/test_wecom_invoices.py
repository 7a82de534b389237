"""E-invoices on WeCom, encrypted XML callbacks of a self-built app.

Such an app's callback never carries a file: its message types are text, image, voice, video,
location and link (no ``file`` MsgType, see ../shared/research/wecom_dingtalk.md §2). What reaches
the bot is an ``image`` message whose ``MediaId`` is fetched from ``media/get``; the bot goes by
the bytes, so the PDF and the OFD travel that way here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.einvoice.gen_pdf import invoice_pdf, photo_jpeg
from tests.fakes.wecom import FakeWecom
from tests.filing.drive import WECOM_CORP, ClientMaker, WecomDriver
from tests.invoices.scenario import (
    LUNCH,
    assert_prefilled,
    pdf_then_same_invoice_as_ofd,
    refused_as_ofd,
    submitted,
    unreadable_files_change_nothing,
    with_company,
)


@pytest.fixture
async def wecom(aiohttp_client: ClientMaker, tmp_path: Path) -> AsyncIterator[WecomDriver]:
    fake = FakeWecom(corp_id=WECOM_CORP)
    await fake.start()
    driver = WecomDriver(aiohttp_client, tmp_path, fake)
    with_company(driver)
    await driver.start()
    yield driver
    await driver.stop()
    await fake.close()


async def test_pdf_prefills_then_the_same_invoice_as_ofd_is_refused(wecom: WecomDriver) -> None:
    await pdf_then_same_invoice_as_ofd(wecom)
    assert len(wecom.fake.calls_to("media/get")) == 2


async def test_a_photo_of_the_invoice_prefills_then_the_ofd_is_refused(wecom: WecomDriver) -> None:
    """What a WeCom user sends most: a phone photo. Its QR code gives the kind, number, total
    and date, not the seller or the line items, so the category is asked for."""
    d = wecom
    await d.send_image("zhangsan", photo_jpeg(invoice_pdf(LUNCH)))
    told = d.texts_to("zhangsan")[-1]
    assert told.startswith(f"已从发票读取：数电普票 ¥{LUNCH.total}（{LUNCH.issued.isoformat()}）。")
    prompt = d.last_card("zhangsan", "prompt")
    assert "这是哪一类费用？" in prompt.text
    await d.click("zhangsan", prompt, "choose:category:meal")
    draft = d.last_card("zhangsan", "claim_draft")
    assert_prefilled(draft)

    await submitted(d, draft)
    await refused_as_ofd(d, draft)


async def test_unreadable_files_get_a_message_and_change_nothing(wecom: WecomDriver) -> None:
    await unreadable_files_change_nothing(wecom, named=False)
