"""Export what was done on the page, replay it against a fresh demo: the same cards result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.emulator.demo import build_demo
from bot.emulator.replay import read_actions, replay, replay_file
from tests.emulator.support import Demo, eventually, has_button

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]


async def record_a_submission(demo: Demo, platform: str) -> str:
    await demo.say(platform, "zhangsan", "报销 打车 45.5 昨天 去客户现场")
    await eventually(lambda: demo.cards(platform, "zhangsan"))
    await demo.send_image(platform, "zhangsan")
    assert await demo.emulator.world.settle(0.3, 10)  # the receipt is on the draft
    draft = await eventually(lambda: [c for c in demo.cards(platform, "zhangsan")
                                      if has_button(c, "submit")])
    await demo.press(draft[-1], "submit")
    await eventually(lambda: demo.cards(platform, "lisi"))
    response = await demo.client.get("/emulator/api/export")
    assert response.headers["Content-Disposition"].endswith('.jsonl"')
    return await response.text()


@pytest.mark.parametrize("platform", ["feishu", "wecom", "dingtalk"])
async def test_replay_against_a_fresh_demo_reproduces_the_journey(
    demo: Demo, aiohttp_client: ClientMaker, tmp_path: Path, platform: str
) -> None:
    exported = tmp_path / "callbacks.jsonl"
    exported.write_text(await record_a_submission(demo, platform), encoding="utf-8")
    actions = read_actions(exported)
    assert [a["type"] for a in actions] == ["text", "image", "click"]

    (tmp_path / "fresh").mkdir()
    app, _, emulator = await build_demo(tmp_path / "fresh", "127.0.0.1", 0)
    try:
        client = await aiohttp_client(app)
        await emulator.dingtalk.connected(within=10)
        said: list[str] = []
        failed = await replay(actions, str(client.make_url("/")), 10, said.append)
        assert failed == 0, said
        await eventually(lambda: list(emulator.world.cards(platform, "lisi")))
    finally:
        await emulator.close()


async def test_every_exported_line_carries_the_decrypted_callback(demo: Demo) -> None:
    await demo.say("wecom", "zhangsan", "帮助")
    lines = demo.emulator.world.recorded
    assert lines[0]["callback"].startswith("<xml><ToUserName>")
    assert "帮助" in lines[0]["callback"]


async def test_a_broken_file_is_refused_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"platform": "feishu", "user": "zhangsan", "type": "text"}\n{oops\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:2"):
        read_actions(bad)
    assert await replay_file(bad, "http://127.0.0.1:9", 0) == 2
