"""Feishu ingest: sealed events per second through ``/feishu/events``, against a baseline.

Run ``.venv/bin/python bench/feishu_ingest.py``. The server is the real app (``create_app``) on
SQLite in a temp dir, with a handler that does nothing, so an event costs: read the body, check
the signature, decrypt (AES-256-CBC), check the token, parse, dedup and record it durably,
answer. The baseline, measured in the same run with the same client, is a bare aiohttp handler
answering an empty 200 to the same bodies; the ratio says how many bare requests one event
costs. Then both are driven at half the app's peak rate (open loop: requests start on schedule
whether or not earlier ones finished) and the median and p90 acknowledgement latency printed.
``decode only`` is the adapter's verify + decrypt + parse in-process, without HTTP or storage.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import ClientSession, TCPConnector, web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import create_app
from bot.config_model import Config, FeishuConfig, ServerConfig, StorageConfig
from bot.dispatcher import HandlerContext, Router
from bot.platforms.base import InboundRequest
from bot.platforms.feishu.inbound import FeishuInbound
from cards import render_card
from tests.fakes.feishu import FakeFeishu, FeishuCallbacks

UNLIMITED = ServerConfig(rate_limit_route=0, rate_limit_sender=0)  # measure capacity, not limits

TOKEN, KEY = "bench-verification-token", "bench-encrypt-key"
ROUNDS = 3
EVENTS = 1000  # per round
CONCURRENCY = 16
PACED = 500  # events in the latency run

Sealed = list[tuple[bytes, dict[str, str]]]


def sealed_messages(callbacks: FeishuCallbacks, count: int, start: int) -> Sealed:
    return [
        callbacks.seal(
            callbacks.message("ou_bench", {"text": f"报销 打车 {n}.5 昨天"}, message_id=f"om_{n}")
        )
        for n in range(start, start + count)
    ]


async def post_all(url: str, requests: Sealed) -> float:
    """Seconds to deliver every request, ``CONCURRENCY`` at a time; each must answer 200."""
    queue = list(reversed(requests))

    async def worker(http: ClientSession) -> None:
        while queue:
            body, headers = queue.pop()
            async with http.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{url} answered {response.status}")

    async with ClientSession(connector=TCPConnector(limit=CONCURRENCY)) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(CONCURRENCY)))
        return time.perf_counter() - started


async def paced_latencies(url: str, requests: Sealed, rate: float) -> list[float]:
    """Start one request every ``1/rate`` seconds; the seconds each took to be answered."""
    latencies: list[float] = []

    async def one(http: ClientSession, body: bytes, headers: dict[str, str]) -> None:
        started = time.perf_counter()
        async with http.post(url, data=body, headers=headers) as response:
            await response.read()
        latencies.append(time.perf_counter() - started)

    async with ClientSession(connector=TCPConnector(limit=0)) as http:
        start = time.perf_counter()
        tasks = []
        for n, (body, headers) in enumerate(requests):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(http, body, headers)))
        await asyncio.gather(*tasks)
    return latencies


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def bare_app() -> web.Application:
    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.Response()

    app = web.Application()
    app.router.add_post("/feishu/events", ok)
    return app


def quiet_router() -> Router:
    router = Router()

    @router.message(lambda event: True)
    async def ignore(ctx: HandlerContext) -> None:
        return None

    return router


def decode_rate(callbacks: FeishuCallbacks, config: FeishuConfig) -> float:
    inbound = FeishuInbound(config, render_card)
    requests = [
        InboundRequest("POST", "/feishu/events", {k.lower(): v for k, v in h.items()}, {}, body)
        for body, h in sealed_messages(callbacks, EVENTS, 10**9)
    ]
    started = time.perf_counter()
    for request in requests:
        inbound.decode(request)
    return EVENTS / (time.perf_counter() - started)


def milliseconds(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p90 = ordered[int(len(ordered) * 0.9)]
    return f"median {statistics.median(ordered) * 1000:6.2f} ms   p90 {p90 * 1000:6.2f} ms"


async def main() -> None:
    callbacks = FeishuCallbacks(TOKEN, KEY)
    fake = FakeFeishu()
    await fake.start()
    feishu = FeishuConfig(fake.app_id, fake.app_secret, TOKEN, KEY, base_url=fake.url)
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(
            server=UNLIMITED, storage=StorageConfig(url=f"sqlite:///{tmp}/bench.db"), feishu=feishu
        )
        bot_runner, bot_url = await serve(create_app(config, router=quiet_router()))
        bare_runner, bare_url = await serve(bare_app())
        bot_rates, bare_rates = [], []
        for round_ in range(ROUNDS):
            requests = sealed_messages(callbacks, EVENTS, round_ * EVENTS)
            bare_rates.append(EVENTS / await post_all(bare_url + "/feishu/events", requests))
            bot_rates.append(EVENTS / await post_all(bot_url + "/feishu/events", requests))
        bot, bare = statistics.median(bot_rates), statistics.median(bare_rates)
        paced = sealed_messages(callbacks, PACED, ROUNDS * EVENTS)
        bare_latency = await paced_latencies(bare_url + "/feishu/events", paced, bot / 2)
        bot_latency = await paced_latencies(bot_url + "/feishu/events", paced, bot / 2)
        await bot_runner.cleanup()
        await bare_runner.cleanup()
    await fake.close()
    print(f"{EVENTS} events x {ROUNDS} rounds, {CONCURRENCY} concurrent, median per round")
    print(f"{'bare aiohttp 200':<30}{bare:>10.0f} req/s")
    print(f"{'/feishu/events (SQLite)':<30}{bot:>10.0f} req/s   ratio {bare / bot:.1f}x")
    print(f"{'decode only (in-process)':<30}{decode_rate(callbacks, feishu):>10.0f} req/s")
    print(f"ack latency at {bot / 2:.0f} req/s (half the peak), {PACED} events, open loop")
    print(f"{'bare aiohttp 200':<30}{milliseconds(bare_latency)}")
    print(f"{'/feishu/events (SQLite)':<30}{milliseconds(bot_latency)}")


if __name__ == "__main__":
    asyncio.run(main())
