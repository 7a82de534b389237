"""``claimbot directory sync``: the file reloaded and checked against each platform's directory."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot import cli
from bot.app import create_app
from bot.config_model import DirectoryConfig
from bot.platforms.base import DirectoryUser
from tests.fakes.feishu import FakeFeishu
from tests.fakes.loopback import LoopDirectory, LoopPlatform, TransientAPIError, loop_factory
from tests.scenario.journey import DEPARTMENTS, USERS, Journey, journey_config

ROOT = Path(__file__).resolve().parents[2]
HR_CSV = (
    "user_id,name,manager_id,department_id,department_name,is_department_head\n"
    "ou_zhang,张三,ou_li,d1,市场部,false\n"
    "ou_li,李四,,d1,市场部,true\n"
    "ou_ghost,王五,ou_li,d1,市场部,false\n"
)


@pytest.fixture
async def feishu() -> AsyncIterator[FakeFeishu]:
    fake = FakeFeishu()
    await fake.start()
    fake.add_user("ou_zhang", "张三")
    fake.add_user("ou_li", "李四")
    yield fake
    await fake.close()


def write_config(tmp_path: Path, directory: str, feishu_url: str = "") -> Path:
    config = tmp_path / "config.toml"
    text = f'[storage]\nurl = "sqlite:///{tmp_path / "c.db"}"\n'
    if feishu_url:
        text += (
            f'[feishu]\napp_id = "cli_fake"\napp_secret = "fake-secret"\n'
            f'verification_token = "v"\nbase_url = "{feishu_url}"\n'
        )
    if directory:
        text += f'[directory]\nfile = "{directory}"\n'
    config.write_text(text, encoding="utf-8")
    return config


async def claimbot(*args: str) -> tuple[int, str, str]:
    """``python -m bot …`` as a real process, while the fake platform serves in this loop."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_sync_reports_who_the_platform_does_not_know(
    tmp_path: Path, feishu: FakeFeishu
) -> None:
    hr = tmp_path / "hr.csv"
    hr.write_text(HR_CSV, encoding="utf-8")
    code, out, err = await claimbot(
        "directory", "sync", "-c", str(write_config(tmp_path, str(hr), feishu.url))
    )
    assert code == 0, err
    assert out.strip() == (
        f"feishu: {hr}: 3 people, 1 departments; 3 checked, unknown to feishu: ou_ghost"
    )
    looked_up = {c.path.rsplit("/", 1)[-1] for c in feishu.calls_to("/contact/v3/users/")}
    assert looked_up == {"ou_zhang", "ou_li", "ou_ghost"}


async def test_a_malformed_file_exits_2_naming_the_line(tmp_path: Path) -> None:
    hr = tmp_path / "hr.csv"
    hr.write_text(HR_CSV + "ou_bad,坏,ou_li,d1\n", encoding="utf-8")
    code, out, err = await claimbot("directory", "sync", "-c", str(write_config(tmp_path, str(hr))))
    assert code == 2 and out == ""
    assert f"directory.file: {hr}:5: 4 fields, the header has 6" in err


async def test_no_file_configured_exits_2(tmp_path: Path) -> None:
    code, _, err = await claimbot("directory", "sync", "-c", str(write_config(tmp_path, "")))
    assert code == 2
    assert "[directory] file is not set" in err


async def test_a_file_without_platforms_still_loads(tmp_path: Path) -> None:
    hr = tmp_path / "hr.toml"
    hr.write_text('[[users]]\nuser_id = "a"\nmanager_id = "b"\n', encoding="utf-8")
    code, out, err = await claimbot("directory", "sync", "-c", str(write_config(tmp_path, str(hr))))
    assert (code, err) == (0, "")
    assert out.strip() == f"{hr}: loads; no platform is enabled to check it against"


class DownDirectory(LoopDirectory):
    async def get_user(self, user_id: str) -> DirectoryUser:
        raise TransientAPIError("loop", 503, "directory down")


@pytest.mark.parametrize(("directory", "code", "expected"), [
    (LoopDirectory({"ou_li": DirectoryUser("ou_li", "李四")}), 0,
     "3 checked, unknown to loop: ou_zhang, ou_ghost"),
    (DownDirectory(), 1, "loop: directory unavailable: "),
])
def test_each_platform_is_checked_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    directory: LoopDirectory, code: int, expected: str,
) -> None:
    hr = tmp_path / "hr.csv"
    hr.write_text(HR_CSV, encoding="utf-8")
    platform = LoopPlatform(directory=directory)
    monkeypatch.setattr("bot.platforms.registry.configured_platforms",
                        lambda config: [loop_factory(platform)])
    assert cli.main(["directory", "sync", "-c", str(write_config(tmp_path, str(hr)))]) == code
    captured = capsys.readouterr()
    assert expected in (captured.out if code == 0 else captured.err)


async def test_the_server_routes_by_the_file(
    tmp_path: Path, aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]]
) -> None:
    """The [directory] file lays over the platform's answer: zhangsan's manager is now wangwu."""
    hr = tmp_path / "hr.csv"
    hr.write_text("user_id,manager_id,platform\nzhangsan,wangwu,feishu\n", encoding="utf-8")
    config = replace(journey_config(tmp_path), directory=DirectoryConfig(file=str(hr)))
    platform = LoopPlatform("feishu", directory=LoopDirectory(dict(USERS), dict(DEPARTMENTS)))
    j = Journey(await aiohttp_client(create_app(config, platforms=[loop_factory(platform)])),
                platform)
    await j.say("zhangsan", "报销 打车 45.5 昨天 去客户现场")
    await j.settle()
    await j.click("zhangsan", j.last_card("zhangsan", "claim_draft")["data"]["actions"]["submit"])
    await j.settle()
    card = j.last_card("wangwu", "approval_request")
    assert card["data"]["claim"]["applicant"]["name"] == "张三"  # the platform's name stays
    assert j.sent("lisi", "card") == []
