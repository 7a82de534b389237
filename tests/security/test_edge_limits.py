"""Rate limits, body limits and the metrics token at the HTTP edge."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.config_model import Config, ServerConfig, StorageConfig
from bot.ratelimit import RateLimiter
from tests.fakes.loopback import LoopPlatform, loop_factory

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]
TOKEN = "metrics-token-0123456789"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_spends_its_burst_then_refills_at_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(2.0, 3, clock=clock)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")  # another key has its own bucket
    clock.now += 0.5  # one token back
    assert [limiter.allow("a"), limiter.allow("a")] == [True, False]
    clock.now += 60  # refills only up to the burst
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]


def test_clock_going_backwards_grants_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(1.0, 1, clock=clock)
    assert limiter.allow("a")
    clock.now -= 50
    assert not limiter.allow("a")


def test_buckets_stay_bounded_idle_ones_go_first() -> None:
    clock = Clock()
    limiter = RateLimiter(1.0, 2, clock=clock, max_keys=3)
    for key in "abc":
        limiter.allow(key)
    clock.now += 10  # every bucket has refilled: forgetting them changes nothing
    limiter.allow("d")
    assert len(limiter) == 1
    for key in "efg":
        limiter.allow(key)
    assert len(limiter) == 3  # the least recently used ("d") made room
    assert limiter.allow("e") and not limiter.allow("e")  # its bucket was kept


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_limiter_refuses_a_meaningless_setting(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate must be"):
        RateLimiter(rate, burst)


async def client_for(
    aiohttp_client: ClientMaker, tmp_path: Path, **server: Any
) -> tuple[TestClient[Any, Any], LoopPlatform]:
    platform = LoopPlatform("feishu")
    config = Config(
        server=ServerConfig(**server),
        storage=StorageConfig(url=f"sqlite:///{tmp_path / 'edge.db'}"),
    )
    return await aiohttp_client(create_app(config, platforms=[loop_factory(platform)])), platform


def message(n: int, user: str = "zhangsan") -> str:
    return json.dumps({"id": f"m{n}", "user": user, "text": "帮助"})


async def limited_count(client: TestClient[Any, Any], **labels: str) -> float:
    metrics = client.app[keys.METRICS]
    value = metrics.registry.get_sample_value("claimbot_rate_limited_total", labels)
    return value or 0.0


async def test_a_flooding_sender_gets_429_before_anything_is_recorded(
    aiohttp_client: ClientMaker, tmp_path: Path
) -> None:
    client, _ = await client_for(
        aiohttp_client, tmp_path, rate_limit_sender=0.001, rate_limit_sender_burst=3
    )
    statuses = [
        (await client.post("/loop/events", data=message(n))).status for n in range(5)
    ]
    assert statuses == [200, 200, 200, 429, 429]
    other = await client.post("/loop/events", data=message(9, user="lisi"))
    assert other.status == 200
    assert await limited_count(client, route="/loop/events", reason="sender") == 2
    # The refused events were not recorded: delivered again later, they are new, not repeats.
    metrics = client.app[keys.METRICS].registry
    assert metrics.get_sample_value(
        "claimbot_events_total", {"platform": "feishu", "kind": "MessageEvent", "outcome": "new"}
    ) == 4


async def test_a_flooded_route_gets_429_before_decoding(
    aiohttp_client: ClientMaker, tmp_path: Path
) -> None:
    client, _ = await client_for(
        aiohttp_client, tmp_path, rate_limit_route=0.001, rate_limit_route_burst=2
    )
    first = [(await client.post("/loop/events", data=b"not json")).status for _ in range(3)]
    assert first == [400, 400, 429]
    limited = await client.post("/loop/events", data=b"not json")
    assert limited.status == 429 and limited.headers["Retry-After"] == "1"
    assert (await client.get("/healthz")).status == 200  # each route has its own bucket
    assert await limited_count(client, route="/loop/events", reason="route") == 2


async def test_zero_turns_the_limits_off(aiohttp_client: ClientMaker, tmp_path: Path) -> None:
    client, _ = await client_for(
        aiohttp_client, tmp_path, rate_limit_route=0, rate_limit_sender=0
    )
    for n in range(30):
        assert (await client.post("/loop/events", data=message(n))).status == 200


async def test_default_limits_do_not_touch_a_busy_user(
    aiohttp_client: ClientMaker, tmp_path: Path
) -> None:
    client, _ = await client_for(aiohttp_client, tmp_path)
    for n in range(120):
        assert (await client.post("/loop/events", data=message(n))).status == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
async def test_bodyless_routes_refuse_a_body(
    aiohttp_client: ClientMaker, tmp_path: Path, path: str
) -> None:
    client, _ = await client_for(aiohttp_client, tmp_path)
    response = await client.request("GET", path, data=b"x" * 10)
    assert response.status == 413


async def test_platform_routes_refuse_a_body_over_max_body_bytes(
    aiohttp_client: ClientMaker, tmp_path: Path
) -> None:
    client, _ = await client_for(aiohttp_client, tmp_path, max_body_bytes=2048)
    assert (await client.post("/loop/events", data=b"{" * 2049)).status == 413

    async def chunks() -> Any:  # no Content-Length: the bounded read still stops it
        for _ in range(5):
            yield b"x" * 1000

    assert (await client.post("/loop/events", data=chunks())).status == 413


async def test_metrics_open_without_a_token(aiohttp_client: ClientMaker, tmp_path: Path) -> None:
    client, _ = await client_for(aiohttp_client, tmp_path)
    assert (await client.get("/metrics")).status == 200


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 401),
        ("Bearer wrong-token-wrong-token", 401),
        (f"Basic {TOKEN}", 401),
        (f"Bearer {TOKEN}x", 401),
        (f"Bearer {TOKEN[:-1]}", 401),
        ("Bearer \udcff\udcfe", 401),
        (f"Bearer {TOKEN}", 200),
        (f"bearer  {TOKEN} ", 200),
    ],
)
async def test_metrics_token_is_required_when_set(
    aiohttp_client: ClientMaker, tmp_path: Path, header: str | None, status: int
) -> None:
    client, _ = await client_for(aiohttp_client, tmp_path, metrics_token=TOKEN)
    headers = {} if header is None else {"Authorization": header}
    try:
        response = await client.get("/metrics", headers=headers)
    except UnicodeEncodeError:
        pytest.skip("the client cannot send a non-UTF-8 header")
    assert response.status == status
    if status == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert b"claimbot_" not in await response.read()
    assert (await client.get("/healthz")).status == 200  # health stays open for probes


async def test_the_emulator_is_not_mounted_by_create_app(
    aiohttp_client: ClientMaker, tmp_path: Path
) -> None:
    """Only ``claimbot demo`` mounts /emulator; a served config never exposes it."""
    client, _ = await client_for(aiohttp_client, tmp_path)
    paths = {r.resource.canonical for r in client.app.router.routes() if r.resource is not None}
    assert not any(p.startswith("/emulator") for p in paths), paths
    assert (await client.get("/emulator")).status == 404
