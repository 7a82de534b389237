"""Metrics labels never carry a route's secret (DingTalk's card callback token is in its path)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.http import metrics_middleware
from bot.metrics import Metrics
from bot.ratelimit import EdgeLimits, RateLimiter, edge_middleware

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]
SECRET = "cardCallbackToken0123456789"


async def test_card_callback_token_is_not_a_metrics_label(aiohttp_client: ClientMaker) -> None:
    metrics = Metrics()
    limits = EdgeLimits(route=RateLimiter(0.001, 1))
    app = web.Application(middlewares=[metrics_middleware(metrics),
                                       edge_middleware(limits, metrics)])

    async def ok(request: web.Request) -> web.Response:
        return web.json_response({})

    app.router.add_post(f"/dingtalk/cards/{SECRET}", ok)
    client = await aiohttp_client(app)
    assert (await client.post(f"/dingtalk/cards/{SECRET}")).status == 200
    assert (await client.post(f"/dingtalk/cards/{SECRET}")).status == 429
    text = metrics.render().decode()
    assert SECRET not in text
    assert 'route="/dingtalk/cards/…",status="200"' in text
    assert 'claimbot_rate_limited_total{reason="route",route="/dingtalk/cards/…"} 1.0' in text
