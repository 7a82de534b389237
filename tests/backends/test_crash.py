"""The crash: a real ``python -m bot serve`` is SIGKILLed while deliveries are in flight (the
peer has applied them and not yet answered), then started again. Every event must reach the
peer, none applied twice (the repeats are absorbed by the idempotency key), none dead."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config_model import BackendConfig
from storage import open_storage
from tests.backends.fake_webhook import FakeWebhookPeer
from tests.backends.support import Flow, sync_config

ROOT = Path(__file__).resolve().parents[2]
CLAIMS = 12
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def seed(db: Path, tmp_path: Path) -> int:
    """12 claims submitted, approved and paid: 36 backend rows with their snapshots."""
    storage = open_storage(f"sqlite:///{db}")
    await storage.open()
    flow = Flow(storage, sync_config(tmp_path, BackendConfig("webhook", "http://x", "s")))
    for n in range(1, CLAIMS + 1):
        await flow.pay(await flow.approved(f"BX-2026-{n:06d}"))
    count = len(await storage.queue_rows("backend", dead=False, limit=1000))
    await storage.close()
    return count


def write_config(tmp_path: Path, db: Path, url: str) -> Path:
    config = tmp_path / "crash.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {free_port()}\n'
        f'[storage]\nurl = "sqlite:///{db}"\n'
        f'[backend]\nkind = "webhook"\nurl = "{url}"\nsecret = "peer-secret"\ntimeout = 2\n',
        encoding="utf-8",
    )
    return config


@pytest.fixture
async def server_process() -> AsyncIterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def start(config: Path, started: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "bot", "serve", "-c", str(config)], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    started.append(process)
    return process


async def until(condition: object, limit: float, what: str) -> float:
    began = time.monotonic()
    while time.monotonic() - began < limit:
        if condition():  # type: ignore[operator]
            return time.monotonic() - began
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_sigkill_mid_delivery_loses_nothing_and_applies_nothing_twice(
    tmp_path: Path, peer: tuple[FakeWebhookPeer, str],
    server_process: list[subprocess.Popen[bytes]],
) -> None:
    fake, url = peer
    db = tmp_path / "crash.db"
    total = await seed(db, tmp_path)
    config = write_config(tmp_path, db, url)
    fake.hold = True  # apply, then never answer: the server is killed waiting
    first = start(config, server_process)
    await until(lambda: fake.holding.is_set() and len(fake.applied) >= 3, 30, "first deliveries")
    await asyncio.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    in_flight = len(fake.applied)
    fake.hold = False
    fake.released.set()
    start(config, server_process)
    recovered = await until(lambda: len(fake.applied) == total, 60, "every event after restart")
    await asyncio.sleep(0.5)
    server_process[-1].send_signal(signal.SIGTERM)
    server_process[-1].wait(20)

    keys = fake.keys
    assert len(keys) == len(set(keys)) == total
    assert fake.duplicates >= in_flight  # the unanswered ones came again, and were absorbed
    per_claim: dict[str, list[str]] = defaultdict(list)
    for applied in fake.applied:
        per_claim[applied.claim_id].append(applied.event)
    assert all(events == ["submitted", "approved", "paid"] for events in per_claim.values())
    storage = open_storage(f"sqlite:///{db}")
    await storage.open()
    depth = await storage.queue_depth()
    await storage.close()
    assert depth["backend"] == (0, 0)
    print(f"\ncrash: {total} events; {in_flight} applied but unanswered at SIGKILL; all "
          f"delivered {recovered:.1f}s after restart; {fake.duplicates} repeats absorbed; "
          f"{fake.deliveries} deliveries in all")
