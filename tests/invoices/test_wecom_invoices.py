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

from tests.fakes.wecom import FakeWecom
from tests.filing.drive import WECOM_CORP, ClientMaker, WecomDriver
from tests.invoices.scenario import pdf_then_same_invoice_as_ofd, with_company


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
