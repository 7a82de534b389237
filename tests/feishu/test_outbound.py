"""Messages, cards, files, the directory and the token cache against the fake open platform."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import aiohttp
import pytest

from bot.config_model import FeishuConfig
from bot.directory import OrgService
from bot.events import FileRef
from bot.platforms.base import PlatformAPIError, TransientAPIError
from bot.platforms.feishu import FeishuPlatform
from bot.platforms.feishu.api import FeishuAPI
from bot.platforms.feishu.directory import FeishuDirectory
from bot.platforms.feishu.outbound import FeishuMessenger
from bot.replies import Recipient
from cards import render_card
from cards.samples import sample
from tests.fakes.feishu import FakeFeishu

USER = Recipient("feishu", user_id="ou_zhang")
CHAT = Recipient("feishu", chat_id="oc_finance")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(
    config: FeishuConfig,
    fake: FakeFeishu,
    http: aiohttp.ClientSession,
    sleeps: Sleeps,
    clock: Clock,
) -> FeishuAPI:
    fake.clock = clock
    return FeishuAPI(http, replace(config, base_url=fake.url), sleep=sleeps, clock=clock)


@pytest.fixture
def messenger(api: FeishuAPI) -> FeishuMessenger:
    return FeishuMessenger(api, render_card)


# -- sending ---------------------------------------------------------------------------------
async def test_text_to_a_user(messenger: FeishuMessenger, fake: FakeFeishu) -> None:
    sent = await messenger.send_text(USER, "已提交 BX-2026-000123")
    message = fake.messages[sent["message_id"]]
    assert (message.receive_id, message.receive_id_type) == ("ou_zhang", "open_id")
    assert json.loads(message.content) == {"text": "已提交 BX-2026-000123"}
    assert message.uuid
    call = fake.calls_to("/im/v1/messages", "POST")[0]
    assert call.headers["Authorization"].startswith("Bearer t-")


async def test_card_to_a_chat(messenger: FeishuMessenger, fake: FakeFeishu) -> None:
    sent = await messenger.send_card(CHAT, "finance_notice", sample("finance_notice"), "zh-CN")
    message = fake.messages[sent["message_id"]]
    assert message.receive_id_type == "chat_id"
    assert message.msg_type == "interactive"
    assert message.card == render_card("feishu", "finance_notice", sample("finance_notice"))
    assert sent["chat_id"] == "oc_finance"


async def test_the_same_idempotency_key_sends_once(
    messenger: FeishuMessenger, fake: FakeFeishu
) -> None:
    first = await messenger.send_text(USER, "hi", key="outbox-42")
    again = await messenger.send_text(USER, "hi", key="outbox-42")
    assert first == again
    assert len(fake.messages) == 1
    long_key = "x" * 80
    await messenger.send_text(USER, "hi", key=long_key)
    assert all(len(c.body["uuid"]) <= 50 for c in fake.calls_to("/im/v1/messages", "POST"))


async def test_a_retried_send_keeps_its_uuid(
    messenger: FeishuMessenger, fake: FakeFeishu, sleeps: Sleeps
) -> None:
    fake.fail("/im/v1/messages", status=500, code=1, msg="internal")
    await messenger.send_text(USER, "hi")
    posts = fake.calls_to("/im/v1/messages", "POST")
    assert len(posts) == 2
    assert posts[0].body["uuid"] == posts[1].body["uuid"]


# -- updating cards --------------------------------------------------------------------------
async def test_update_by_message_id_patches(messenger: FeishuMessenger, fake: FakeFeishu) -> None:
    sent = await messenger.send_card(USER, "approval_request", sample("approval_request"), "zh-CN")
    ref = await messenger.update_card(
        {"message_id": sent["message_id"], "token": "c-unused"},
        "approval_decided",
        sample("approval_decided"),
        "zh-CN",
    )
    assert ref == {"message_id": sent["message_id"]}
    message = fake.messages[sent["message_id"]]
    assert message.card["header"]["template"] == "green"
    assert fake.calls_to("/interactive/v1/card/update") == []


async def test_update_by_delayed_update_token(messenger: FeishuMessenger, fake: FakeFeishu) -> None:
    sent = await messenger.send_card(USER, "approval_request", sample("approval_request"), "zh-CN")
    token = fake.issue_card_token(sent["message_id"])
    for _ in range(2):
        await messenger.update_card(
            {"token": token}, "approval_decided", sample("approval_decided"), "zh-CN"
        )
    assert len(fake.messages[sent["message_id"]].updates) == 2
    with pytest.raises(PlatformAPIError) as err:  # Feishu allows two uses per token
        await messenger.update_card(
            {"token": token}, "approval_decided", sample("approval_decided"), "zh-CN"
        )
    assert err.value.code == 300040


async def test_update_needs_a_reference(messenger: FeishuMessenger) -> None:
    with pytest.raises(ValueError, match="message_id or a token"):
        await messenger.update_card({}, "help", sample("help"), "zh-CN")


# -- files -----------------------------------------------------------------------------------
async def test_download_a_message_resource(messenger: FeishuMessenger, fake: FakeFeishu) -> None:
    fake.add_resource("om_1", "img_1", b"\x89PNG...", "image/png")
    data, kind = await messenger.download(FileRef("image", "img_1", "om_1"))
    assert (data, kind) == (b"\x89PNG...", "image/png")
    assert fake.calls_to("/resources/img_1")[0].query == {"type": "image"}


async def test_download_error_is_typed(messenger: FeishuMessenger) -> None:
    with pytest.raises(PlatformAPIError) as err:
        await messenger.download(FileRef("file", "file_x", "om_1"))
    assert err.value.code == 234003
    assert not isinstance(err.value, TransientAPIError)


# -- tokens ----------------------------------------------------------------------------------
async def test_the_token_is_fetched_once_and_reused(api: FeishuAPI, fake: FakeFeishu) -> None:
    for _ in range(3):
        await api.call("GET", "/open-apis/bot/v3/info")
    assert len(fake.calls_to("tenant_access_token")) == 1
    body = fake.calls_to("tenant_access_token")[0].body
    assert body == {"app_id": "cli_fake", "app_secret": "fake-secret"}


async def test_the_token_is_refreshed_before_it_expires(
    api: FeishuAPI, fake: FakeFeishu, clock: Clock
) -> None:
    await api.call("GET", "/open-apis/bot/v3/info")
    clock.now += 7200 - 599  # inside the 10-minute margin: refresh, though still valid
    await api.call("GET", "/open-apis/bot/v3/info")
    tokens = {c.headers["Authorization"] for c in fake.calls_to("/bot/v3/info")}
    assert len(fake.calls_to("tenant_access_token")) == 2
    assert len(tokens) == 2


async def test_an_expired_token_code_refreshes_and_retries_once(
    api: FeishuAPI, fake: FakeFeishu, sleeps: Sleeps
) -> None:
    await api.call("GET", "/open-apis/bot/v3/info")
    fake.expire_tokens()
    await api.call("GET", "/open-apis/bot/v3/info")
    assert len(fake.calls_to("tenant_access_token")) == 2
    assert sleeps.delays == []  # no backoff for a stale token


async def test_a_token_rejected_twice_is_an_error(api: FeishuAPI, fake: FakeFeishu) -> None:
    fake.fail("/bot/v3/info", status=400, code=99991663, msg="invalid token", times=2)
    with pytest.raises(PlatformAPIError) as err:
        await api.call("GET", "/open-apis/bot/v3/info")
    assert not isinstance(err.value, TransientAPIError)


async def test_one_refresh_under_concurrency(api: FeishuAPI, fake: FakeFeishu) -> None:
    await asyncio.gather(*(api.call("GET", "/open-apis/bot/v3/info") for _ in range(20)))
    assert len(fake.calls_to("tenant_access_token")) == 1


async def test_one_refresh_when_many_calls_meet_an_expired_token(
    api: FeishuAPI, fake: FakeFeishu
) -> None:
    await api.call("GET", "/open-apis/bot/v3/info")
    fake.expire_tokens()
    await asyncio.gather(*(api.call("GET", "/open-apis/bot/v3/info") for _ in range(10)))
    assert len(fake.calls_to("tenant_access_token")) == 2


async def test_bad_app_credentials_are_a_typed_error(
    config: FeishuConfig, fake: FakeFeishu, http: aiohttp.ClientSession
) -> None:
    api = FeishuAPI(http, replace(config, base_url=fake.url, app_secret="wrong"))
    with pytest.raises(PlatformAPIError) as err:
        await api.call("GET", "/open-apis/bot/v3/info")
    assert err.value.code == 10014


# -- rate limits and errors ------------------------------------------------------------------
async def test_http_429_is_retried_after_the_gateway_reset(
    messenger: FeishuMessenger, fake: FakeFeishu, sleeps: Sleeps
) -> None:
    fake.fail("/im/v1/messages", headers={"x-ogw-ratelimit-reset": "3"})
    await messenger.send_text(USER, "hi")
    assert sleeps.delays == [3.0]
    assert len(fake.messages) == 1


async def test_im_frequency_limit_on_http_400_is_retried(
    messenger: FeishuMessenger, fake: FakeFeishu, sleeps: Sleeps
) -> None:
    fake.fail("/im/v1/messages", status=400, code=230020, msg="rate limited", times=2)
    await messenger.send_text(USER, "hi")
    assert len(sleeps.delays) == 2
    assert len(fake.messages) == 1


async def test_persistent_5xx_surfaces_as_transient(
    messenger: FeishuMessenger, fake: FakeFeishu, sleeps: Sleeps
) -> None:
    fake.fail("/im/v1/messages", status=503, code=1, msg="busy", times=10)
    with pytest.raises(TransientAPIError) as err:
        await messenger.send_text(USER, "hi")
    assert err.value.http_status == 503
    assert len(sleeps.delays) == 3  # four attempts


async def test_permanent_errors_carry_feishus_code_and_are_not_retried(
    messenger: FeishuMessenger, fake: FakeFeishu, sleeps: Sleeps
) -> None:
    fake.fail(
        "/im/v1/messages", status=400, code=230002, msg="Bot/User can NOT be out of the chat."
    )
    with pytest.raises(PlatformAPIError) as err:
        await messenger.send_text(CHAT, "hi")
    assert (err.value.code, err.value.http_status) == (230002, 400)
    assert "out of the chat" in err.value.message
    assert sleeps.delays == []


async def test_network_failure_is_transient(
    config: FeishuConfig, http: aiohttp.ClientSession, sleeps: Sleeps
) -> None:
    api = FeishuAPI(http, replace(config, base_url="http://127.0.0.1:9"), sleep=sleeps)
    with pytest.raises(TransientAPIError):
        await api.call("GET", "/open-apis/bot/v3/info")


async def test_calls_reuse_one_pooled_connection(
    messenger: FeishuMessenger, fake: FakeFeishu
) -> None:
    for n in range(5):
        await messenger.send_text(USER, f"hi {n}")
    peers = {c.peer for c in fake.calls}
    assert len(fake.calls) == 6  # the token and five sends
    assert len(peers) == 1


# -- directory and identity ------------------------------------------------------------------
async def test_user_and_department_lookups(api: FeishuAPI, fake: FakeFeishu) -> None:
    fake.add_user("ou_zhang", "张三", leader="ou_li", departments=["od-market"], email="z@x.cn")
    fake.add_department("od-market", "市场部", leader="ou_wang", parent="od-root")
    directory = OrgService(FeishuDirectory(api), platform="feishu", ttl=60)
    user = await directory.user("ou_zhang")
    assert user is not None
    assert (user.name, user.manager_id, user.department_ids) == ("张三", "ou_li", ("od-market",))
    assert user.email == "z@x.cn"
    department = await directory.unit("od-market")
    assert department is not None
    assert (department.leader_ids, department.parent_id) == (("ou_wang",), "od-root")
    await directory.user("ou_zhang")  # the org service caches; Feishu is asked once
    assert len(fake.calls_to("/contact/v3/users")) == 1
    assert fake.calls_to("/contact/v3/users")[0].query == {
        "user_id_type": "open_id",
        "department_id_type": "open_department_id",
    }


async def test_unknown_user_is_a_typed_error(api: FeishuAPI) -> None:
    with pytest.raises(PlatformAPIError) as err:
        await FeishuDirectory(api).get_user("ou_ghost")
    assert err.value.code == 41050


async def test_identify_learns_the_bots_open_id(platform: FeishuPlatform) -> None:
    assert await platform.identify() == "ou_bot"
    assert platform.decoder.bot_open_id == "ou_bot"
    assert set(platform.workers()) == {"feishu-identity"}
