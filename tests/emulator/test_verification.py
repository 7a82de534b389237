"""The emulator's callbacks pass the adapters' real verification, and nothing else does: a
callback sealed with any other key is refused, as from a stranger on a real tenant."""

from __future__ import annotations

from bot.emulator.feishu_callbacks import FeishuCallbacks
from bot.emulator.wecom_callbacks import WecomCallbacks
from tests.emulator.support import Demo, eventually


async def test_feishu_refuses_a_callback_sealed_with_another_key(demo: Demo) -> None:
    feishu = demo.config.feishu
    assert feishu is not None
    for callbacks in (FeishuCallbacks(feishu.verification_token, "another-encrypt-key"),
                      FeishuCallbacks("another-token", "")):
        body, headers = callbacks.seal(callbacks.message("ou_zhangsan", {"text": "帮助"}))
        response = await demo.client.post("/feishu/events", data=body, headers=headers)
        assert response.status in (400, 401, 403), response.status
    assert not demo.texts("feishu", "zhangsan") and not demo.cards("feishu", "zhangsan")


async def test_feishu_accepts_the_emulators_own_seal(demo: Demo) -> None:
    feishu = demo.config.feishu
    assert feishu is not None
    callbacks = FeishuCallbacks(feishu.verification_token, feishu.encrypt_key,
                                app_id=feishu.app_id)
    body, headers = callbacks.seal(callbacks.message("ou_zhangsan", {"text": "帮助"}))
    assert (await demo.client.post("/feishu/events", data=body, headers=headers)).status == 200
    await eventually(lambda: demo.cards("feishu", "zhangsan"))


async def test_wecom_refuses_a_callback_signed_with_another_token(demo: Demo) -> None:
    wecom = demo.config.wecom
    assert wecom is not None
    stranger = WecomCallbacks("AnotherToken", wecom.encoding_aes_key, wecom.corp_id)
    query, body = stranger.seal(stranger.text("zhangsan", "帮助"))
    response = await demo.client.post("/wecom/callback", params=query, data=body)
    assert response.status in (400, 401, 403), response.status
    handshake, _ = stranger.verification()
    assert (await demo.client.get("/wecom/callback", params=handshake)).status != 200


async def test_wecom_url_verification_answers_the_emulators_handshake(demo: Demo) -> None:
    wecom = demo.config.wecom
    assert wecom is not None
    callbacks = WecomCallbacks(wecom.token, wecom.encoding_aes_key, wecom.corp_id)
    query, echo = callbacks.verification()
    response = await demo.client.get("/wecom/callback", params=query)
    assert (response.status, await response.text()) == (200, echo)


async def test_dingtalk_streams_with_its_credentials(demo: Demo) -> None:
    fake = demo.emulator.dingtalk.fake
    opened = fake.calls_to("/v1.0/gateway/connections/open")
    assert opened and opened[0].body["clientId"] == fake.client_id
    topics = {s["topic"] for s in fake.gateway.subscriptions}
    assert topics == {"/v1.0/im/bot/messages/get", "/v1.0/card/instances/callback"}
    await demo.say("dingtalk", "zhangsan", "帮助")
    assert all(a[0]["code"] == 200 for a in fake.gateway.acks.values())
