"""``claimbot outbox list | retry ID | retry --all-dead | drop ID`` on a real SQLite file."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from storage import open_storage

ROOT = Path(__file__).resolve().parents[2]


def seed(db: Path) -> dict[str, str]:
    """Two live backend rows, two dead ones (one backend, one platform)."""

    async def run() -> dict[str, str]:
        storage = open_storage(f"sqlite:///{db}")
        await storage.open()
        ids = {
            "live": await storage.enqueue("backend", "BX-2026-000001",
                                          {"event": "submitted", "version": 3}),
            "live2": await storage.enqueue("backend", "BX-2026-000002",
                                           {"event": "approved", "version": 4}),
            "dead": await storage.enqueue("backend", "BX-2026-000003",
                                          {"event": "paid", "version": 5}),
            "dead2": await storage.enqueue("platform", "feishu:u1", {"kind": "text"}),
        }
        for leased in await storage.lease("backend", 10, 30):
            if leased.message.id == ids["dead"]:
                await storage.dead_letter(leased.receipt, "webhook: HTTP 422: 字段缺失")
            else:
                await storage.retry(leased.receipt, 0, "")
        [platform] = await storage.lease("platform", 1, 30)
        await storage.dead_letter(platform.receipt, "platform 'feishu' is not configured")
        await storage.close()
        return ids

    return asyncio.run(run())


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    db = tmp_path / "ops.db"
    config = tmp_path / "c.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{db}"\n', encoding="utf-8")
    return config, seed(db)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_list_live_and_dead(setup: tuple[Path, dict[str, str]],
                            capsys: pytest.CaptureFixture[str]) -> None:
    config, ids = setup
    code, out = run(capsys, "outbox", "-c", str(config), "list")
    assert code == 0
    assert ids["live"] in out
    assert "submitted v3" in out
    assert ids["dead"] not in out
    assert "backend: 2 live, 1 dead" in out
    code, out = run(capsys, "outbox", "-c", str(config), "list", "--dead", "--topic", "backend")
    assert ids["dead"] in out
    assert "HTTP 422: 字段缺失" in out
    assert ids["dead2"] not in out


def test_retry_one_then_all_dead(setup: tuple[Path, dict[str, str]],
                                 capsys: pytest.CaptureFixture[str]) -> None:
    config, ids = setup
    assert run(capsys, "outbox", "-c", str(config), "retry", ids["dead"]) == (
        0, f"requeued {ids['dead']}\n")
    code, out = run(capsys, "outbox", "-c", str(config), "retry", ids["dead"])
    assert code == 1
    assert "no dead-lettered row" in out
    code, out = run(capsys, "outbox", "-c", str(config), "retry", "--all-dead")
    assert (code, out) == (0, "requeued 1 dead-lettered row(s)\n")
    code, out = run(capsys, "outbox", "-c", str(config), "list")
    assert "backend: 3 live, 0 dead" in out
    assert "platform: 1 live, 0 dead" in out
    assert run(capsys, "outbox", "-c", str(config), "retry")[0] == 2


def test_drop(setup: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]) -> None:
    config, ids = setup
    assert run(capsys, "outbox", "-c", str(config), "drop", ids["live2"])[0] == 0
    code, out = run(capsys, "outbox", "-c", str(config), "drop", ids["live2"])
    assert (code, out) == (1, f"no row {ids['live2']}\n")
    assert "backend: 1 live, 1 dead" in run(capsys, "outbox", "-c", str(config), "list")[1]


def test_as_a_process_with_a_bad_config(tmp_path: Path,
                                        setup: tuple[Path, dict[str, str]]) -> None:
    config, ids = setup
    result = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "bot", "outbox", "-c", str(config), "list", "--dead"],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert ids["dead"] in result.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[storage]\nurl = "mysql://x"\n', encoding="utf-8")
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bot", "outbox", "-c", str(bad), "list"],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert result.returncode == 2
    assert "storage.url" in result.stderr
