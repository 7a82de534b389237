from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.platforms.wecom.client import WecomClient
from bot.platforms.wecom.directory import WecomDirectory
from bot.platforms.wecom.inbound import WecomInbound
from bot.platforms.wecom.outbound import WecomMessenger
from bot.platforms.wxcrypt import WXBizMsgCrypt
from cards import render_card
from tests.fakes.wecom import FakeWecom, WecomCallbacks

CORP_ID = "ww_fake_corp"
TOKEN = "fakeCallbackToken"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
AGENT_ID = 1000002


@pytest.fixture
def callbacks() -> WecomCallbacks:
    return WecomCallbacks(TOKEN, AES_KEY, CORP_ID, AGENT_ID)


@pytest.fixture
def inbound() -> WecomInbound:
    return WecomInbound(WXBizMsgCrypt(TOKEN, AES_KEY, CORP_ID), CORP_ID, render_card)


@pytest.fixture
async def fake() -> AsyncIterator[FakeWecom]:
    server = FakeWecom(corp_id=CORP_ID)
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def client(fake: FakeWecom, http: aiohttp.ClientSession) -> WecomClient:
    return WecomClient(http, fake.url, CORP_ID, fake.secret, backoff=0)


@pytest.fixture
def messenger(client: WecomClient) -> WecomMessenger:
    return WecomMessenger(client, AGENT_ID, render_card)


@pytest.fixture
def directory(client: WecomClient) -> WecomDirectory:
    return WecomDirectory(client)
