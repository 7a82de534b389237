"""What the fault tests share: a real ``python -m bot serve`` subprocess, a throwaway
redis-server, a WeCom config pointing at the fake, and counting what the fake received.

Everything runs on loopback; every wait is bounded and fails with what it was waiting for.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fakes.wecom import FakeWecom, Sent, WecomCallbacks

ROOT = Path(__file__).resolve().parents[2]
CORP_ID = "ww_fault_corp"
TOKEN = "faultCallbackToken"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
AGENT_ID = 1000002
MANAGER, FINANCE = "lisi", "wangwu"
DRAFT_TITLE = "报销单草稿"
# Every child process a fault test starts, so conftest.py can end what a failed test left.
CHILDREN: list[asyncio.subprocess.Process] = []


def config_text(storage_url: str, fake_url: str, secret: str, port: int) -> str:
    """One platform (WeCom, at the fake), a two-step route: manager, then finance."""
    return f"""
[server]
host = "127.0.0.1"
port = {port}
log_level = "WARNING"
shutdown_timeout = 5.0

[storage]
url = "{storage_url}"

[wecom]
corp_id = "{CORP_ID}"
agent_id = {AGENT_ID}
secret = "{secret}"
token = "{TOKEN}"
encoding_aes_key = "{AES_KEY}"
base_url = "{fake_url}"

[company]
name = "示例科技有限公司"
tax_id = "91110000MA01ABCD1M"

[finance]
wecom = ["{FINANCE}"]

[[categories]]
code = "office"
name = "办公用品"
aliases = ["办公", "文具"]

[[approval.steps]]
name = "直属上级"
approver = "manager"

[[approval.steps]]
name = "财务审核"
approver = "finance"
"""


def write_config(directory: Path, storage_url: str, fake: FakeWecom, name: str = "c") -> Path:
    path = directory / f"{name}.toml"
    path.write_text(config_text(storage_url, fake.url, fake.secret, free_port()), encoding="utf-8")
    return path


def add_staff(fake: FakeWecom, applicants: list[str]) -> None:
    fake.add_department(2, "市场部", leaders=[MANAGER])
    fake.add_department(3, "财务部", leaders=[FINANCE])
    fake.add_user(MANAGER, "李四", departments=[2])
    fake.add_user(FINANCE, "王五", departments=[3])
    for user in applicants:
        fake.add_user(user, user, leaders=[MANAGER], departments=[2])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def until(check: Callable[[], Any], limit: float, what: str) -> Any:
    """Poll ``check`` until it is truthy; fail naming ``what`` after ``limit`` seconds."""
    try:
        async with asyncio.timeout(limit):
            while not (found := check()):  # noqa: ASYNC110 - polling what a fake recorded
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out after {limit:.0f}s waiting for {what}") from None
    return found


async def until_async(check: Callable[[], Any], limit: float, what: str) -> Any:
    try:
        async with asyncio.timeout(limit):
            while not (found := await check()):  # noqa: ASYNC110 - polling a server
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"timed out after {limit:.0f}s waiting for {what}") from None
    return found


@dataclass
class Server:
    """``python -m bot serve -c config`` as a child process, its stderr kept in a file."""

    config: Path
    log: Path
    process: asyncio.subprocess.Process | None = None
    url: str = ""

    async def start(self, limit: float = 30.0) -> str:
        assert self.process is None or self.process.returncode is not None
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "serve", "-c", str(self.config),
                cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        CHILDREN.append(self.process)
        assert self.process.stdout is not None
        try:
            async with asyncio.timeout(limit):
                while True:
                    line = (await self.process.stdout.readline()).decode()
                    if not line:
                        raise AssertionError(f"server exited before listening: {self.tail()}")
                    if line.startswith("listening on "):
                        self.url = line.split()[-1]
                        return self.url
        except TimeoutError:
            raise AssertionError(f"server did not listen: {self.tail()}") from None

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> int:
        """SIGTERM and wait; SIGKILL if it will not go."""
        if self.process is None or self.process.returncode is not None:
            return (self.process.returncode or 0) if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(20):
                return await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError("server did not stop on SIGTERM") from None

    async def wait(self) -> None:
        if self.process is not None:
            await self.process.wait()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class RedisServer:
    """A redis-server of our own on a spare loopback port, which the test may kill."""

    directory: Path
    port: int = field(default_factory=free_port)
    appendonly: bool = False
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        args = [
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(self.directory),
            "--appendonly",
            "yes" if self.appendonly else "no",
        ]
        self.process = await asyncio.create_subprocess_exec(
            binary, *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        CHILDREN.append(self.process)
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return
        raise AssertionError(f"redis-server did not listen on {self.port}")

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()


# -- what the fake saw ---------------------------------------------------------------------------
def cards(fake: FakeWecom, user: str = "") -> list[Sent]:
    return [
        s
        for s in fake.sent
        if s.body.get("msgtype") == "template_card" and (not user or s.body.get("touser") == user)
    ]


def title(sent: Sent) -> str:
    return str(sent.body["template_card"]["main_title"]["title"])


def claim_of(sent: Sent) -> str:
    """The claim a card is about, read from its buttons (``submit:BX-…:1``) or its text."""
    for button in sent.body["template_card"].get("button_list", []):
        parts = str(button.get("key", "")).split(":")
        if len(parts) >= 2 and parts[1].startswith("BX-"):
            return parts[1]
    text = json.dumps(sent.body, ensure_ascii=False)
    start = text.find("BX-")
    return text[start : start + 14] if start >= 0 else ""


def sends(fake: FakeWecom, user: str, heading: str) -> tuple[int, int]:
    """Cards titled ``heading`` sent to ``user``: (distinct sends, calls), counting every
    message/send that reached the fake, accepted or refused. A retry of one send keeps its
    task id (WeCom refuses the repeat); a second send of the same card has a task id of its
    own, so the fake's refusal of a repeated task id cannot hide one."""
    task_ids: list[str] = []
    for call in fake.calls_to("message/send"):
        body = call.body if isinstance(call.body, dict) else {}
        card = body.get("template_card") or {}
        got = str(card.get("main_title", {}).get("title", ""))
        if body.get("touser") == user and got.startswith(heading):
            task_ids.append(str(card.get("task_id", "")))
    return len(set(task_ids)), len(task_ids)


def duplicates(counter: Counter[str]) -> dict[str, int]:
    return {key: n for key, n in counter.items() if n != 1}


async def deliver(
    http: aiohttp.ClientSession, url: str, callbacks: WecomCallbacks, plaintext: str
) -> int:
    """POST one sealed callback; the HTTP status, or 0 when no answer came (server gone)."""
    try:
        status, _ = await callbacks.post(http, f"{url}/wecom/callback", plaintext)
    except (aiohttp.ClientError, OSError, TimeoutError):
        return 0
    return status


async def metric(http: aiohttp.ClientSession, url: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``, read from /metrics."""
    async with http.get(f"{url}/metrics") as response:
        text = await response.text()
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{key}="{want}"' in head for key, want in labels.items()):
            total += float(value)
    return total


async def open_store(storage_url: str) -> Any:
    from storage import open_storage

    store = open_storage(storage_url)
    await store.open()
    return store


async def drained(http: aiohttp.ClientSession, url: str) -> bool:
    """No live row in the inbound or platform queue, by the server's /metrics."""
    live = 0.0
    for topic in ("inbound", "platform"):
        live += await metric(http, url, "claimbot_queue_depth", topic=topic, state="live")
    return live == 0
