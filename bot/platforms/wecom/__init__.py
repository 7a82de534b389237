"""WeCom (企业微信) self-built app: encrypted XML callbacks in, template cards out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp

from bot.config_model import WecomConfig
from bot.platforms.base import CardRenderer, EventSink, Worker
from bot.platforms.wecom.client import WecomClient
from bot.platforms.wecom.directory import WecomDirectory
from bot.platforms.wecom.inbound import WecomInbound
from bot.platforms.wecom.outbound import WecomMessenger
from bot.platforms.wxcrypt import WXBizMsgCrypt

__all__ = ["WecomPlatform", "build_wecom"]

CALLBACK = "/wecom/callback"
CARD_BUDGET = 3.0  # WeCom waits 5 s for the answer, then retries; leave room for the rest


@dataclass(slots=True)
class WecomPlatform:
    inbound: WecomInbound
    messenger: WecomMessenger
    directory: WecomDirectory
    name: str = "wecom"
    routes: tuple[tuple[str, str], ...] = (("GET", CALLBACK), ("POST", CALLBACK))
    card_budget: float = CARD_BUDGET
    client: WecomClient | None = field(default=None, repr=False)

    def workers(self) -> Mapping[str, Worker]:
        return {}  # callbacks arrive over HTTP; nothing runs in the background


def build_wecom(
    config: WecomConfig, http: aiohttp.ClientSession, render: CardRenderer, sink: EventSink
) -> WecomPlatform:
    """``sink`` is unused: every WeCom event reaches us through the HTTP edge."""
    crypt = WXBizMsgCrypt(config.token, config.encoding_aes_key, config.corp_id)
    client = WecomClient(http, config.base_url, config.corp_id, config.secret)
    return WecomPlatform(
        inbound=WecomInbound(crypt, config.corp_id, render),
        messenger=WecomMessenger(client, config.agent_id, render),
        directory=WecomDirectory(client),
        client=client,
    )
