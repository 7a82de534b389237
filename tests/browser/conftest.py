"""Headless Debian chromium driven by Playwright against a running demo.

The browser is the system's (``/usr/bin/chromium`` from the Debian package, or
``CLAIMBOT_CHROMIUM``); Playwright never downloads one. Without it these tests skip with the
reason — unless ``CLAIMBOT_REQUIRE_BROWSER=1`` (CI), where a missing browser fails them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.emulator.demo import build_demo

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str | None:
    wanted = os.environ.get("CLAIMBOT_CHROMIUM") or "/usr/bin/chromium"
    return wanted if Path(wanted).is_file() else shutil.which("chromium")


def missing_browser() -> str:
    """Why the browser tests cannot run here, or "" when they can."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if chromium_path() is None:
        return "no chromium: install Debian's package (apt-get install chromium)"
    return ""


@pytest.fixture
def browser_path() -> str:
    reason = missing_browser()
    if reason and os.environ.get("CLAIMBOT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CLAIMBOT_REQUIRE_BROWSER=1 but {reason}")
    if reason:
        pytest.skip(reason)
    path = chromium_path()
    assert path is not None
    return path


@pytest.fixture
async def demo_url(aiohttp_client: ClientMaker, tmp_path: Path) -> AsyncIterator[str]:
    app, _, emulator = await build_demo(tmp_path, "127.0.0.1", 0)
    try:
        client = await aiohttp_client(app)
        await emulator.dingtalk.connected(within=10)
        yield str(client.make_url("/emulator"))
    finally:
        await emulator.close()


@pytest.fixture
async def page(browser_path: str, demo_url: str) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=browser_path, args=FLAGS)
        try:
            context = await browser.new_context(viewport={"width": 1680, "height": 1000},
                                                locale="zh-CN")
            context.set_default_timeout(20_000)
            yield await context.new_page()
        finally:
            await browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
