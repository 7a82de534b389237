"""Builds the adapters of the platforms the config enables; each is imported only when enabled."""

from __future__ import annotations

from aiohttp import ClientSession

from bot.config_model import Config
from bot.platforms.base import CardRenderer, EventSink, PlatformAdapter


def build_platforms(
    config: Config, http: ClientSession, render: CardRenderer, sink: EventSink
) -> dict[str, PlatformAdapter]:
    adapters: dict[str, PlatformAdapter] = {}
    if config.feishu is not None:
        from bot.platforms.feishu import build_feishu

        adapters["feishu"] = build_feishu(config.feishu, http, render, sink)
    if config.wecom is not None:
        from bot.platforms.wecom import build_wecom

        adapters["wecom"] = build_wecom(config.wecom, http, render, sink)
    if config.dingtalk is not None:
        from bot.platforms.dingtalk import build_dingtalk

        adapters["dingtalk"] = build_dingtalk(config.dingtalk, http, render, sink)
    return adapters
