"""``claimbot demo``: the real server on SQLite, every platform wired to the emulator.

The emulated open APIs listen on 127.0.0.1 (ephemeral ports); the server is configured against
them exactly as against the real platforms (base URLs, fresh random keys), DingTalk in Stream
mode. The page at ``/emulator`` is mounted on this server only in demo mode.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from aiohttp import web

from bot.config_model import Config
from bot.emulator.org import Credentials, demo_config
from bot.emulator.web import Emulator, mount


async def build_demo(data: Path, host: str, port: int) -> tuple[web.Application, Config, Emulator]:
    """The demo server (not started) and its running emulator; close the emulator after."""
    from bot.app import create_app

    creds = Credentials.fresh()
    emulator = Emulator(creds)
    urls = await emulator.start()
    config = demo_config(creds, urls, data / "claimbot.db", host, port)
    app = create_app(config)
    mount(app, emulator)
    return app, config, emulator


def announcement(config: Config, emulator: Emulator, data: Path) -> str:
    wildcard = config.server.host in ("0.0.0.0", "::")  # noqa: S104 - only compared
    host = "127.0.0.1" if wildcard else config.server.host
    apis = asdict(emulator.urls) if emulator.urls else {}
    page = (f"http://{host}:{config.server.port}/emulator" if config.server.port
            else "/emulator on the address below")
    return "\n".join([
        f"claimbot demo: SQLite at {data / 'claimbot.db'}",
        "emulated open platforms: " + ", ".join(f"{k} {v}" for k, v in apis.items()),
        f"emulator: {page}  (open this page)",
    ])


async def run_demo(data: Path, host: str, port: int) -> None:
    from bot.config import secret_values
    from bot.logs import setup_logging
    from bot.serve import serve

    app, config, emulator = await build_demo(data, host, port)
    setup_logging(config.server.log_format, config.server.log_level, secret_values(config))
    try:
        await serve(app, config, announcement(config, emulator, data))
    finally:
        await emulator.close()
