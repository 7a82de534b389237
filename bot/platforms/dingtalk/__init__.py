"""The DingTalk adapter: Stream mode (default) or HTTP callbacks in, robot messages and cards out.

``build_dingtalk`` is the only constructor the app needs. In ``stream`` mode the adapter has no
routes and one worker, the Stream connection; in ``http`` mode it answers ``/dingtalk/robot``,
``/dingtalk/events`` (when the event token and AES key are set) and
``/dingtalk/cards/<card_callback_token>``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from bot.config_model import DingtalkConfig
from bot.platforms.base import CardRenderer, EventSink, Worker
from bot.platforms.dingtalk.api import DingtalkAPI
from bot.platforms.dingtalk.directory import DingtalkDirectory
from bot.platforms.dingtalk.inbound import CARDS_PREFIX, EVENTS_PATH, ROBOT_PATH, DingtalkInbound
from bot.platforms.dingtalk.outbound import DingtalkMessenger
from bot.platforms.dingtalk.stream import StreamClient, StreamSettings
from bot.platforms.wxcrypt import WXBizMsgCrypt, WXCryptError

__all__ = ["CARD_ROUTE_KEY", "DingtalkConfigError", "DingtalkPlatform", "build_dingtalk"]

CARD_BUDGET = 2.0  # seconds a card click may take before it is answered without a new card
CARD_ROUTE_KEY = "claimbot"  # callbackRouteKey of HTTP card callbacks
REREGISTER_EVERY = 6 * 3600.0


class DingtalkConfigError(ValueError):
    """A [dingtalk] section that cannot work; the message names the key."""


@dataclass(slots=True)
class DingtalkPlatform:
    """The :class:`~bot.platforms.base.PlatformAdapter` for DingTalk."""

    api: DingtalkAPI
    inbound: DingtalkInbound
    messenger: DingtalkMessenger
    directory: DingtalkDirectory
    stream: StreamClient | None = None
    routes: tuple[tuple[str, str], ...] = ()
    card_callback_path: str = ""
    public_url: str = ""
    name: str = "dingtalk"
    card_budget: float = CARD_BUDGET

    def workers(self) -> Mapping[str, Worker]:
        if self.stream is not None:
            return {"dingtalk-stream": self.stream.run}
        if self.card_callback_path and self.public_url:
            return {"dingtalk-card-callback": self._keep_card_callback_registered}
        return {}

    async def _keep_card_callback_registered(self) -> None:
        """Register at start and again now and then, which also heals a lost registration;
        a failure raises, so the supervisor retries with backoff and /readyz shows it."""
        while True:
            await self.register_card_callback(self.public_url)
            await asyncio.sleep(REREGISTER_EVERY)

    async def register_card_callback(self, public_url: str) -> None:
        """HTTP mode: point DingTalk's card callbacks at our route (safe to repeat)."""
        if not self.card_callback_path:
            raise DingtalkConfigError("card callbacks over HTTP need dingtalk.mode = 'http'")
        await self.api.call("POST", "/v1.0/card/callbacks/register", {
            "callbackRouteKey": CARD_ROUTE_KEY,
            "callbackUrl": public_url.rstrip("/") + self.card_callback_path,
            "apiSecret": self.card_callback_path.removeprefix(CARDS_PREFIX),
            "forceUpdate": True,
        })


def _event_crypt(config: DingtalkConfig) -> WXBizMsgCrypt | None:
    if not (config.event_token and config.event_aes_key):
        return None
    try:
        return WXBizMsgCrypt(config.event_token, config.event_aes_key, config.client_id)
    except WXCryptError as exc:
        raise DingtalkConfigError(f"dingtalk.event_aes_key: {exc}") from None


def build_dingtalk(
    config: DingtalkConfig,
    http: aiohttp.ClientSession,
    render: CardRenderer,
    sink: EventSink,
    public_url: str = "",
) -> DingtalkPlatform:
    """Raises :class:`DingtalkConfigError` for an http mode without ``card_callback_token``:
    card clicks would have nowhere to go, and a route without the token would be unguarded.
    In http mode with ``public_url`` (``[server] public_url``) the card callback route is
    registered with DingTalk by a supervised worker."""
    api = DingtalkAPI(
        http, client_id=config.client_id, client_secret=config.client_secret,
        base_url=config.base_url, oapi_base_url=config.oapi_base_url,
    )
    http_mode = config.mode == "http"
    if http_mode and len(config.card_callback_token) < 16:
        raise DingtalkConfigError(
            "dingtalk.card_callback_token: http mode needs an unguessable token "
            "of at least 16 characters for the card callback route"
        )
    crypt = _event_crypt(config)
    inbound = DingtalkInbound(
        client_secret=config.client_secret, crypt=crypt,
        card_token=config.card_callback_token if http_mode else "", render=render,
    )
    messenger = DingtalkMessenger(
        api, render, robot_code=config.client_id, card_template_id=config.card_template_id,
        callback_route_key=CARD_ROUTE_KEY if http_mode else "",
    )
    platform = DingtalkPlatform(api, inbound, messenger, DingtalkDirectory(api))
    if not http_mode:
        settings = StreamSettings(
            config.client_id, config.client_secret, config.base_url, card_budget=CARD_BUDGET
        )
        platform.stream = StreamClient(http, settings, sink, render)
        return platform
    platform.card_callback_path = CARDS_PREFIX + config.card_callback_token
    platform.public_url = public_url
    routes = [("POST", ROBOT_PATH), ("POST", platform.card_callback_path)]
    if crypt is not None:
        routes.insert(1, ("POST", EVENTS_PATH))
    platform.routes = tuple(routes)
    return platform
