"""E-invoices on DingTalk: the invoice arrives as a robot ``file`` message (its ``downloadCode``
exchanged for a download URL), in Stream mode over the socket with clicks as card callback
frames, and in HTTP mode as signed robot callbacks and the card callback route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.dingtalk import FakeDingtalk
from tests.filing.drive import ClientMaker, DingtalkDriver
from tests.invoices.scenario import (
    pdf_then_same_invoice_as_ofd,
    unreadable_files_change_nothing,
    with_company,
)

DOWNLOAD = "/v1.0/robot/messageFiles/download"


@pytest.fixture(params=["stream", "http"])
async def dingtalk(
    request: pytest.FixtureRequest, aiohttp_client: ClientMaker, tmp_path: Path
) -> AsyncIterator[DingtalkDriver]:
    fake = FakeDingtalk()
    await fake.start()
    driver = DingtalkDriver(aiohttp_client, tmp_path, fake, request.param)
    with_company(driver)
    await driver.start()
    yield driver
    await driver.stop()
    await fake.close()


async def test_pdf_prefills_then_the_same_invoice_as_ofd_is_refused(
    dingtalk: DingtalkDriver,
) -> None:
    await pdf_then_same_invoice_as_ofd(dingtalk)
    downloads = [c.body["downloadCode"] for c in dingtalk.fake.calls if c.path == DOWNLOAD]
    assert len(downloads) == 2 and all(code in dingtalk.fake.files for code in downloads)


async def test_unreadable_files_get_a_message_and_change_nothing(dingtalk: DingtalkDriver) -> None:
    await unreadable_files_change_nothing(dingtalk)
