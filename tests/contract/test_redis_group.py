"""Redis script calls in groups: calls that queue while one pipeline is out share the next, and
each still behaves as if it had been sent alone."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis.asyncio as aioredis

from storage.base import StorageError, StorageUnavailable
from storage.grouping import Outcome
from storage.redis import RedisStorage
from storage.redis_group import ScriptCall
from tests.contract.conftest import REDIS_URL
from tests.contract.support import BACKENDS, MakeStorage
from tests.redis_keys import delete_prefix

pytestmark = pytest.mark.parametrize("backend", [BACKENDS[1]], indirect=True)


class Counted:
    """Wraps a storage's group sender: records each group's size, and can hold groups back."""

    def __init__(self, storage: RedisStorage) -> None:
        self.sizes: list[int] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self._arrived = asyncio.Condition()
        self._send = storage._caller._submit
        storage._caller._submit = self

    async def __call__(self, calls: list[ScriptCall]) -> list[Outcome]:
        self.sizes.append(len(calls))
        async with self._arrived:
            self._arrived.notify_all()
        await self.gate.wait()
        return await self._send(calls)

    async def sending(self, groups: int) -> None:
        """Wait until ``groups`` groups have reached the sender."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.sizes) >= groups)


async def open_counted(make_storage: MakeStorage, **kw: Any) -> tuple[RedisStorage, Counted]:
    storage = await make_storage(**kw)
    assert isinstance(storage, RedisStorage)
    return storage, Counted(storage)


async def put(storage: RedisStorage, event_id: str) -> str | None:
    return await storage.put_inbound("feishu", event_id, f"chat:{event_id}", {"e": event_id}, 60)


async def inbound_rows(storage: RedisStorage) -> int:
    return (await storage.queue_depth())["inbound"][0]


async def test_concurrent_puts_are_each_recorded_once_in_few_pipelines(
    make_storage: MakeStorage,
) -> None:
    storage, counted = await open_counted(make_storage)
    results = await asyncio.gather(*(put(storage, f"ev{n}") for n in range(200)))
    assert all(r is not None for r in results)
    assert await inbound_rows(storage) == 200
    assert sum(counted.sizes) == 200 and len(counted.sizes) < 20, counted.sizes


async def test_duplicates_in_one_burst_are_recorded_once(make_storage: MakeStorage) -> None:
    storage, counted = await open_counted(make_storage)
    event_ids = [f"ev{n}" for n in range(60) for _ in range(3)]
    random.Random(7).shuffle(event_ids)
    results = await asyncio.gather(*(put(storage, e) for e in event_ids))
    kept: dict[str, int] = {}
    for event_id, result in zip(event_ids, results, strict=True):
        kept[event_id] = kept.get(event_id, 0) + (result is not None)
    assert kept == {f"ev{n}": 1 for n in range(60)}
    assert await inbound_rows(storage) == 60
    assert max(counted.sizes) > 3, counted.sizes  # repeats did share groups


async def test_a_failing_call_fails_alone_in_its_group(make_storage: MakeStorage) -> None:
    storage, counted = await open_counted(make_storage)
    async with redis_client() as client:  # the seen key of ev5 as a list: WRONGTYPE in the script
        await client.rpush(storage._seen_key("feishu", "ev5"), "not a timestamp")
    counted.gate.clear()
    first = asyncio.create_task(put(storage, "first"))
    await counted.sending(1)
    burst = asyncio.gather(*(put(storage, f"ev{n}") for n in range(10)), return_exceptions=True)
    await asyncio.sleep(0.01)
    counted.gate.set()
    results = await burst
    assert await first is not None
    assert counted.sizes == [1, 10]
    failed = results.pop(5)
    assert isinstance(failed, StorageError) and not isinstance(failed, StorageUnavailable)
    assert "WRONGTYPE" in str(failed)
    assert all(isinstance(r, str) for r in results), results
    with pytest.raises(StorageError, match="WRONGTYPE"):  # alone, it fails the same way
        await put(storage, "ev5")
    assert await inbound_rows(storage) == 10


async def test_a_call_cancelled_before_its_group_went_out_never_happens(
    make_storage: MakeStorage,
) -> None:
    storage, counted = await open_counted(make_storage)
    counted.gate.clear()
    first = asyncio.create_task(put(storage, "first"))
    await counted.sending(1)
    second = asyncio.create_task(put(storage, "second"))
    kept = asyncio.create_task(put(storage, "kept"))
    await asyncio.sleep(0.01)
    second.cancel()
    counted.gate.set()
    assert await first is not None and await kept is not None
    with pytest.raises(asyncio.CancelledError):
        await second
    assert counted.sizes == [1, 1]
    assert await inbound_rows(storage) == 2
    assert await put(storage, "second") is not None  # its event id was never marked seen


async def test_close_answers_every_queued_call_first(make_storage: MakeStorage) -> None:
    storage = await make_storage()
    assert isinstance(storage, RedisStorage)
    writes = [asyncio.create_task(storage.enqueue("platform", f"k{n}", {"n": n}))
              for n in range(200)]
    await asyncio.sleep(0)  # the calls are queued, most not yet sent
    await storage.close()
    assert all(isinstance(message_id, str) for message_id in await asyncio.gather(*writes))
    reopened = await make_storage()
    assert (await reopened.queue_depth())["platform"] == (200, 0)


async def test_calls_after_a_script_flush_load_their_scripts_again(
    make_storage: MakeStorage,
) -> None:
    storage, counted = await open_counted(make_storage)
    assert await put(storage, "warm") is not None  # PUT_INBOUND is loaded now
    counted.gate.clear()
    first = asyncio.create_task(put(storage, "first"))
    await counted.sending(2)
    async with redis_client() as client:
        await client.script_flush()
    burst = asyncio.gather(
        *(put(storage, f"ev{n}") for n in range(20)),
        *(storage.enqueue("backend", f"k{n}", {"n": n}) for n in range(5)),
        storage.mark_seen("feishu", "ev0", 60),  # a script this storage has never run
        storage.lease("backend", 10, 30),
    )
    await asyncio.sleep(0.01)
    counted.gate.set()
    *ids, seen, leased = await burst
    assert await first is not None
    assert all(isinstance(i, str) for i in ids)
    assert seen is False  # put_inbound of ev0 marked it
    assert isinstance(leased, list)
    assert await inbound_rows(storage) == 22
    assert counted.sizes == [1, 1, 27]


async def test_redis_unreachable_fails_every_caller_of_the_group(backend: str) -> None:
    prefix = f"claimbot-test:{uuid.uuid4().hex}:"
    async with Proxy() as proxy:
        storage = RedisStorage(proxy.url, prefix=prefix)
        await storage.open()
        try:
            counted = Counted(storage)
            assert await put(storage, "reachable") is not None
            counted.gate.clear()
            first = asyncio.create_task(put(storage, "first"))
            await counted.sending(2)
            burst = asyncio.gather(*(put(storage, f"ev{n}") for n in range(20)),
                                   return_exceptions=True)
            await asyncio.sleep(0.01)
            await proxy.stop()
            counted.gate.set()
            with pytest.raises(StorageUnavailable):
                await first
            results = await burst
            assert all(isinstance(r, StorageUnavailable) for r in results), results
            assert counted.sizes == [1, 1, 20]
        finally:
            await storage.close()
            await delete_prefix(prefix)


@contextlib.asynccontextmanager
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        await client.aclose()


class Proxy:
    """A TCP relay to the test Redis that can be taken away: after ``stop`` nothing answers."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self.url = ""

    async def __aenter__(self) -> Proxy:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        target = urlsplit(REDIS_URL)
        userinfo, at, _ = target.netloc.rpartition("@")
        self.url = urlunsplit(target._replace(netloc=f"{userinfo}{at}127.0.0.1:{port}"))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
        if self._server is not None:
            await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = urlsplit(REDIS_URL)
        up_reader, up_writer = await asyncio.open_connection(
            upstream.hostname or "127.0.0.1", upstream.port or 6379
        )
        self._writers += [writer, up_writer]
        await asyncio.gather(_copy(reader, up_writer), _copy(up_reader, writer))


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()
