"""No secret, token or key reaches a log record at any level during a whole claim journey.

The records are captured raw, at DEBUG, before any handler's redacting filter: a secret that
only the filter hides is still a leak at its source. Two journeys: the loopback journey with a
webhook backend signing every sync, and WeCom through its real wire format, with an expired
token, rate-limit answers and failed sends on the way so the error paths log too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import traceback
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.config import secret_values
from bot.config_model import BackendConfig, Config, FeishuConfig, ServerConfig, WecomConfig
from bot.logs import QUIET_LOGGERS, quiet_libraries
from tests.backends.fake_webhook import FakeWebhookPeer
from tests.fakes.loopback import LoopDirectory, LoopPlatform, loop_factory
from tests.fakes.wecom import FakeWecom, WecomCallbacks
from tests.scenario.journey import DEPARTMENTS, USERS, Journey, journey_config
from tests.scenario.test_journey import test_one_line_claim_to_paid as loopback_journey
from tests.security.hostile import BACKEND_SECRET, CARD_PATH, NOWHERE, hostile_config
from tests.wecom.conftest import AES_KEY, AGENT_ID, CORP_ID, TOKEN
from tests.wecom.test_journey import EXAMPLE
from tests.wecom.test_journey import test_file_approve_and_pay as wecom_journey

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]
METRICS_TOKEN = "metrics-bearer-token-5f2a9c"
FEISHU = FeishuConfig("cli_leakcheck", "feishu-app-secret-7d1e", "feishu-verify-token-2b8c",
                      "feishu-encrypt-key-9a4f")  # fmt: skip


class Capture(logging.Handler):
    """Every record as text: the message with its arguments, and any traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        parts = [record.name, record.getMessage()]
        if record.exc_info and record.exc_info[1] is not None:
            parts.extend(traceback.format_exception(record.exc_info[1]))
        if record.stack_info:
            parts.append(record.stack_info)
        self.lines.append(" ".join(parts))


@pytest.fixture
def capture() -> Iterator[Capture]:
    """Everything at DEBUG, with only the library floors ``setup_logging`` sets."""
    handler = Capture()
    root = logging.getLogger()
    levels = {
        name: logger.level
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    previous = root.level
    for name in levels:
        logging.getLogger(name).setLevel(logging.NOTSET)
    quiet_libraries()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def leaks(lines: list[str], secrets: set[str]) -> dict[str, list[str]]:
    found = {s: [line[:300] for line in lines if s in line] for s in secrets if s}
    return {secret: where for secret, where in found.items() if where}


async def test_loopback_journey_with_a_signed_backend_logs_no_secret(
    aiohttp_client: ClientMaker, tmp_path: Path, capture: Capture
) -> None:
    peer = FakeWebhookPeer(secret="webhook-hmac-secret-3c7e")
    server = TestServer(peer.app(), port=0)
    await server.start_server()
    try:
        config = dataclasses.replace(
            journey_config(tmp_path),
            server=ServerConfig(metrics_token=METRICS_TOKEN),
            feishu=FEISHU,
            backend=BackendConfig("webhook", str(server.make_url("/hook")), peer.secret),
        )
        platform = LoopPlatform("feishu", directory=LoopDirectory(dict(USERS), dict(DEPARTMENTS)))
        app = create_app(config, platforms=[loop_factory(platform)])
        client = await aiohttp_client(app)
        await loopback_journey(Journey(client, platform))
        await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}x"})
        async with asyncio.timeout(10):
            while len(peer.applied) < 1:  # noqa: ASYNC110 - waiting for the sync worker
                await asyncio.sleep(0.02)
    finally:
        await server.close()
    secrets = set(secret_values(config))
    assert {peer.secret, METRICS_TOKEN, FEISHU.app_secret} <= secrets
    assert capture.lines, "nothing was logged: the capture is broken"
    assert leaks(capture.lines, secrets) == {}


async def test_wecom_journey_through_errors_logs_no_secret_or_token(
    aiohttp_client: ClientMaker, tmp_path: Path, capture: Capture
) -> None:
    fake = FakeWecom(corp_id=CORP_ID)
    await fake.start()
    try:
        config = _wecom_config(fake, tmp_path)
        client = await aiohttp_client(create_app(config))
        callbacks = WecomCallbacks(TOKEN, AES_KEY, CORP_ID, AGENT_ID)
        fake.fail("message/send", 45009, "api freq out of limit", times=2)
        fake.fail("message/send", 42001, "access_token expired", times=1)
        await wecom_journey(client, fake, callbacks)
        fake.expire_tokens()
        fake.fail("message/update_template_card", 500, "server error", times=1, status=502)
        await client.post("/wecom/callback", params={"msg_signature": "x"}, data=b"<xml/>")
        query, body = callbacks.seal(callbacks.text("zhangsan", "报销 打车 12 今天"))
        assert (await client.post("/wecom/callback", params=query, data=body)).status == 200
        async with asyncio.timeout(5):
            while len(fake.tokens) < 2:  # noqa: ASYNC110 - the token is refreshed after expiry
                await asyncio.sleep(0.02)
        issued = set(fake.tokens) | set(fake.codes)
    finally:
        await fake.close()
    secrets = set(secret_values(config)) | issued
    assert {fake.secret, TOKEN, AES_KEY} <= secrets and len(issued) >= 3
    assert capture.lines, "nothing was logged: the capture is broken"
    assert leaks(capture.lines, secrets) == {}


async def test_refused_requests_on_secret_paths_log_no_secret(
    tmp_path: Path, capture: Capture
) -> None:
    """Card callbacks (DingTalk) and Hesi messages are authenticated by a secret path segment;
    a refusal must not write that path into the log."""
    config = dataclasses.replace(
        hostile_config(tmp_path),
        backend=BackendConfig("webhook", NOWHERE + "/hook", BACKEND_SECRET,
                              callback_token="hesi-callback-token-0123456789"),
    )  # fmt: skip
    async with TestClient(TestServer(create_app(config))) as client:
        for path in (CARD_PATH, "/backend/hesi/hesi-callback-token-0123456789"):
            for body in (b"", b"{", b"[" * 5000, b'{"flowId": "x"}'):
                assert (await client.post(path, data=body)).status < 500
        assert (await client.post("/backend/webhook", data=b"{}")).status == 401
    assert capture.lines, "nothing was logged: the capture is broken"
    assert leaks(capture.lines, set(secret_values(config))) == {}


def _wecom_config(fake: FakeWecom, tmp_path: Path) -> Config:
    from bot.config import load_config
    from bot.config_model import StorageConfig

    fake.add_user("zhangsan", "张三", leaders=["lisi"], departments=[2])
    fake.add_user("lisi", "李四", departments=[2])
    fake.add_user("wangwu", "王五", departments=[3])
    fake.add_department(2, "市场部", leaders=["lisi"])
    fake.add_department(3, "财务部", leaders=["wangwu"])
    return dataclasses.replace(
        load_config(EXAMPLE, environ={}),
        server=ServerConfig(metrics_token=METRICS_TOKEN, log_level="DEBUG"),
        storage=StorageConfig(url=f"sqlite:///{tmp_path / 'journey.db'}"),
        wecom=WecomConfig(CORP_ID, AGENT_ID, fake.secret, TOKEN, AES_KEY, base_url=fake.url),
        feishu=None,
        dingtalk=None,
    )


def test_the_quiet_floors_are_what_setup_logging_applies() -> None:
    from bot.logs import setup_logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        setup_logging("text", "DEBUG", ["s3cret-value"])
        for name, floor in QUIET_LOGGERS.items():
            assert logging.getLogger(name).level == floor
        assert logging.getLogger("aiosqlite").isEnabledFor(logging.DEBUG) is False
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
