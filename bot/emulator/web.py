"""The emulator's routes, mounted on the demo server only: the page at ``/emulator``, its state
and live events, the actions a person takes (each becomes a real, sealed platform callback sent
to this server's own routes or Stream connection), and the export of what was sent."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict
from importlib import resources
from typing import Any

import aiohttp
from aiohttp import web

from bot.emulator.drive_dingtalk import DingtalkDriver
from bot.emulator.drive_feishu import FeishuDriver
from bot.emulator.drive_wecom import WecomDriver
from bot.emulator.driver import Driver, Outcome, Target
from bot.emulator.org import PEOPLE, PLATFORMS, ApiUrls, Credentials, person
from bot.emulator.world import World

MAX_IMAGE_BYTES = 5 * 1024 * 1024
STATIC_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
                ".png": "image/png", ".svg": "image/svg+xml"}
KEEPALIVE = 15.0


class ActionError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Emulator:
    """The three fake open platforms, their drivers, and what the page shows."""

    def __init__(self, creds: Credentials) -> None:
        self.world = World()
        self.dingtalk = DingtalkDriver(self.world, creds)
        self.drivers: dict[str, Driver] = {
            "feishu": FeishuDriver(self.world, creds),
            "wecom": WecomDriver(self.world, creds),
            "dingtalk": self.dingtalk,
        }
        self.urls: ApiUrls | None = None
        self.http: aiohttp.ClientSession | None = None
        self.verified: dict[str, bool] | None = None
        self._verifying = asyncio.Lock()

    async def start(self) -> ApiUrls:
        started = {name: await driver.start() for name, driver in self.drivers.items()}
        self.urls = ApiUrls(started["feishu"], started["wecom"], started["dingtalk"])
        return self.urls

    async def close(self) -> None:
        for driver in self.drivers.values():
            await driver.close()

    async def verify_urls(self, server: str) -> dict[str, bool]:
        """Once per run, when the page first loads: each platform checks the callback URL (or
        the Stream connection) as its console does, and the panel shows how it went."""
        async with self._verifying:
            if self.verified is None and self.http is not None:
                target = Target(self.http, server)
                self.verified = {n: await d.handshake(target) for n, d in self.drivers.items()}
        return self.verified or {}

    async def act(self, server: str, action: Mapping[str, Any]) -> Outcome:
        """Do what a person did on the page; records it for export."""
        if self.http is None:
            raise ActionError(503, "the emulator is not running")
        platform, kind = str(action.get("platform")), str(action.get("type"))
        driver = self.drivers.get(platform)
        who = person(platform, next((p.user_id(platform) for p in PEOPLE
                                     if p.key == action.get("user")), ""))
        if driver is None or who is None:
            raise ActionError(400, "unknown platform or person")
        target = Target(self.http, server)
        if kind == "text":
            outcome = await driver.say(target, who, str(action.get("text", ""))[:2000])
        elif kind == "image":
            data, content_type = _image(action)
            outcome = await driver.image(target, who, data, content_type,
                                         str(action.get("name", "receipt.png")))
        elif kind == "click":
            card = self.world.entries.get(str(action.get("card")))
            if card is None or (card.platform, card.user, card.kind) != (platform, who.key, "card"):
                raise ActionError(404, "no such card in this window (yet)")
            form = action.get("form")
            outcome = await driver.click(target, who, card, action.get("value"),
                                         form if isinstance(form, dict) else None)
        else:
            raise ActionError(400, f"unknown action type {kind!r}")
        self.world.record(action, outcome.callback)
        return outcome


def _image(action: Mapping[str, Any]) -> tuple[bytes, str]:
    content_type = str(action.get("content_type", "image/png"))
    if not content_type.startswith("image/"):
        raise ActionError(400, "only images can be sent as receipts here")
    try:
        data = base64.b64decode(str(action.get("data", "")), validate=True)
    except binascii.Error as exc:
        raise ActionError(400, "image data is not base64") from exc
    if not data or len(data) > MAX_IMAGE_BYTES:
        raise ActionError(400, "image empty or larger than 5 MB")
    return data, content_type


EMULATOR = web.AppKey("emulator", Emulator)


def mount(app: web.Application, emulator: Emulator) -> None:
    """Add the emulator's routes to the (demo) server before it starts."""
    app[EMULATOR] = emulator
    app.router.add_get("/emulator", page)
    app.router.add_get("/emulator/", page)
    app.router.add_get("/emulator/static/{name}", static)
    app.router.add_get("/emulator/api/state", state)
    app.router.add_get("/emulator/api/events", events)
    app.router.add_post("/emulator/api/act", act)
    app.router.add_get("/emulator/api/export", export)
    app.router.add_get("/emulator/api/settle", settle)
    app.cleanup_ctx.append(_session_ctx)
    app.on_shutdown.append(_end_streams)


async def _session_ctx(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        app[EMULATOR].http = http
        yield
        app[EMULATOR].http = None


async def _end_streams(app: web.Application) -> None:
    app[EMULATOR].world.end_streams()


async def page(request: web.Request) -> web.Response:
    return _asset("index.html")


async def static(request: web.Request) -> web.Response:
    return _asset(request.match_info["name"])


def _asset(name: str) -> web.Response:
    suffix = name[name.rfind("."):] if "." in name else ""
    if "/" in name or "\\" in name or name.startswith(".") or suffix not in STATIC_TYPES:
        raise web.HTTPNotFound()
    file = resources.files("bot.emulator").joinpath("static", name)
    if not file.is_file():
        raise web.HTTPNotFound()
    return web.Response(body=file.read_bytes(), content_type=STATIC_TYPES[suffix],
                        charset="utf-8", headers={"Cache-Control": "no-cache"})


async def state(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR]
    people = [{"key": p.key, "name": p.name, "role": p.role,
               "ids": {n: p.user_id(n) for n in PLATFORMS}} for p in PEOPLE]
    urls = asdict(emulator.urls) if emulator.urls else {}
    try:
        verified = await emulator.verify_urls(_server_of(request))
    except (aiohttp.ClientError, TimeoutError):
        verified = {}
    return web.json_response({"platforms": list(PLATFORMS), "people": people, "apis": urls,
                              "verified": verified, **emulator.world.snapshot()})


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: every new or changed message, every protocol log line."""
    world = request.app[EMULATOR].world
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})
    await response.prepare(request)
    queue = world.subscribe()
    try:
        await response.write(b": connected\n\n")
        while True:
            try:
                message = await asyncio.wait_for(queue.get(), KEEPALIVE)
            except TimeoutError:
                await response.write(b": keepalive\n\n")
                continue
            if not message:  # the server is shutting down
                break
            await response.write(f"data: {message}\n\n".encode())
    except ConnectionResetError:
        pass
    finally:
        world.unsubscribe(queue)
    return response


async def act(request: web.Request) -> web.Response:
    try:
        action = await request.json()
    except ValueError:
        return web.json_response({"error": "the body is not JSON"}, status=400)
    if not isinstance(action, dict):
        return web.json_response({"error": "the body is not an object"}, status=400)
    try:
        outcome = await request.app[EMULATOR].act(_server_of(request), action)
    except ActionError as exc:
        return web.json_response({"error": str(exc)}, status=exc.status)
    except (aiohttp.ClientError, TimeoutError) as exc:
        message = f"the callback could not be delivered: {exc!r}"
        return web.json_response({"error": message}, status=502)
    return web.json_response(outcome.public())


def _server_of(request: web.Request) -> str:
    """This server's own address, as the page reached it: callbacks go back to it."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    host, port = "127.0.0.1", request.url.port or 80
    if isinstance(sockname, tuple) and len(sockname) >= 2:
        host, port = str(sockname[0]), int(sockname[1])
    if host in ("0.0.0.0", "::"):  # noqa: S104 - the wildcard is only read, never bound
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def settle(request: web.Request) -> web.Response:
    """Answers once the bot has stopped reacting (``quiet`` seconds without a change)."""
    try:
        quiet = min(float(request.query.get("quiet", "0.3")), 5.0)
        within = min(float(request.query.get("within", "10")), 60.0)
    except ValueError:
        return web.json_response({"error": "quiet and within are seconds"}, status=400)
    quieted = await request.app[EMULATOR].world.settle(quiet, within)
    return web.json_response({"quiet": quieted})


async def export(request: web.Request) -> web.Response:
    body = request.app[EMULATOR].world.export()
    return web.Response(text=body, content_type="application/x-ndjson", headers={
        "Content-Disposition": 'attachment; filename="claimbot-callbacks.jsonl"'})
