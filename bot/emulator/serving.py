"""Running one fake platform's aiohttp app on a local port (ephemeral by default)."""

from __future__ import annotations

from aiohttp import web


class LocalServer:
    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None

    async def serve(self, app: web.Application, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving ``app`` and return its base URL."""
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = self._runner.addresses[0]
        return f"http://{host}:{bound[1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
