"""SQLite commit latency: WAL checkpoints in the background against checkpoints inside commits.

Run ``.venv/bin/python bench/wal.py``. Sixteen coroutines record inbound events (the write that
stands between a platform's callback and its 200) as fast as they can, ``OPS`` each per round,
on two stores side by side: ``background`` as shipped (storage.sqlite_checkpoint), ``in commit``
with the background checkpointer stopped and SQLite's own automatic checkpoint back at its
default of 1,000 pages, so the commit that crosses it copies the WAL into the database. Rounds
alternate between the two; the figures are over every call of every round: latency percentiles
of one write as its caller sees it, and writes per second (median round).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _load import machine, ms, percentile, table

from storage.sqlite import SqliteStorage

ROUNDS = 5
WRITERS = 16
OPS = 1500  # per writer per round
PAYLOAD = {"text": "报销 打车 45.5 昨天 去客户现场 " * 8, "user": "ou_zhangsan"}


async def open_store(path: Path, background: bool) -> SqliteStorage:
    store = SqliteStorage(str(path))
    await store.open()
    if not background:
        assert store._checkpointer is not None
        await store._checkpointer.close()
        store._checkpointer = None
        conn = store._conn
        assert conn is not None
        await conn.execute("PRAGMA wal_autocheckpoint = 1000")
    return store


async def one_round(store: SqliteStorage, tag: str) -> tuple[float, list[float]]:
    latencies: list[float] = []

    async def writer(w: int) -> None:
        for n in range(OPS):
            started = time.perf_counter()
            await store.put_inbound("feishu", f"{tag}-{w}-{n}", f"k{w}", PAYLOAD, 3600.0)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    return WRITERS * OPS / (time.perf_counter() - started), latencies


async def main() -> None:
    print(f"machine: {machine()}")
    modes = ("background", "in commit")
    rates: dict[str, list[float]] = {m: [] for m in modes}
    latencies: dict[str, list[float]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        stores = {m: await open_store(Path(tmp) / f"{i}.db", m == "background")
                  for i, m in enumerate(modes)}
        try:
            for r in range(ROUNDS):
                for mode, store in stores.items():
                    rate, seen = await one_round(store, f"r{r}")
                    rates[mode].append(rate)
                    latencies[mode] += seen
        finally:
            for store in stores.values():
                await store.close()
    rows = []
    base = statistics.median(rates["in commit"])
    for mode in modes:
        seen = sorted(latencies[mode])
        rate = statistics.median(rates[mode])
        rows.append([mode, f"{rate:,.0f}", f"{rate / base:.2f}",
                     *(ms(percentile(seen, q)) for q in (0.5, 0.99, 0.999)), ms(seen[-1])])
    print(f"{WRITERS} writers x {OPS} inbound records x {ROUNDS} rounds per mode, alternating")
    print(table(["checkpoints", "writes/s", "ratio", "p50 ms", "p99 ms", "p99.9 ms", "max ms"],
                rows))


if __name__ == "__main__":
    asyncio.run(main())
