"""A server with every inbound route switched on, and how to tell that a request changed nothing.

All three platforms (Feishu encrypted webhook, WeCom, DingTalk in HTTP mode) and the signed
webhook backend are configured; their APIs point at a closed port, so nothing leaves the test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot import keys
from bot.config_model import (
    BackendConfig,
    Config,
    DingtalkConfig,
    FeishuConfig,
    StorageConfig,
    WecomConfig,
)
from tests.fakes.dingtalk import DingtalkSender
from tests.fakes.feishu import FeishuCallbacks
from tests.fakes.wecom import WecomCallbacks

NOWHERE = "http://127.0.0.1:9"
FEISHU = FeishuConfig("cli_hostile", "feishu-app-secret", "feishu-verify-token",
                      "feishu-encrypt-key", base_url=NOWHERE)  # fmt: skip
WECOM_CORP, WECOM_TOKEN = "ww_hostile_corp", "hostileToken"
WECOM_AES = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
WECOM = WecomConfig(WECOM_CORP, 1000002, "wecom-secret", WECOM_TOKEN, WECOM_AES, base_url=NOWHERE)
DING_TOKEN, DING_AES = "dingToken", "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7"
CARD_TOKEN = "card-callback-token-0123456789"
DINGTALK = DingtalkConfig(
    "dinghostileapp", "dingtalk-secret", mode="http", event_token=DING_TOKEN,
    event_aes_key=DING_AES, card_callback_token=CARD_TOKEN, base_url=NOWHERE,
    oapi_base_url=NOWHERE,
)  # fmt: skip
BACKEND_SECRET = "backend-webhook-secret"
CARD_PATH = f"/dingtalk/cards/{CARD_TOKEN}"

feishu_callbacks = FeishuCallbacks(FEISHU.verification_token, FEISHU.encrypt_key,
                                   app_id=FEISHU.app_id)  # fmt: skip
wecom_callbacks = WecomCallbacks(WECOM_TOKEN, WECOM_AES, WECOM_CORP, WECOM.agent_id)
dingtalk_sender = DingtalkSender(DINGTALK.client_id, DINGTALK.client_secret, DING_TOKEN, DING_AES)


def hostile_config(tmp_path: Path) -> Config:
    return Config(
        storage=StorageConfig(url=f"sqlite:///{tmp_path / 'hostile.db'}"),
        feishu=FEISHU,
        wecom=WECOM,
        dingtalk=DINGTALK,
        backend=BackendConfig("webhook", NOWHERE + "/hook", BACKEND_SECRET),
    )


@dataclass(frozen=True)
class State:
    """What a request that was refused, or carried no event, must leave as it found it."""

    events: float
    depth: tuple[tuple[str, tuple[int, int]], ...]
    claims: int


async def state(client: TestClient[Any, Any]) -> State:
    registry = client.app[keys.METRICS].registry
    events = sum(
        sample.value
        for metric in registry.collect()
        if metric.name == "claimbot_events"
        for sample in metric.samples
        if sample.name == "claimbot_events_total"
    )
    storage = client.app[keys.STORAGE]
    depth = tuple(sorted((await storage.queue_depth()).items()))
    claims = await storage.claims_by_date(date(2000, 1, 1), date(9998, 12, 31), limit=10_000)
    return State(events, depth, len(claims))


def sealed_feishu(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    return feishu_callbacks.seal(payload)


def feishu_message(text: str, user: str = "ou_alice") -> dict[str, Any]:
    return feishu_callbacks.message(user, {"text": text})


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()
