"""WeCom ingest in-process: encrypted callbacks per second through ``/wecom/callback``.

Run ``.venv/bin/python bench/wecom_ingest.py``. The server is the real app (``create_app``) on
SQLite in a temp dir, in this process, with a handler that does nothing, so a callback costs:
read the body, verify the signature, decrypt, parse the XML, record the event durably, answer.
The baseline, measured in the same run with the same client (``bench/_load.py``), is a bare
aiohttp handler answering an empty 200 to the same bodies; the ratio says how many bare requests
one callback costs. ``decode only`` is the adapter's verify + decrypt + parse in-process,
without HTTP or storage. ``bench/ingest.py`` measures a running ``claimbot serve`` instead.
"""

from __future__ import annotations

import asyncio
import tempfile
from urllib.parse import urlencode

from _load import InProcess, Request, decode_rate, quiet_router, unlimited

from bot.app import create_app
from bot.config_model import Config, StorageConfig, WecomConfig
from bot.platforms.base import InboundRequest
from bot.platforms.wecom.inbound import WecomInbound
from bot.platforms.wxcrypt import WXBizMsgCrypt
from cards import render_card
from tests.fakes.wecom import FakeWecom, WecomCallbacks

CORP_ID, TOKEN = "ww_bench_corp", "benchToken"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
ROUNDS = 3
CALLBACKS = 1000  # per round
CONCURRENCY = 16


def sealed_messages(
    callbacks: WecomCallbacks, count: int, start: int
) -> list[tuple[dict[str, str], bytes]]:
    return [
        callbacks.seal(callbacks.text("zhangsan", f"报销 打车 {n}.5 昨天", msg_id=str(n)))
        for n in range(start, start + count)
    ]


def requests(callbacks: WecomCallbacks, start: int) -> list[Request]:
    return [Request.post("/wecom/callback?" + urlencode(query), {"Content-Type": "text/xml"}, body)
            for query, body in sealed_messages(callbacks, CALLBACKS, start)]


async def main() -> None:
    callbacks = WecomCallbacks(TOKEN, AES_KEY, CORP_ID)
    fake = FakeWecom(corp_id=CORP_ID)
    await fake.start()
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(
            server=unlimited(),
            storage=StorageConfig(url=f"sqlite:///{tmp}/bench.db"),
            wecom=WecomConfig(CORP_ID, 1000002, fake.secret, TOKEN, AES_KEY, base_url=fake.url),
        )
        servers = await InProcess.start(create_app(config, router=quiet_router()))
        bare, bot = await servers.peak(lambda n: requests(callbacks, n * CALLBACKS), ROUNDS,
                                       CONCURRENCY)
        await servers.close()
    await fake.close()
    inbound = WecomInbound(WXBizMsgCrypt(TOKEN, AES_KEY, CORP_ID), CORP_ID, render_card)
    decode = decode_rate(inbound.decode, [
        InboundRequest("POST", "/wecom/callback", {}, query, body)
        for query, body in sealed_messages(callbacks, CALLBACKS, 10**9)
    ])
    print(f"{CALLBACKS} callbacks x {ROUNDS} rounds, {CONCURRENCY} concurrent, median per round")
    print(f"{'bare aiohttp 200':<28}{bare:>10.0f} req/s")
    print(f"{'/wecom/callback (SQLite)':<28}{bot:>10.0f} req/s   ratio {bare / bot:.1f}x")
    print(f"{'decode only (in-process)':<28}{decode:>10.0f} req/s")


if __name__ == "__main__":
    asyncio.run(main())
