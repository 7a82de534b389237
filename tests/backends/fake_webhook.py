"""A company's webhook receiver as a test peer: it checks what a real one should, and records.

It verifies the timestamp window and the HMAC signature, applies each ``Idempotency-Key`` once
(a repeat gets 200 ``{"duplicate": true}``), keeps the order events were applied in, and can be
told to fail: ``down`` (503), ``script`` (statuses for the next calls), ``delay`` (slow answers,
for client timeouts), ``drop_after_apply`` (apply, then cut the connection before answering),
``hold`` (apply, then wait until released — for killing the sender mid-delivery).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.backends.signing import sign, signature_ok

WINDOW = 300


@dataclass
class Applied:
    key: str
    event: str
    claim_id: str
    version: int
    body: Any
    content_type: str


@dataclass
class FakeWebhookPeer:
    secret: str = "peer-secret"
    raw: bool = False  # True: keep the body as text (mapped XML), do not parse JSON
    applied: list[Applied] = field(default_factory=list)
    deliveries: int = 0
    duplicates: int = 0
    refused: list[str] = field(default_factory=list)
    down: bool = False
    script: list[int] = field(default_factory=list)
    retry_after: str = ""
    delay: float = 0.0
    drop_after_apply: int = 0  # how many of the next new keys to apply and then drop
    hold: bool = False
    released: asyncio.Event = field(default_factory=asyncio.Event)
    holding: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self.receive)
        return app

    @property
    def keys(self) -> list[str]:
        return [a.key for a in self.applied]

    async def receive(self, request: web.Request) -> web.StreamResponse:
        self.deliveries += 1
        body = await request.read()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            return web.json_response({"error": "maintenance"}, status=503)
        if self.script:
            status = self.script.pop(0)
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return web.json_response({"error": f"scripted {status}"}, status=status,
                                     headers=headers)
        problem = self._check(request, body)
        if problem:
            self.refused.append(problem)
            return web.json_response({"error": problem}, status=401)
        key = request.headers["Idempotency-Key"]
        if key in self.keys:
            self.duplicates += 1
            return web.json_response({"duplicate": True})
        self._apply(request, key, body)
        if self.drop_after_apply:
            self.drop_after_apply -= 1
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if self.hold:
            self.holding.set()
            await self.released.wait()
        return web.json_response({"applied": key})

    def _check(self, request: web.Request, body: bytes) -> str:
        timestamp = request.headers.get("X-Claimbot-Timestamp", "")
        signature = request.headers.get("X-Claimbot-Signature", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > WINDOW:
            return "stale or missing timestamp"
        if not signature_ok(self.secret, timestamp, body, signature):
            return "bad signature"
        if not request.headers.get("Idempotency-Key"):
            return "no Idempotency-Key"
        return ""

    def _apply(self, request: web.Request, key: str, body: bytes) -> None:
        claim_id, version, event = key.rsplit(":", 2)
        parsed: Any = body.decode("utf-8") if self.raw else json.loads(body)
        self.applied.append(Applied(key, event, claim_id, int(version), parsed,
                                    request.headers.get("Content-Type", "")))


def signed(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Headers a backend sends with a status update to ``POST /backend/webhook``."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {"Content-Type": "application/json", "X-Claimbot-Timestamp": stamp,
            "X-Claimbot-Signature": sign(secret, stamp, body)}
