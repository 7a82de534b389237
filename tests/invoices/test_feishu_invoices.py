"""E-invoices on Feishu, webhook mode with an encrypt key: the invoice arrives as a ``file``
message (downloaded from the message's resources), every callback encrypted and signed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.feishu import FakeFeishu
from tests.filing.drive import ClientMaker, FeishuDriver
from tests.invoices.scenario import pdf_then_same_invoice_as_ofd, with_company


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
