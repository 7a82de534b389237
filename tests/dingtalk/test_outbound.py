"""Outbound against the fake API: tokens, robot sends, cards created and updated, downloads."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from bot.events import FileRef
from bot.platforms.base import PlatformAPIError, TransientAPIError
from bot.platforms.dingtalk import build_dingtalk
from bot.platforms.dingtalk.api import DingtalkAPI
from bot.platforms.dingtalk.cards import VARIABLES
from bot.platforms.dingtalk.outbound import DingtalkMessenger
from bot.replies import Recipient
from cards import render_card
from cards.samples import sample
from tests.dingtalk.conftest import CARD_TOKEN, RecordingSink, config_for
from tests.fakes.dingtalk import FakeDingtalk

BATCH = "/v1.0/robot/oToMessages/batchSend"
CREATE = "/v1.0/card/instances/createAndDeliver"


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture
def api(fake: FakeDingtalk, http: aiohttp.ClientSession) -> DingtalkAPI:
    return DingtalkAPI(http, client_id=fake.client_id, client_secret=fake.client_secret,
                       base_url=fake.url, oapi_base_url=fake.url, sleep=no_sleep)


@pytest.fixture
def messenger(api: DingtalkAPI, fake: FakeDingtalk) -> DingtalkMessenger:
    return DingtalkMessenger(api, render_card, robot_code=fake.client_id,
                             card_template_id="tpl-0001.schema")


def user(user_id: str) -> Recipient:
    return Recipient("dingtalk", user_id=user_id)


async def test_one_token_for_concurrent_callers(fake: FakeDingtalk, api: DingtalkAPI) -> None:
    await asyncio.gather(*(api.call("POST", BATCH, {"userIds": ["u"], "msgParam": "{}"})
                           for _ in range(10)))
    assert len(fake.calls_to("/v1.0/oauth2/accessToken")) == 1


async def test_a_rejected_token_is_refreshed_and_the_call_repeated(
    fake: FakeDingtalk, messenger: DingtalkMessenger
) -> None:
    await messenger.send_text(user("fin01"), "hello")
    fake.expire_tokens()
    await messenger.send_text(user("fin01"), "again")
    assert len(fake.calls_to("/v1.0/oauth2/accessToken")) == 2
    assert len(fake.calls_to(BATCH)) == 3


async def test_wrong_credentials_are_a_platform_error(
    fake: FakeDingtalk, http: aiohttp.ClientSession
) -> None:
    api = DingtalkAPI(http, client_id=fake.client_id, client_secret="wrong", base_url=fake.url,
                      oapi_base_url=fake.url, sleep=no_sleep)
    with pytest.raises(PlatformAPIError) as caught:
        await api.call("POST", BATCH, {})
    assert caught.value.code == "invalidClientIdOrSecret"


async def test_text_to_a_user_is_a_robot_batch_send(
    fake: FakeDingtalk, messenger: DingtalkMessenger
) -> None:
    ref = await messenger.send_text(user("fin01"), "报销单 BX-2026-000123 已批准")
    [call] = fake.calls_to(BATCH)
    assert call.body["userIds"] == ["fin01"]
    assert call.body["robotCode"] == fake.client_id
    assert json.loads(call.body["msgParam"]) == {"content": "报销单 BX-2026-000123 已批准"}
    assert ref["process_query_key"].startswith("pqk-")


async def test_many_users_are_sent_in_chunks_of_twenty(
    fake: FakeDingtalk, messenger: DingtalkMessenger
) -> None:
    keys = await messenger.send_text_to_users([f"u{n}" for n in range(45)], "hi")
    assert [len(c.body["userIds"]) for c in fake.calls_to(BATCH)] == [20, 20, 5]
    assert len(keys) == 3


async def test_text_to_a_group(fake: FakeDingtalk, messenger: DingtalkMessenger) -> None:
    await messenger.send_text(Recipient("dingtalk", chat_id="cidGroup=="), "hi")
    [call] = fake.calls_to("/v1.0/robot/groupMessages/send")
    assert call.body["openConversationId"] == "cidGroup=="


async def test_invalid_staff_is_a_platform_error_and_flow_control_transient(
    fake: FakeDingtalk, messenger: DingtalkMessenger
) -> None:
    fake.invalid_staff.add("ghost")
    with pytest.raises(PlatformAPIError) as caught:
        await messenger.send_text(user("ghost"), "hi")
    assert caught.value.code == "invalid_staff_id"
    fake.flow_controlled.add("busy")
    with pytest.raises(TransientAPIError):
        await messenger.send_text(user("busy"), "hi")


async def test_rate_limit_is_retried(fake: FakeDingtalk, messenger: DingtalkMessenger) -> None:
    fake.fail_next(BATCH, 429, times=2, retry_after=0)
    await messenger.send_text(user("fin01"), "hi")
    assert len(fake.calls_to(BATCH)) == 3


async def test_persistent_rate_limit_surfaces_as_transient(
    fake: FakeDingtalk, messenger: DingtalkMessenger
) -> None:
    fake.fail_next(BATCH, 429, times=5)
    with pytest.raises(TransientAPIError) as caught:
        await messenger.send_text(user("fin01"), "hi")
    assert caught.value.http_status == 429


async def test_other_errors_carry_dingtalk_code(
    fake: FakeDingtalk, messenger: DingtalkMessenger
) -> None:
    fake.fail_next(BATCH, 400, code="param.error")
    with pytest.raises(PlatformAPIError) as caught:
        await messenger.send_text(user("fin01"), "hi")
    assert not isinstance(caught.value, TransientAPIError)
    assert caught.value.code == "param.error"


async def test_card_is_created_and_delivered_to_the_robot_chat(
    fake: FakeDingtalk, messenger: DingtalkMessenger
) -> None:
    ref = await messenger.send_card(user("zhaoliu"), "approval_request",
                                    sample("approval_request"), "zh-CN")
    [call] = fake.calls_to(CREATE)
    body = call.body
    assert body["outTrackId"] == ref["out_track_id"]
    assert body["cardTemplateId"] == "tpl-0001.schema"
    assert body["openSpaceId"] == "dtv1.card//IM_ROBOT.zhaoliu"
    assert body["callbackType"] == "STREAM"
    params = body["cardData"]["cardParamMap"]
    assert set(params) == set(VARIABLES)
    assert all(isinstance(v, str) for v in params.values())
    assert json.loads(params["buttons"])[0]["action"] == "approve:BX-2026-000123:4"


async def test_card_to_a_group(fake: FakeDingtalk, messenger: DingtalkMessenger) -> None:
    await messenger.send_card(Recipient("dingtalk", chat_id="cidG=="), "help", sample("help"),
                              "zh-CN")
    body = fake.calls_to(CREATE)[0].body
    assert body["openSpaceId"] == "dtv1.card//IM_GROUP.cidG=="
    assert body["imGroupOpenDeliverModel"]["robotCode"] == fake.client_id


async def test_failed_delivery_is_an_error_even_though_dingtalk_answered_200(
    fake: FakeDingtalk, messenger: DingtalkMessenger
) -> None:
    fake.undeliverable.add("outsider")
    with pytest.raises(PlatformAPIError) as caught:
        await messenger.send_card(user("outsider"), "help", sample("help"), "zh-CN")
    assert caught.value.code == "deliver_failed"
    assert "visible range" in caught.value.message


async def test_card_update_replaces_every_variable_of_that_copy(
    fake: FakeDingtalk, messenger: DingtalkMessenger
) -> None:
    ref = await messenger.send_card(user("zhaoliu"), "approval_request",
                                    sample("approval_request"), "zh-CN")
    new_ref = await messenger.update_card(ref, "approval_decided", sample("approval_decided"),
                                          "zh-CN")
    assert new_ref["out_track_id"] == ref["out_track_id"]
    [call] = fake.calls_to("/v1.0/card/instances")
    assert call.method == "PUT"
    assert call.body["cardUpdateOptions"]["updateCardDataByKey"] is True
    card = fake.cards[ref["out_track_id"]]["cardData"]["cardParamMap"]
    assert card["buttons"] == "[]"
    assert card["status"].startswith("已同意")


async def test_updating_an_unknown_card_is_a_platform_error(
    messenger: DingtalkMessenger,
) -> None:
    with pytest.raises(PlatformAPIError):
        await messenger.update_card({"out_track_id": "nope"}, "help", sample("help"), "zh-CN")


async def test_download_fetches_the_file_behind_a_download_code(
    fake: FakeDingtalk, messenger: DingtalkMessenger
) -> None:
    fake.files["dc-1"] = b"\xff\xd8jpeg"
    data, content_type = await messenger.download(FileRef("image", "dc-1", "msg1"))
    assert (data, content_type) == (b"\xff\xd8jpeg", "image/jpeg")
    [call] = fake.calls_to("/v1.0/robot/messageFiles/download")
    assert call.body == {"downloadCode": "dc-1", "robotCode": fake.client_id}


async def test_unknown_download_code_is_a_platform_error(messenger: DingtalkMessenger) -> None:
    with pytest.raises(PlatformAPIError):
        await messenger.download(FileRef("image", "missing"))


async def test_http_mode_cards_call_back_over_http_and_register_their_route(
    fake: FakeDingtalk, http: aiohttp.ClientSession, sink: RecordingSink
) -> None:
    platform = build_dingtalk(config_for(fake, mode="http", card_callback_token=CARD_TOKEN),
                              http, render_card, sink)
    await platform.messenger.send_card(user("u1"), "help", sample("help"), "zh-CN")
    body = fake.calls_to(CREATE)[0].body
    assert (body["callbackType"], body["callbackRouteKey"]) == ("HTTP", "claimbot")
    await platform.register_card_callback("https://claims.example.com/")
    [call] = fake.calls_to("/v1.0/card/callbacks/register")
    assert call.body["callbackUrl"] == f"https://claims.example.com/dingtalk/cards/{CARD_TOKEN}"


async def test_token_is_refreshed_before_it_expires(
    fake: FakeDingtalk, http: aiohttp.ClientSession
) -> None:
    fake.token_ttl = 2  # the cache keeps a token for half its life when it is this short
    api = DingtalkAPI(http, client_id=fake.client_id, client_secret=fake.client_secret,
                      base_url=fake.url, oapi_base_url=fake.url, sleep=no_sleep)
    body = {"userIds": ["u"], "msgParam": "{}"}
    await api.call("POST", BATCH, body)
    await asyncio.sleep(1.1)
    await api.call("POST", BATCH, body)
    assert len(fake.calls_to("/v1.0/oauth2/accessToken")) == 2
    assert [c.path for c in fake.calls].count(BATCH) == 2
