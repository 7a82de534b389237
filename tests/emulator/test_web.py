"""The emulator's server side without a browser: the page and its assets, the state, live
events, refused actions, and that only the demo mounts any of it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.config_model import Config, StorageConfig
from tests.emulator.support import Demo, eventually

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]


async def test_the_page_and_its_assets_are_served(demo: Demo) -> None:
    page = await demo.client.get("/emulator")
    assert page.status == 200 and page.content_type == "text/html"
    html = await page.text()
    for asset in ("style.css", "cards.js", "app.js"):
        assert f"/emulator/static/{asset}" in html
        response = await demo.client.get(f"/emulator/static/{asset}")
        assert response.status == 200, asset
    assert (await demo.client.get("/emulator/static/app.js")).content_type == "text/javascript"


@pytest.mark.parametrize("name", ["nope.js", "..%2Fweb.py", ".hidden.css", "web.py", "index"])
async def test_only_the_shipped_assets_are_served(demo: Demo, name: str) -> None:
    assert (await demo.client.get(f"/emulator/static/{name}")).status == 404


async def test_state_lists_the_organisation_and_the_emulated_apis(demo: Demo) -> None:
    state = await (await demo.client.get("/emulator/api/state")).json()
    assert [p["name"] for p in state["people"]] == ["张三", "李四", "王五", "赵六"]
    assert state["people"][0]["ids"] == {"feishu": "ou_zhangsan", "wecom": "zhangsan",
                                         "dingtalk": "zhangsan"}
    assert set(state["apis"]) == {"feishu", "wecom", "dingtalk"}
    assert all(url.startswith("http://127.0.0.1:") for url in state["apis"].values())


async def test_the_server_is_configured_like_a_real_tenant(demo: Demo) -> None:
    config = demo.config
    assert config.feishu and config.wecom and config.dingtalk
    assert config.feishu.encrypt_key and config.feishu.mode == "webhook"
    assert config.dingtalk.mode == "stream"
    urls = demo.emulator.urls
    assert urls and (config.feishu.base_url, config.wecom.base_url) == (urls.feishu, urls.wecom)
    ready = await (await demo.client.get("/readyz")).json()
    assert ready["status"] == "ready" and ready["workers"]["dingtalk-stream"]["running"]


async def test_live_events_carry_new_messages(demo: Demo) -> None:
    async with demo.client.get("/emulator/api/events") as stream:
        assert stream.content_type == "text/event-stream"
        assert await stream.content.readline() == b": connected\n"
        await demo.say("wecom", "lisi", "帮助")
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(10):
            while not any(m["type"] == "entry" and m["data"]["sender"] == "bot" for m in seen):
                line = await stream.content.readline()
                if line.startswith(b"data: "):
                    seen.append(json.loads(line[6:]))
    mine = next(m["data"] for m in seen if m["type"] == "entry")
    assert (mine["platform"], mine["user"], mine["body"]) == ("wecom", "lisi", "帮助")
    assert any(m["type"] == "log" and m["data"]["direction"] == "callback" for m in seen)


@pytest.mark.parametrize(("action", "status"), [
    ({"platform": "slack", "user": "zhangsan", "type": "text", "text": "hi"}, 400),
    ({"platform": "feishu", "user": "nobody", "type": "text", "text": "hi"}, 400),
    ({"platform": "feishu", "user": "zhangsan", "type": "dance"}, 400),
    ({"platform": "feishu", "user": "zhangsan", "type": "click", "card": "feishu-lisi-c1"}, 404),
    ({"platform": "wecom", "user": "zhangsan", "type": "image", "data": "not base64!"}, 400),
    ({"platform": "wecom", "user": "zhangsan", "type": "image", "data": "AAAA",
      "content_type": "application/pdf"}, 400),
])
async def test_bad_actions_are_refused(demo: Demo, action: dict[str, Any], status: int) -> None:
    answer = await demo.act(expect=status, **action)
    assert answer["error"]


async def test_a_body_that_is_not_json_is_refused(demo: Demo) -> None:
    response = await demo.client.post("/emulator/api/act", data=b"{nope")
    assert response.status == 400


async def test_the_protocol_log_shows_decrypted_callbacks_and_api_calls(demo: Demo) -> None:
    await demo.say("feishu", "zhangsan", "帮助")
    log = demo.emulator.world.log
    await eventually(lambda: any(r["title"].startswith("POST /open-apis/im/v1/messages")
                                 for r in log))
    callback = next(r for r in log if r["direction"] == "callback")
    assert "encrypt" in callback["detail"]["body"]  # what went over the wire is sealed …
    sender = callback["detail"]["decrypted"]["event"]["sender"]  # … and the panel opens it
    assert sender["sender_id"]["open_id"] == "ou_zhangsan"
    assert "X-Lark-Signature" in callback["detail"]["headers"]


async def test_only_the_demo_mounts_the_emulator(
    aiohttp_client: ClientMaker, tmp_path: Path
) -> None:
    config = Config(storage=StorageConfig(url=f"sqlite:///{tmp_path / 'plain.db'}"))
    client = await aiohttp_client(create_app(config))
    for path in ("/emulator", "/emulator/api/state"):
        assert (await client.get(path)).status == 404
    assert (await client.post("/emulator/api/act", json={})).status in (404, 405)


async def test_the_page_load_verifies_each_callback_url_like_the_console(demo: Demo) -> None:
    state = await (await demo.client.get("/emulator/api/state")).json()
    assert state["verified"] == {"feishu": True, "wecom": True, "dingtalk": True}
    titles = [r["title"] for r in demo.emulator.world.log]
    assert "GET /wecom/callback (URL verification)" in titles
    again = await (await demo.client.get("/emulator/api/state")).json()
    assert [r["title"] for r in again["log"]].count("POST /feishu/events") == 1  # only once


async def test_settle_answers_once_the_bot_is_quiet(demo: Demo) -> None:
    await demo.say("dingtalk", "zhangsan", "报销 打车 45.5 昨天 去客户现场")
    answer = await (await demo.client.get("/emulator/api/settle?quiet=0.2&within=10")).json()
    assert answer == {"quiet": True}
    assert demo.cards("dingtalk", "zhangsan")
    assert (await demo.client.get("/emulator/api/settle?quiet=soon")).status == 400
