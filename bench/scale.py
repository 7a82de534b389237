"""Scale-out: one claimbot on Redis against two sharing it, the same callbacks split between them.

Run ``.venv/bin/python bench/scale.py`` (about 15 s; Redis at ``CLAIMBOT_BENCH_REDIS_URL``,
default ``redis://127.0.0.1:6379/11``, skipped if it does not answer). It starts the emulator's
fake platforms, a bare aiohttp 200 handler, and two ``python -m bot serve`` processes on the
same Redis database (all three platforms, DingTalk in HTTP mode, rate limits off). Per workload
(Feishu ``ack`` and ``filing``, the callbacks of ``bench/ingest.py``), rounds alternate:

Every round starts once both servers have worked off what earlier rounds queued.

- bare: ``CONCURRENCY`` connections to the bare handler;
- one instance: ``CONCURRENCY`` connections to the first server;
- two instances: ``CONCURRENCY / 2`` connections to each server at once (a round-robin
  balancer's share), the rate being all answers over the wall time of both.

It prints the median requests/s of each and the ratios: two instances over one, and each over
the bare handler. On a two-core machine the two servers, the load generator, the fakes and Redis
share the cores, so the figure shows what a second process adds when one is bound by Python's
GIL, not what a second machine would.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from _load import (
    REDIS_URL,
    RawClient,
    Request,
    Run,
    machine,
    median,
    redis_clear,
    redis_up,
    server_toml,
    start_bare,
    start_fakes,
    start_server,
    table,
    wait_drained,
)
from ingest import builders

ROUNDS = 5
EVENTS = 800  # per round
CONCURRENCY = 16
WORKLOADS = ("ack", "filing")


async def split(clients: list[RawClient], batch: list[Request]) -> float:
    """All of ``batch`` through ``clients`` at once, each its share of the connections;
    requests per second over the wall time of the slowest."""
    share = len(batch) // len(clients)
    parts = [batch[n * share:(n + 1) * share] for n in range(len(clients))]
    started = time.perf_counter()
    runs: list[Run] = await asyncio.gather(*(
        client.saturate(part, CONCURRENCY // len(clients)) for client, part in zip(
            clients, parts, strict=True)))
    for run in runs:
        if any(status != 200 for status in run.statuses):
            raise RuntimeError(f"non-200 answers: {run.statuses}")
    return sum(len(part) for part in parts) / (time.perf_counter() - started)


async def main() -> None:
    if not await redis_up():
        print(f"redis: skipped, nothing answers at {REDIS_URL}")
        return
    started = time.perf_counter()
    print(f"machine: {machine()}")
    await redis_clear()
    fakes = await start_fakes()
    bare_process, bare_url = await start_bare()
    servers, clients, urls = [], [], []
    rows: list[list[object]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in range(2):
                config = Path(tmp) / f"instance-{n}.toml"
                config.write_text(server_toml(fakes.creds, fakes.urls, REDIS_URL))
                server, url = await start_server(config, Path(tmp) / f"instance-{n}.log")
                servers.append(server)
                clients.append(RawClient.for_url(url))
                urls.append(url)
            bare = RawClient.for_url(bare_url)
            for index, workload in enumerate(WORKLOADS):
                build = builders(fakes, workload)["feishu"]
                rates: dict[str, list[float]] = {"bare": [], "one": [], "two": []}
                for round_ in range(ROUNDS):
                    first = (index * ROUNDS + round_) * 3 * EVENTS
                    batches = [[build(first + k * EVENTS + i) for i in range(EVENTS)]
                               for k in range(3)]
                    for kind, batch in zip(("bare", "one", "two"), batches, strict=True):
                        for url in urls:  # each round starts with no server still busy
                            await wait_drained(url)
                        if kind == "bare":
                            rates[kind].append((await bare.saturate(batch, CONCURRENCY)).rate)
                        else:
                            rates[kind].append(
                                await split(clients[:1] if kind == "one" else clients, batch))
                bare_rate, one, two = (median(rates[k]) for k in ("bare", "one", "two"))
                rows.append([f"feishu {workload} (Redis)", f"{bare_rate:,.0f}", f"{one:,.0f}",
                             f"{two:,.0f}", f"{two / one:.2f}", f"{one / bare_rate:.2f}",
                             f"{two / bare_rate:.2f}"])
            bare.close()
    finally:
        for client in clients:
            client.close()
        for server in servers:
            await server.stop()
        await bare_process.stop()
        await fakes.process.stop()
        await redis_clear()
    print(f"{EVENTS} callbacks x {ROUNDS} rounds, {CONCURRENCY} connections in all (median round)")
    print(table(["route", "bare req/s", "one instance", "two instances", "two / one",
                 "one / bare", "two / bare"], rows))
    print(f"took {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    asyncio.run(main())
