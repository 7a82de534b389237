"""Feishu ingest in-process: sealed events per second through ``/feishu/events`` vs a baseline.

Run ``.venv/bin/python bench/feishu_ingest.py``. The server is the real app (``create_app``) on
SQLite in a temp dir, in this process, with a handler that does nothing, so an event costs: read
the body, check the signature, decrypt (AES-256-CBC), check the token, parse, dedup and record it
durably, answer. The baseline, measured in the same run with the same client
(``bench/_load.py``), is a bare aiohttp handler answering an empty 200 to the same bodies; the
ratio says how many bare requests one event costs. Then both are driven at half the app's peak
rate (open loop) and the median and p90 acknowledgement latency printed. ``decode only`` is the
adapter's verify + decrypt + parse without HTTP or storage. ``bench/ingest.py`` measures a
running ``claimbot serve`` process instead.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile

from _load import InProcess, Request, Run, decode_rate, percentile, quiet_router, unlimited

from bot.app import create_app
from bot.config_model import Config, FeishuConfig, StorageConfig
from bot.platforms.base import InboundRequest
from bot.platforms.feishu.inbound import FeishuInbound
from cards import render_card
from tests.fakes.feishu import FakeFeishu, FeishuCallbacks

TOKEN, KEY = "bench-verification-token", "bench-encrypt-key"
ROUNDS = 3
EVENTS = 1000  # per round
CONCURRENCY = 16
PACED = 500  # events in the latency run


def sealed_messages(callbacks: FeishuCallbacks, count: int, start: int) -> list[Request]:
    sealed = (
        callbacks.seal(
            callbacks.message("ou_bench", {"text": f"报销 打车 {n}.5 昨天"}, message_id=f"om_{n}")
        )
        for n in range(start, start + count)
    )
    return [Request.post("/feishu/events", headers, body) for body, headers in sealed]


def decode_requests(callbacks: FeishuCallbacks) -> list[InboundRequest]:
    out = []
    for n in range(10**9, 10**9 + EVENTS):
        payload = callbacks.message("ou_bench", {"text": f"报销 打车 {n}.5"}, message_id=f"om_{n}")
        body, headers = callbacks.seal(payload)
        out.append(InboundRequest("POST", "/feishu/events",
                                  {k.lower(): v for k, v in headers.items()}, {}, body))
    return out


def milliseconds(run: Run) -> str:
    return (f"median {statistics.median(run.latencies) * 1000:6.2f} ms   "
            f"p90 {percentile(run.latencies, 0.9) * 1000:6.2f} ms")


async def main() -> None:
    callbacks = FeishuCallbacks(TOKEN, KEY)
    fake = FakeFeishu()
    await fake.start()
    feishu = FeishuConfig(fake.app_id, fake.app_secret, TOKEN, KEY, base_url=fake.url)
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(server=unlimited(), storage=StorageConfig(url=f"sqlite:///{tmp}/b.db"),
                        feishu=feishu)
        servers = await InProcess.start(create_app(config, router=quiet_router()))
        bare, bot = await servers.peak(
            lambda n: sealed_messages(callbacks, EVENTS, n * EVENTS), ROUNDS, CONCURRENCY)
        paced = sealed_messages(callbacks, PACED, ROUNDS * EVENTS)
        bare_latency = await servers.bare.paced(paced, bot / 2)
        bot_latency = await servers.bot.paced(paced, bot / 2)
        await servers.close()
    await fake.close()
    decode = decode_rate(FeishuInbound(feishu, render_card).decode, decode_requests(callbacks))
    print(f"{EVENTS} events x {ROUNDS} rounds, {CONCURRENCY} concurrent, median per round")
    print(f"{'bare aiohttp 200':<30}{bare:>10.0f} req/s")
    print(f"{'/feishu/events (SQLite)':<30}{bot:>10.0f} req/s   ratio {bare / bot:.1f}x")
    print(f"{'decode only (in-process)':<30}{decode:>10.0f} req/s")
    print(f"ack latency at {bot / 2:.0f} req/s (half the peak), {PACED} events, open loop")
    print(f"{'bare aiohttp 200':<30}{milliseconds(bare_latency)}")
    print(f"{'/feishu/events (SQLite)':<30}{milliseconds(bot_latency)}")


if __name__ == "__main__":
    asyncio.run(main())
