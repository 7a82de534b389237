"""Outbound against the fake WeCom API: token cache, sends, card updates, errors, retries."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from bot.events import FileRef
from bot.platforms.base import PlatformAPIError, TransientAPIError
from bot.platforms.wecom.client import WecomClient
from bot.platforms.wecom.outbound import WecomMessenger, split_utf8
from bot.replies import Recipient
from cards import render_card
from cards.samples import sample
from tests.fakes.wecom import FakeWecom
from tests.wecom.conftest import AGENT_ID

LISI = Recipient("wecom", user_id="lisi")


# -- token ---------------------------------------------------------------------------------


async def test_one_token_serves_many_calls(fake: FakeWecom, client: WecomClient) -> None:
    await asyncio.gather(
        *(client.get("user/get", {"userid": "x"}) for _ in range(10)), return_exceptions=True
    )
    assert len(fake.calls_to("gettoken")) == 1


@pytest.mark.parametrize("errcode", [40001, 40014, 42001])
async def test_a_refused_token_is_refreshed_and_the_call_retried_once(
    fake: FakeWecom, messenger: WecomMessenger, errcode: int
) -> None:
    await messenger.send_text(LISI, "warm up")
    fake.fail("message/send", errcode, "token trouble")
    await messenger.send_text(LISI, "hello")
    assert len(fake.calls_to("gettoken")) == 2
    assert [c.body["text"]["content"] for c in fake.calls_to("message/send")] == [
        "warm up",
        "hello",
        "hello",
    ]


async def test_a_token_refused_twice_is_an_error(
    fake: FakeWecom, messenger: WecomMessenger
) -> None:
    fake.fail("message/send", 40014, "invalid access_token", times=2)
    with pytest.raises(PlatformAPIError) as caught:
        await messenger.send_text(LISI, "hello")
    assert caught.value.code == 40014
    assert len(fake.calls_to("message/send")) == 2


async def test_an_expired_token_is_refreshed_once_under_concurrency(
    fake: FakeWecom, messenger: WecomMessenger
) -> None:
    await messenger.send_text(LISI, "warm up")
    fake.expire_tokens()
    await asyncio.gather(*(messenger.send_text(LISI, f"m{i}") for i in range(20)))
    assert len(fake.calls_to("gettoken")) == 2
    assert len(fake.sent) == 21


async def test_the_token_is_refreshed_before_it_expires(
    fake: FakeWecom, http: aiohttp.ClientSession
) -> None:
    now = [1000.0]
    client = WecomClient(http, fake.url, fake.corp_id, fake.secret, clock=lambda: now[0])
    messenger = WecomMessenger(client, AGENT_ID, render_card)
    await messenger.send_text(LISI, "a")
    now[0] += 7200 - 300 - 1
    await messenger.send_text(LISI, "b")
    assert len(fake.calls_to("gettoken")) == 1
    now[0] += 2  # inside the 300 s margin: fetched anew before WeCom would expire it
    await messenger.send_text(LISI, "c")
    assert len(fake.calls_to("gettoken")) == 2
    assert not any(c.body and c.body.get("errcode") for c in fake.calls)


async def test_a_wrong_secret_is_a_typed_error(
    fake: FakeWecom, http: aiohttp.ClientSession
) -> None:
    client = WecomClient(http, fake.url, fake.corp_id, "wrong", backoff=0)
    with pytest.raises(PlatformAPIError) as caught:
        await client.get("user/get", {"userid": "x"})
    assert (caught.value.code, caught.value.message) == (40001, "invalid credential")


# -- errors and retries --------------------------------------------------------------------


async def test_rate_limits_are_retried(fake: FakeWecom, messenger: WecomMessenger) -> None:
    fake.fail("message/send", 45009, "api freq out of limit", times=2)
    await messenger.send_text(LISI, "hello")
    assert len(fake.calls_to("message/send")) == 3
    assert len(fake.sent) == 1


async def test_server_errors_are_retried(fake: FakeWecom, messenger: WecomMessenger) -> None:
    fake.fail("message/send", -1, "system busy", status=502)
    await messenger.send_text(LISI, "hello")
    assert len(fake.sent) == 1


async def test_rate_limits_that_persist_surface_as_transient(
    fake: FakeWecom, messenger: WecomMessenger
) -> None:
    fake.fail("message/send", 45009, "api freq out of limit", times=10)
    with pytest.raises(TransientAPIError) as caught:
        await messenger.send_text(LISI, "hello")
    assert caught.value.code == 45009
    assert len(fake.calls_to("message/send")) == 4


async def test_other_errcodes_are_typed_and_not_retried(
    fake: FakeWecom, messenger: WecomMessenger
) -> None:
    fake.fail("message/send", 60020, "not allow to access from your ip")
    with pytest.raises(PlatformAPIError) as caught:
        await messenger.send_text(LISI, "hello")
    assert not isinstance(caught.value, TransientAPIError)
    assert (caught.value.platform, caught.value.code) == ("wecom", 60020)
    assert caught.value.message == "not allow to access from your ip"
    assert len(fake.calls_to("message/send")) == 1


async def test_an_invalid_recipient_is_an_error(fake: FakeWecom, messenger: WecomMessenger) -> None:
    fake.invalid_users.add("gone")
    with pytest.raises(PlatformAPIError) as caught:
        await messenger.send_text(Recipient("wecom", user_id="gone"), "hello")
    assert caught.value.code == 81013


async def test_an_unreachable_server_is_transient(http: aiohttp.ClientSession) -> None:
    client = WecomClient(http, "http://127.0.0.1:9", "c", "s", backoff=0, attempts=2)
    with pytest.raises(TransientAPIError):
        await client.get("user/get", {"userid": "x"})


# -- sending -------------------------------------------------------------------------------


async def test_send_text(fake: FakeWecom, messenger: WecomMessenger) -> None:
    handles = await messenger.send_text(LISI, "你好")
    [sent] = fake.sent
    assert sent.body == {
        "touser": "lisi",
        "agentid": AGENT_ID,
        "msgtype": "text",
        "text": {"content": "你好"},
    }
    assert handles == {"user_id": "lisi", "msgid": sent.msgid}


async def test_long_text_is_split_by_utf8_bytes(fake: FakeWecom, messenger: WecomMessenger) -> None:
    text = "报销" * 700  # 4200 bytes
    await messenger.send_text(LISI, text)
    parts = [s.body["text"]["content"] for s in fake.sent]
    assert "".join(parts) == text
    assert all(len(p.encode()) <= 2048 for p in parts)


def test_split_never_cuts_a_character() -> None:
    assert split_utf8("ab你好", 4) == ["ab", "你", "好"]
    assert split_utf8("", 10) == [""]


async def test_send_markdown(fake: FakeWecom, messenger: WecomMessenger) -> None:
    await messenger.send_markdown(LISI, "**报销**")
    assert fake.sent[0].body["markdown"] == {"content": "**报销**"}


async def test_send_card(fake: FakeWecom, messenger: WecomMessenger) -> None:
    handles = await messenger.send_card(
        LISI, "approval_request", sample("approval_request"), "zh-CN"
    )
    [sent] = fake.sent
    card = sent.body["template_card"]
    assert (sent.body["touser"], sent.body["msgtype"]) == ("lisi", "template_card")
    assert card["card_type"] == "button_interaction"
    assert [b["key"] for b in card["button_list"]] == [
        "approve:BX-2026-000123:4?reason=",
        "reject:BX-2026-000123:4",
        "return:BX-2026-000123:4",
    ]
    assert handles["task_id"] == card["task_id"]
    assert handles["response_code"] == sent.response_code
    assert handles["user_id"] == "lisi"
    assert handles["code_at"].isdigit()


async def test_every_copy_gets_its_own_task_id(fake: FakeWecom, messenger: WecomMessenger) -> None:
    for user in ("lisi", "wangwu", "zhaoliu"):
        await messenger.send_card(
            Recipient("wecom", user_id=user),
            "approval_request",
            sample("approval_request"),
            "zh-CN",
        )
    assert len(fake.task_ids) == 3


async def test_a_card_without_buttons_is_sent_as_text(
    fake: FakeWecom, messenger: WecomMessenger
) -> None:
    handles = await messenger.send_card(LISI, "help", sample("help"), "zh-CN")
    assert fake.sent[0].body["msgtype"] == "text"
    assert "response_code" not in handles


async def test_a_card_for_an_app_chat_is_sent_as_text(
    fake: FakeWecom, messenger: WecomMessenger
) -> None:
    chat = Recipient("wecom", chat_id="finance-chat")
    handles = await messenger.send_card(chat, "finance_notice", sample("finance_notice"), "zh-CN")
    [sent] = fake.sent
    assert sent.body["chatid"] == "finance-chat"
    assert "BX-2026-000123" in sent.body["text"]["content"]
    assert handles == {"chat_id": "finance-chat"}


# -- updating ------------------------------------------------------------------------------


async def test_update_card_spends_the_response_code(
    fake: FakeWecom, messenger: WecomMessenger
) -> None:
    ref = await messenger.send_card(LISI, "approval_request", sample("approval_request"), "zh-CN")
    renewed = await messenger.update_card(
        ref, "approval_decided", sample("approval_decided"), "zh-CN"
    )
    [update] = fake.updates
    assert update["response_code"] == ref["response_code"]
    assert update["userids"] == ["lisi"]
    assert update["template_card"]["task_id"] == ref["task_id"]
    assert update["template_card"]["replace_text"] == "已同意"
    assert "response_code" not in renewed
    assert renewed["task_id"] == ref["task_id"]


async def test_updating_again_sends_a_fresh_card(
    fake: FakeWecom, messenger: WecomMessenger
) -> None:
    ref = await messenger.send_card(LISI, "claim_status", sample("claim_status"), "zh-CN")
    ref = await messenger.update_card(ref, "claim_status", sample("claim_status"), "zh-CN")
    ref = await messenger.update_card(ref, "claim_status", sample("claim_status"), "zh-CN")
    assert len(fake.updates) == 1
    assert len(fake.sent) == 2
    assert ref["response_code"] == fake.sent[-1].response_code


async def test_a_reused_code_is_refused_and_a_fresh_card_sent(
    fake: FakeWecom, messenger: WecomMessenger
) -> None:
    ref = await messenger.send_card(LISI, "claim_status", sample("claim_status"), "zh-CN")
    await messenger.update_card(ref, "claim_status", sample("claim_status"), "zh-CN")
    renewed = await messenger.update_card(ref, "claim_status", sample("claim_status"), "zh-CN")
    assert len(fake.calls_to("update_template_card")) == 2
    assert len(fake.updates) == 1
    assert renewed["response_code"] == fake.sent[-1].response_code


async def test_a_click_code_updates_the_clicked_copy(
    fake: FakeWecom, messenger: WecomMessenger
) -> None:
    ref = await messenger.send_card(LISI, "approval_request", sample("approval_request"), "zh-CN")
    clicked = {**ref, "response_code": fake.click_code(), "code_at": ref["code_at"]}
    await messenger.update_card(ref, "approval_decided", sample("approval_decided"), "zh-CN")
    await messenger.update_card(clicked, "approval_decided", sample("approval_decided"), "zh-CN")
    assert len(fake.updates) == 2
    assert len(fake.sent) == 1


async def test_an_expired_code_is_not_tried(fake: FakeWecom, messenger: WecomMessenger) -> None:
    ref = await messenger.send_card(LISI, "claim_status", sample("claim_status"), "zh-CN")
    old = {**ref, "code_at": str(int(ref["code_at"]) - 72 * 3600)}
    await messenger.update_card(old, "claim_status", sample("claim_status"), "zh-CN")
    assert fake.calls_to("update_template_card") == []
    assert len(fake.sent) == 2


async def test_update_rate_limits_are_retried_not_resent(
    fake: FakeWecom, messenger: WecomMessenger
) -> None:
    ref = await messenger.send_card(LISI, "claim_status", sample("claim_status"), "zh-CN")
    fake.fail("update_template_card", 45009, "api freq out of limit")
    await messenger.update_card(ref, "claim_status", sample("claim_status"), "zh-CN")
    assert len(fake.updates) == 1
    assert len(fake.sent) == 1


# -- media ---------------------------------------------------------------------------------


async def test_download_an_image(fake: FakeWecom, messenger: WecomMessenger) -> None:
    fake.add_media("MEDIA_1", b"\xff\xd8jpeg", "image/jpeg")
    data, kind = await messenger.download(FileRef("image", "MEDIA_1"))
    assert (data, kind) == (b"\xff\xd8jpeg", "image/jpeg")


async def test_a_json_error_from_media_get_is_not_an_image(
    fake: FakeWecom, messenger: WecomMessenger
) -> None:
    with pytest.raises(PlatformAPIError) as caught:
        await messenger.download(FileRef("image", "missing"))
    assert caught.value.code == 40007


async def test_media_get_refreshes_a_refused_token(
    fake: FakeWecom, messenger: WecomMessenger
) -> None:
    fake.add_media("M", b"img", "image/png")
    await messenger.download(FileRef("image", "M"))
    fake.expire_tokens()
    assert await messenger.download(FileRef("image", "M")) == (b"img", "image/png")
    assert len(fake.calls_to("gettoken")) == 2


async def test_request_bodies_are_utf8_json(fake: FakeWecom, messenger: WecomMessenger) -> None:
    await messenger.send_text(LISI, "报销")
    assert json.dumps(fake.calls_to("message/send")[0].body, ensure_ascii=False).count("报销") == 1
