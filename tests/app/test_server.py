"""The server end to end over HTTP, with a loopback platform and real SQLite."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.config_model import Config, ServerConfig, StorageConfig
from bot.dispatcher import HandlerContext, Router
from bot.events import CardActionEvent, MessageEvent
from bot.platforms.base import TransientAPIError
from bot.replies import InlineReply, Recipient, Text, Toast
from storage.base import StorageUnavailable
from tests.fakes.loopback import LoopPlatform, loop_factory

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]


def echo_router(calls: list[str]) -> Router:
    router = Router()

    @router.message(lambda e: True)
    async def echo(ctx: HandlerContext) -> None:
        assert isinstance(ctx.event, MessageEvent)
        calls.append(ctx.event.event_id)
        ctx.send(Text(Recipient("loop", user_id=ctx.event.actor.user_id), "echo:" + ctx.event.text))

    @router.card_action("ping")
    async def ping(ctx: HandlerContext) -> None:
        assert isinstance(ctx.event, CardActionEvent)
        calls.append(ctx.event.event_id)
        ctx.inline = InlineReply(toast=Toast("pong"), card_name="help")

    @router.card_action("slow")
    async def slow(ctx: HandlerContext) -> None:
        calls.append(ctx.event.event_id)
        await asyncio.sleep(0.5)
        ctx.send(Text(Recipient("loop", user_id="u1"), "slow done"))

    return router


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(
        server=ServerConfig(max_body_bytes=4096),
        storage=StorageConfig(url=f"sqlite:///{tmp_path / 'c.db'}"),
    )


@pytest.fixture
async def server(
    aiohttp_client: ClientMaker, config: Config
) -> tuple[TestClient[Any, Any], LoopPlatform, list[str]]:
    platform = LoopPlatform()
    calls: list[str] = []
    app = create_app(config, router=echo_router(calls), platforms=[loop_factory(platform)])
    return await aiohttp_client(app), platform, calls


async def test_healthz_and_readyz(server: Any) -> None:
    client, _, _ = server
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    body = await ready.json()
    assert ready.status == 200, body
    assert body["storage"] is True
    assert set(body["workers"]) == {"inbound", "platform"}


async def test_message_is_acknowledged_then_answered_once(server: Any) -> None:
    client, platform, calls = server
    payload = json.dumps({"id": "1", "user": "u1", "text": "hi"})
    first = await client.post("/loop/events", data=payload)
    assert first.status == 200
    assert (await first.json())["duplicate"] is False
    again = await client.post("/loop/events", data=payload)
    assert (await again.json())["duplicate"] is True
    await platform.messenger.wait_for(1)
    await asyncio.sleep(0.2)
    assert calls == ["m:1"]
    assert platform.messenger.sent == [{"kind": "text", "to": "loop:u:u1", "text": "echo:hi"}]


async def test_card_action_answers_inline(server: Any) -> None:
    client, _, calls = server
    response = await client.post("/loop/events", data=json.dumps(
        {"id": "c1", "user": "u1", "action": "ping:x"}))
    assert await response.json() == {"duplicate": False, "card": "help", "toast": "pong"}
    assert calls == ["a:c1"]


async def test_card_action_over_budget_still_applies_once(server: Any) -> None:
    client, platform, calls = server
    client.app[keys.PLATFORMS]["loop"].card_budget = 0.05
    response = await client.post("/loop/events", data=json.dumps(
        {"id": "s1", "user": "u1", "action": "slow:x"}))
    assert await response.json() == {"duplicate": False, "card": "", "toast": ""}
    await platform.messenger.wait_for(1)
    assert calls == ["a:s1"]


@pytest.mark.parametrize("body", [b"not json", b'{"id": 1}', b"[]"])
async def test_bad_input_is_refused_and_changes_nothing(server: Any, body: bytes) -> None:
    client, _, calls = server
    response = await client.post("/loop/events", data=body)
    assert response.status == 400
    depth = await client.app[keys.STORAGE].queue_depth()
    assert all(live == 0 and dead == 0 for live, dead in depth.values())
    assert calls == []


async def test_oversize_body_gets_413(server: Any) -> None:
    client, _, _ = server
    response = await client.post("/loop/events", data=b"x" * 5000)
    assert response.status == 413


async def test_storage_down_means_503_not_ack(server: Any, monkeypatch: Any) -> None:
    client, _, calls = server

    async def down(*args: Any, **kwargs: Any) -> None:
        raise StorageUnavailable("redis is gone")

    monkeypatch.setattr(client.app[keys.STORAGE], "put_inbound", down)
    response = await client.post("/loop/events", data=json.dumps(
        {"id": "9", "user": "u1", "text": "hi"}))
    assert response.status == 503
    assert calls == []


async def test_transient_send_failure_is_retried(server: Any) -> None:
    client, platform, _ = server
    platform.messenger.failures.append(TransientAPIError("loop", 429, "slow down", 429, 0.05))
    await client.post("/loop/events", data=json.dumps({"id": "r", "user": "u1", "text": "x"}))
    await platform.messenger.wait_for(1)
    assert platform.messenger.sent[0]["text"] == "echo:x"


async def test_metrics_expose_requests_events_and_queue(server: Any) -> None:
    client, platform, _ = server
    await client.post("/loop/events", data=json.dumps({"id": "m", "user": "u1", "text": "x"}))
    await platform.messenger.wait_for(1)
    text = await (await client.get("/metrics")).text()
    assert 'claimbot_http_requests_total{method="POST",route="/loop/events",status="200"}' in text
    assert 'claimbot_events_total{kind="MessageEvent",outcome="new",platform="loop"} 1.0' in text
    assert "claimbot_queue_depth" in text
    assert 'claimbot_worker_up{worker="inbound"} 1.0' in text
