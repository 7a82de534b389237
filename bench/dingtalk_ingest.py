"""DingTalk ingest: robot messages per second over Stream and over ``/dingtalk/robot``.

Run ``.venv/bin/python bench/dingtalk_ingest.py``. The server is the real app (``create_app``)
on SQLite in a temp dir with a handler that does nothing, against the fake DingTalk.

- Stream: the fake gateway pushes robot frames as fast as it can; a frame costs parsing, the
  durable record and the ACK. Baseline, same run, same gateway: a bare WebSocket client that
  ACKs every frame unread. The figure is frames acknowledged per second.
- HTTP: signed robot callbacks, ``CONCURRENCY`` at a time (``bench/_load.py``'s client); a
  callback costs the HMAC check, parsing, the durable record and the answer. Baseline: a bare
  aiohttp handler answering 200. (``bench/ingest.py`` measures a running server instead.)
- decode only: the adapter's verify + parse in-process, without HTTP or storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import tempfile
import time

from _load import InProcess, Request, decode_rate, quiet_router, serve, unlimited
from aiohttp import ClientSession

from bot.app import create_app
from bot.config_model import Config, DingtalkConfig, StorageConfig
from bot.platforms.base import InboundRequest
from bot.platforms.dingtalk.inbound import DingtalkInbound
from cards import render_card
from tests.fakes.dingtalk import DingtalkSender, FakeDingtalk, robot_payload

ROUNDS = 3
MESSAGES = 1000  # per round
CONCURRENCY = 16
CARD_TOKEN = "bench-card-callback-token"


async def push_round(fake: FakeDingtalk, prefix: str) -> float:
    """Seconds from the first push until the gateway holds an ACK for every frame."""
    gateway = fake.gateway
    target = len(gateway.acks) + MESSAGES
    started = time.perf_counter()
    for n in range(MESSAGES):
        await fake.push_robot_message(robot_payload(f"报销 打车 {n}.5", msg_id=f"{prefix}-{n}"))
    async with gateway.changed:
        await asyncio.wait_for(gateway.changed.wait_for(lambda: len(gateway.acks) >= target), 60)
    return time.perf_counter() - started


async def bare_stream_client(http: ClientSession, fake: FakeDingtalk) -> None:
    body = {"clientId": fake.client_id, "clientSecret": fake.client_secret, "subscriptions": []}
    async with http.post(f"{fake.url}/v1.0/gateway/connections/open", json=body) as response:
        opened = await response.json()
    async with http.ws_connect(opened["endpoint"], params={"ticket": opened["ticket"]}) as ws:
        async for message in ws:
            message_id = json.loads(message.data)["headers"]["messageId"]
            ack = {"code": 200, "headers": {"messageId": message_id}, "message": "OK", "data": ""}
            await ws.send_str(json.dumps(ack))


async def stream_rates(fake: FakeDingtalk, tmp: str) -> tuple[float, float]:
    bare_rates, bot_rates = [], []
    async with ClientSession() as http:
        bare = asyncio.create_task(bare_stream_client(http, fake))
        await fake.wait_connected(1)
        for round_ in range(ROUNDS):
            bare_rates.append(MESSAGES / await push_round(fake, f"bare{round_}"))
        bare.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await bare
    storage = StorageConfig(url=f"sqlite:///{tmp}/stream.db")
    config = Config(server=unlimited(), storage=storage, dingtalk=settings(fake))
    runner, _ = await serve(create_app(config, router=quiet_router()))
    await fake.wait_connected(2)
    for round_ in range(ROUNDS):
        bot_rates.append(MESSAGES / await push_round(fake, f"bot{round_}"))
    await runner.cleanup()
    return statistics.median(bare_rates), statistics.median(bot_rates)


def settings(fake: FakeDingtalk, mode: str = "stream") -> DingtalkConfig:
    return DingtalkConfig(
        fake.client_id, fake.client_secret, mode=mode,  # type: ignore[arg-type]
        card_callback_token=CARD_TOKEN, base_url=fake.url, oapi_base_url=fake.url,
    )


def bodies(prefix: str) -> list[bytes]:
    return [json.dumps(robot_payload(f"报销 打车 {n}.5", msg_id=f"{prefix}-{n}")).encode()
            for n in range(MESSAGES)]


async def http_rates(fake: FakeDingtalk, sender: DingtalkSender, tmp: str) -> tuple[float, float]:
    config = Config(server=unlimited(), storage=StorageConfig(url=f"sqlite:///{tmp}/http.db"),
                    dingtalk=settings(fake, "http"))
    servers = await InProcess.start(create_app(config, router=quiet_router()), json_body=True)

    def batch(n: int) -> list[Request]:
        return [Request.post("/dingtalk/robot", sender.robot_headers(), body)
                for body in bodies(f"http{n}")]

    try:
        return await servers.peak(batch, ROUNDS, CONCURRENCY)
    finally:
        await servers.close()


async def main() -> None:
    fake = FakeDingtalk()
    await fake.start()
    sender = DingtalkSender(fake.client_id, fake.client_secret)
    with tempfile.TemporaryDirectory() as tmp:
        stream_bare, stream_bot = await stream_rates(fake, tmp)
        http_bare, http_bot = await http_rates(fake, sender, tmp)
    await fake.close()
    print(f"{MESSAGES} robot messages x {ROUNDS} rounds, median per round")
    print(f"{'Stream: bare ACK client':<34}{stream_bare:>10.0f} msg/s")
    print(f"{'Stream: claimbot (SQLite)':<34}{stream_bot:>10.0f} msg/s"
          f"   ratio {stream_bare / stream_bot:.1f}x")
    print(f"{'HTTP: bare aiohttp 200':<34}{http_bare:>10.0f} req/s   ({CONCURRENCY} concurrent)")
    print(f"{'HTTP: /dingtalk/robot (SQLite)':<34}{http_bot:>10.0f} req/s"
          f"   ratio {http_bare / http_bot:.1f}x")
    inbound = DingtalkInbound(client_secret=sender.client_secret, crypt=None, card_token="",
                              render=render_card)
    requests = [InboundRequest("POST", "/dingtalk/robot", sender.robot_headers(), {}, body)
                for body in bodies("decode")]
    print(f"{'decode only (in-process)':<34}{decode_rate(inbound.decode, requests):>10.0f} req/s")


if __name__ == "__main__":
    asyncio.run(main())
