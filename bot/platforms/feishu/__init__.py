"""The Feishu (Lark) adapter: webhook or long-connection events in, open-API calls out.

The long connection (``mode = "websocket"``) is our own aiohttp client: lark-oapi is not used.

Console setup this adapter expects: set both the Encrypt Key and the Verification Token;
subscribe ``im.message.receive_v1`` at ``/feishu/events`` and the new ``card.action.trigger``
callback (not the legacy card URL, which would double every click) at ``/feishu/cards``, or set
both to the long connection for ``mode = "websocket"``. Scopes: ``im:message`` (send, update,
read resources), ``im:message.p2p_msg:readonly``, ``im:message.group_at_msg:readonly``, and
contact read access covering users' leaders and departments and departments' leaders (e.g.
``contact:contact:readonly_as_app``), with the approvers inside the app's contact range.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

import aiohttp

from bot.config_model import FeishuConfig
from bot.platforms.base import (
    CardRenderer,
    Directory,
    EventSink,
    InboundAdapter,
    Messenger,
    PlatformAPIError,
    TransientAPIError,
    Worker,
)
from bot.platforms.feishu.api import FeishuAPI
from bot.platforms.feishu.directory import FeishuDirectory
from bot.platforms.feishu.inbound import FeishuInbound
from bot.platforms.feishu.longconn import LongConnection
from bot.platforms.feishu.outbound import FeishuMessenger

__all__ = ["FeishuPlatform", "build_feishu"]

log = logging.getLogger(__name__)
BOT_INFO = "/open-apis/bot/v3/info"


class FeishuPlatform:
    name: str = "feishu"
    routes: Sequence[tuple[str, str]] = (("POST", "/feishu/events"), ("POST", "/feishu/cards"))
    # Feishu allows 3 s for the whole callback, network included.
    card_budget: float = 2.0
    inbound: InboundAdapter
    messenger: Messenger
    directory: Directory

    def __init__(
        self,
        config: FeishuConfig,
        api: FeishuAPI,
        render: CardRenderer,
        sink: EventSink,
        *,
        identity_refresh: float = 6 * 3600.0,
    ) -> None:
        self.config = config
        if config.mode == "websocket":  # events arrive over the connection, not at a URL
            self.routes = ()
        self.api = api
        self.decoder = FeishuInbound(config, render)
        self.inbound = self.decoder
        self.messenger = FeishuMessenger(api, render)
        self.directory = FeishuDirectory(api)
        self._sink = sink
        self._identity_refresh = identity_refresh

    def workers(self) -> Mapping[str, Worker]:
        workers: dict[str, Worker] = {"feishu-identity": self.keep_identity}
        if self.config.mode == "websocket":
            connection = LongConnection(self.config, self.decoder, self._sink, self.card_budget)
            workers["feishu-ws"] = connection.run
        return workers

    async def identify(self) -> str:
        """Learn the bot's open_id, so its own @mention is recognised exactly."""
        answer = await self.api.call("GET", BOT_INFO)
        bot = answer.get("bot")
        open_id = bot.get("open_id") if isinstance(bot, dict) else None
        if isinstance(open_id, str) and open_id:
            self.decoder.bot_open_id = open_id
        return self.decoder.bot_open_id

    async def keep_identity(self) -> None:
        """Worker: identify now and every few hours (sooner again after a transient failure)."""
        while True:
            try:
                await self.identify()
                delay = self._identity_refresh
            except PlatformAPIError as exc:
                log.warning("feishu: cannot read the bot's identity: %s", exc)
                delay = 60.0 if isinstance(exc, TransientAPIError) else 3600.0
            await asyncio.sleep(delay)


def build_feishu(
    config: FeishuConfig, http: aiohttp.ClientSession, render: CardRenderer, sink: EventSink
) -> FeishuPlatform:
    return FeishuPlatform(config, FeishuAPI(http, config), render, sink)
