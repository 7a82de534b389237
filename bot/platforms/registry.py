"""The platforms a config enables: their fixed routes, and how to build each adapter.

Routes must be known before the app starts (aiohttp freezes its router), while adapters need
the app's HTTP session, so each platform is described by a factory. An adapter's module is
imported only when its platform is enabled, so a server pays only for the platforms it serves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import ClientSession

from bot.config_model import Config, DingtalkConfig, FeishuConfig, WecomConfig
from bot.platforms.base import CardRenderer, EventSink, PlatformAdapter

Build = Callable[[ClientSession, CardRenderer, EventSink], PlatformAdapter]


@dataclass(frozen=True, slots=True)
class PlatformFactory:
    name: str
    routes: tuple[tuple[str, str], ...]
    build: Build


def _feishu(config: FeishuConfig) -> PlatformFactory:
    def build(http: ClientSession, render: CardRenderer, sink: EventSink) -> PlatformAdapter:
        from bot.platforms.feishu import build_feishu

        return build_feishu(config, http, render, sink)

    routes = () if config.mode == "websocket" else (
        ("POST", "/feishu/events"), ("POST", "/feishu/cards"),
    )
    return PlatformFactory("feishu", routes, build)


def _wecom(config: WecomConfig) -> PlatformFactory:
    def build(http: ClientSession, render: CardRenderer, sink: EventSink) -> PlatformAdapter:
        from bot.platforms.wecom import build_wecom

        return build_wecom(config, http, render, sink)

    routes = (("GET", "/wecom/callback"), ("POST", "/wecom/callback"))
    return PlatformFactory("wecom", routes, build)


def _dingtalk(config: DingtalkConfig, public_url: str) -> PlatformFactory:
    def build(http: ClientSession, render: CardRenderer, sink: EventSink) -> PlatformAdapter:
        from bot.platforms.dingtalk import build_dingtalk

        return build_dingtalk(config, http, render, sink, public_url)

    routes: tuple[tuple[str, str], ...] = ()
    if config.mode == "http":
        routes = (("POST", "/dingtalk/robot"), ("POST", "/dingtalk/events"))
        if config.card_callback_token:
            routes += (("POST", f"/dingtalk/cards/{config.card_callback_token}"),)
    return PlatformFactory("dingtalk", routes, build)


def configured_platforms(config: Config) -> list[PlatformFactory]:
    factories = []
    if config.feishu is not None:
        factories.append(_feishu(config.feishu))
    if config.wecom is not None:
        factories.append(_wecom(config.wecom))
    if config.dingtalk is not None:
        factories.append(_dingtalk(config.dingtalk, config.server.public_url))
    return factories
