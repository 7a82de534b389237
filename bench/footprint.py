"""Memory and start-up: RSS of an idle ``claimbot serve`` per platform, and time to ready.

Run ``.venv/bin/python bench/footprint.py``. Each configuration starts ``python -m bot serve``
(SQLite in a temp dir, against the emulator's fakes in a helper process) ``STARTS`` times;
reported are the medians of: seconds from spawn to the ``listening on`` line, to the first
``/readyz`` 200, and the RSS (VmRSS) one second after ready. The baseline, same run, is a bare
``python -c "import aiohttp"`` process. "feishu websocket" is Feishu in ``mode = "websocket"``,
connected to the emulator's fake long connection (``bot/emulator/feishu_longconn.py``) instead
of taking webhooks; its log is checked for failed connection attempts. Last, the same server on
a store seeded directly with 100,000 claims: RSS idle and after 200 "/mine" and "/todo" commands.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from _load import (
    PYTHON,
    Fakes,
    RawClient,
    Request,
    machine,
    rss_kib,
    seed_claims,
    server_toml,
    spawn,
    start_fakes,
    table,
    wait_ready,
)
from ingest import USERS

from bot.emulator.feishu_callbacks import FeishuCallbacks
from storage.sqlite import SqliteStorage

STARTS = 3
# name -> (platforms, Feishu's mode)
CONFIGS = {"feishu": (("feishu",), "webhook"),
           "feishu websocket": (("feishu",), "websocket"),
           "wecom": (("wecom",), "webhook"), "dingtalk": (("dingtalk",), "webhook"),
           "all three": (("feishu", "wecom", "dingtalk"), "webhook")}
CLAIMS = 100_000
CONNECT_FAILED = "feishu-ws: cannot connect"


async def one_start(config: Path, log: Path) -> tuple[float, float, int, int]:
    server = await spawn([PYTHON, "-m", "bot", "serve", "-c", str(config)], stderr=log)
    try:
        line, listening = await server.wait_line("listening on ")
        ready = listening + await wait_ready(line.removeprefix("listening on ").strip())
        await asyncio.sleep(1.0)
        return listening, ready, rss_kib(server.pid), server.pid
    finally:
        await server.stop()


async def baseline() -> int:
    bare = await spawn([PYTHON, "-c", "import aiohttp, sys; print('ready', flush=True); "
                        "sys.stdin.read()"], stdin=True)
    await bare.wait_line("ready")
    size = rss_kib(bare.pid)
    await bare.stop()
    return size


async def seeded(fakes: Fakes, tmp: Path) -> tuple[int, int, float]:
    """RSS idle on 100k claims, RSS after the list commands, and seconds to seed them."""
    database = tmp / "seeded.db"
    store = SqliteStorage(str(database))
    await store.open()
    started = time.perf_counter()
    await seed_claims(store, CLAIMS, (("ou_zhangsan", "ou_lisi"),))
    seeding = time.perf_counter() - started
    await store.close()
    config = tmp / "seeded.toml"
    config.write_text(server_toml(fakes.creds, fakes.urls, f"sqlite:///{database}",
                                  platforms=("feishu",)))
    server = await spawn([PYTHON, "-m", "bot", "serve", "-c", str(config)],
                         stderr=tmp / "seeded.log")
    try:
        line, _ = await server.wait_line("listening on ")
        url = line.removeprefix("listening on ").strip()
        await wait_ready(url)
        await asyncio.sleep(1.0)
        idle = rss_kib(server.pid)
        c = fakes.creds
        seal = FeishuCallbacks(c["feishu_token"], c["feishu_encrypt_key"],
                               app_id=c["feishu_app_id"], tenant_key="tenant-demo")
        client = RawClient.for_url(url)
        for n in range(200):
            user = f"ou_{USERS[n % 2]}"
            body, headers = seal.seal(seal.message(user, {"text": ("/mine", "/todo")[n % 2]},
                                                   message_id=f"om_fp_{n}"))
            await client.one(Request.post("/feishu/events", headers, body))
        await asyncio.sleep(3.0)  # the worker answers them
        client.close()
        return idle, rss_kib(server.pid), seeding
    finally:
        await server.stop()


async def main() -> None:
    started = time.perf_counter()
    print(f"machine: {machine()}")
    base = await baseline()
    fakes = await start_fakes()
    rows: list[list[object]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, (platforms, mode) in CONFIGS.items():
                samples = []
                log = Path(tmp) / f"{name}.log"
                for n in range(STARTS):
                    config = Path(tmp) / f"{name}-{n}.toml"
                    config.write_text(server_toml(fakes.creds, fakes.urls,
                                                  f"sqlite:///{tmp}/{name}-{n}.db",
                                                  platforms=platforms, feishu_mode=mode))
                    samples.append(await one_start(config, log))
                if CONNECT_FAILED in log.read_text():
                    raise RuntimeError(f"{name}: the long connection failed; see its log")
                listening = statistics.median(s[0] for s in samples)
                ready = statistics.median(s[1] for s in samples)
                rss = statistics.median(s[2] for s in samples)
                rows.append([name, f"{listening:.2f}", f"{ready:.2f}", f"{rss / 1024:.1f}",
                             f"{rss / base:.1f}x"])
            idle, after, seeding = await seeded(fakes, Path(tmp))
    finally:
        await fakes.process.stop()
    print(f"median of {STARTS} starts each; SQLite; baseline: python + aiohttp imported, "
          f"{base / 1024:.1f} MiB")
    print(table(["platforms", "to 'listening on' s", "to /readyz 200 s", "RSS idle MiB",
                 "RSS / baseline"], rows))
    print(f"{CLAIMS:,} claims (seeded in {seeding:.1f} s), Feishu only: RSS idle "
          f"{idle / 1024:.1f} MiB, after 200 /mine and /todo {after / 1024:.1f} MiB")
    print(f"took {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
