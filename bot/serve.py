"""Running the app: bind, say where, and shut down gracefully on SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import signal

from aiohttp import web

from bot.config_model import Config


async def serve(app: web.Application, config: Config, announce: str = "") -> None:
    """Start ``app``, print ``listening on http://HOST:PORT``, run until a stop signal."""
    runner = web.AppRunner(app, shutdown_timeout=config.server.shutdown_timeout,
                           handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.server.host, config.server.port)
        await site.start()
        host, port = _bound(runner, config)
        if announce:
            print(announce, flush=True)
        print(f"listening on http://{host}:{port}", flush=True)
        await _until_signalled()
    finally:
        # Stops accepting, lets in-flight requests finish (shutdown_timeout), then runs the
        # cleanup contexts: workers stop, queues are left consistent, storage closes.
        await runner.cleanup()


def _bound(runner: web.AppRunner, config: Config) -> tuple[str, int]:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return config.server.host, int(address[1])
    return config.server.host, config.server.port


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
