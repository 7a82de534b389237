"""Typed application keys: everything create_app wires is reachable through one of these."""

from __future__ import annotations

from aiohttp import ClientSession, web

from bot.config_model import Config
from bot.directory import OrgService
from bot.dispatcher import Dispatcher
from bot.http import AiohttpHandler
from bot.metrics import Metrics
from bot.pipeline import Pipeline
from bot.platforms.base import PlatformAdapter
from bot.workers.queue_loop import QueueLoop
from bot.workers.supervisor import Supervisor
from storage.base import Storage

CONFIG = web.AppKey("config", Config)
STORAGE = web.AppKey("storage", Storage)
METRICS = web.AppKey("metrics", Metrics)
HTTP = web.AppKey("http", ClientSession)
PLATFORMS = web.AppKey("platforms", dict[str, PlatformAdapter])
EDGES = web.AppKey("edges", dict[str, AiohttpHandler])
PIPELINE = web.AppKey("pipeline", Pipeline)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
ORGS = web.AppKey("orgs", dict[str, OrgService])  # per platform, with the [directory] file
SUPERVISOR = web.AppKey("supervisor", Supervisor)
LOOPS = web.AppKey("loops", dict[str, QueueLoop])
