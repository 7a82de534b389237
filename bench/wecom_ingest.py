"""WeCom ingest: encrypted callbacks per second through ``/wecom/callback``, against a baseline.

Run ``.venv/bin/python bench/wecom_ingest.py``. The server is the real app (``create_app``) on
SQLite in a temp dir, with a handler that does nothing, so a callback costs: read the body,
verify the signature, decrypt, parse the XML, record the event durably, answer. The baseline,
measured in the same run with the same client, is a bare aiohttp handler answering an empty 200
to the same bodies; the ratio says how many bare requests one callback costs. ``decode only`` is
the adapter's verify + decrypt + parse in-process, without HTTP or storage.
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
from bot.config_model import Config, ServerConfig, StorageConfig, WecomConfig
from bot.dispatcher import HandlerContext, Router
from bot.platforms.base import InboundRequest
from bot.platforms.wecom.inbound import WecomInbound
from bot.platforms.wxcrypt import WXBizMsgCrypt
from cards import render_card
from tests.fakes.wecom import FakeWecom, WecomCallbacks

UNLIMITED = ServerConfig(rate_limit_route=0, rate_limit_sender=0)  # measure capacity, not limits

CORP_ID, TOKEN = "ww_bench_corp", "benchToken"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
ROUNDS = 3
CALLBACKS = 1000  # per round
CONCURRENCY = 16

Sealed = list[tuple[dict[str, str], bytes]]


def sealed_messages(callbacks: WecomCallbacks, count: int, start: int) -> Sealed:
    return [
        callbacks.seal(callbacks.text("zhangsan", f"报销 打车 {n}.5 昨天", msg_id=str(n)))
        for n in range(start, start + count)
    ]


async def post_all(url: str, requests: Sealed) -> float:
    """Seconds to deliver every request, ``CONCURRENCY`` at a time; each must answer 200."""
    queue = list(reversed(requests))

    async def worker(http: ClientSession) -> None:
        while queue:
            query, body = queue.pop()
            async with http.post(url, params=query, data=body) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{url} answered {response.status}")

    async with ClientSession(connector=TCPConnector(limit=CONCURRENCY)) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(CONCURRENCY)))
        return time.perf_counter() - started


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
    app.router.add_post("/wecom/callback", ok)
    return app


def quiet_router() -> Router:
    router = Router()

    @router.message(lambda event: True)
    async def ignore(ctx: HandlerContext) -> None:
        return None

    return router


def decode_rate(callbacks: WecomCallbacks) -> float:
    inbound = WecomInbound(WXBizMsgCrypt(TOKEN, AES_KEY, CORP_ID), CORP_ID, render_card)
    requests = [
        InboundRequest("POST", "/wecom/callback", {}, query, body)
        for query, body in sealed_messages(callbacks, CALLBACKS, 10**9)
    ]
    started = time.perf_counter()
    for request in requests:
        inbound.decode(request)
    return CALLBACKS / (time.perf_counter() - started)


async def main() -> None:
    callbacks = WecomCallbacks(TOKEN, AES_KEY, CORP_ID)
    fake = FakeWecom(corp_id=CORP_ID)
    await fake.start()
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(
            server=UNLIMITED,
            storage=StorageConfig(url=f"sqlite:///{tmp}/bench.db"),
            wecom=WecomConfig(CORP_ID, 1000002, fake.secret, TOKEN, AES_KEY, base_url=fake.url),
        )
        bot_runner, bot_url = await serve(create_app(config, router=quiet_router()))
        bare_runner, bare_url = await serve(bare_app())
        bot_rates, bare_rates = [], []
        for round_ in range(ROUNDS):
            requests = sealed_messages(callbacks, CALLBACKS, round_ * CALLBACKS)
            bare_rates.append(CALLBACKS / await post_all(bare_url + "/wecom/callback", requests))
            bot_rates.append(CALLBACKS / await post_all(bot_url + "/wecom/callback", requests))
        await bot_runner.cleanup()
        await bare_runner.cleanup()
    await fake.close()
    bot, bare = statistics.median(bot_rates), statistics.median(bare_rates)
    print(f"{CALLBACKS} callbacks x {ROUNDS} rounds, {CONCURRENCY} concurrent, median per round")
    print(f"{'bare aiohttp 200':<28}{bare:>10.0f} req/s")
    print(f"{'/wecom/callback (SQLite)':<28}{bot:>10.0f} req/s   ratio {bare / bot:.1f}x")
    print(f"{'decode only (in-process)':<28}{decode_rate(callbacks):>10.0f} req/s")


if __name__ == "__main__":
    asyncio.run(main())
