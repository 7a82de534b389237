"""Status changes the backend pushes to us: ``POST /backend/webhook`` and Hesi's messages.

``/backend/webhook`` takes JSON ``{"claim_id", "status": "paid" | "rejected" | "comment",
"comment", "reference"}`` signed like our own calls: ``X-Claimbot-Timestamp`` (unix seconds,
within five minutes of our clock) and ``X-Claimbot-Signature`` = hex HMAC-SHA256(secret,
timestamp + "." + body). A signature is accepted once (replays within the window are refused);
a sender that retries signs again. Answers: 200 applied/unchanged, 400 malformed, 401 unsigned,
forged or stale, 404 unknown claim, 409 replayed or not allowed now, 413 too large, 503 try later.

Hesi cannot sign its outbound messages, so they are accepted only on
``/backend/hesi/<callback_token>`` (an unguessable path) and only as a hint: the document is
read back from Hesi and its current state decides what happens. Duplicate or out-of-order
messages are therefore harmless.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from bot.backends.base import BackendError, TransientBackendError
from bot.backends.hesi import HesiBackend
from bot.backends.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_ok
from bot.config_model import Config
from bot.dispatcher import Dispatcher
from bot.events import Actor, CardActionEvent
from storage.base import Storage, StorageError
from storage.models import CLAIM_ID_PATTERN

log = logging.getLogger("claimbot.backend.inbound")

MAX_BODY = 64 * 1024
WINDOW = 300  # seconds a signed request stays valid, either side of our clock
STATUSES = {"paid": "backend_paid", "rejected": "backend_rejected", "comment": "backend_comment"}
HESI_STATES = {"paid": "backend_paid", "archived": "backend_paid",
               "rejected": "backend_rejected", "nullify": "backend_rejected"}
ANSWERS = {"success": 200, "info": 200, "warning": 409, "error": 404}


@dataclass(slots=True)
class BackendRuntime:
    """What the backend routes need; filled in when the workers start."""

    config: Config
    storage: Storage
    clock: Callable[[], float] = time.time
    dispatcher: Dispatcher | None = None
    hesi: HesiBackend | None = None
    seen_ttl: float = 2 * WINDOW + 60


BACKEND = web.AppKey("backend_runtime", BackendRuntime)


def add_backend_routes(app: web.Application, runtime: BackendRuntime) -> None:
    app[BACKEND] = runtime
    app.router.add_post("/backend/webhook", webhook_update)
    app.router.add_post("/backend/hesi/{token}", hesi_message)


def _refuse(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


async def _body(request: web.Request) -> bytes | None:
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None
    body = await request.content.read(MAX_BODY + 1)
    return None if len(body) > MAX_BODY else body


async def webhook_update(request: web.Request) -> web.Response:
    runtime = request.app[BACKEND]
    secret = runtime.config.backend.secret
    if runtime.config.backend.kind != "webhook" or not secret:
        return _refuse(404, "the webhook backend is not configured")
    body = await _body(request)
    if body is None:
        return _refuse(413, f"body larger than {MAX_BODY} bytes")
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not timestamp or not signature:
        return _refuse(401, f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required")
    if not timestamp.isdigit() or abs(runtime.clock() - int(timestamp)) > WINDOW:
        return _refuse(401, "timestamp outside the five-minute window")
    if not signature_ok(secret, timestamp, body, signature):
        return _refuse(401, "bad signature")
    update = _parse_update(body)
    if isinstance(update, str):
        return _refuse(400, update)
    try:
        fresh = await runtime.storage.mark_seen(
            "backend-webhook", signature.lower(), runtime.seen_ttl
        )
    except StorageError as exc:
        log.warning("backend update of %s not applied: %s", update[0], exc)
        return _refuse(503, "storage unavailable, try again")
    if not fresh:
        return _refuse(409, "replayed request")
    claim_id, verb, comment = update
    return await apply_update(runtime, claim_id, verb, comment)


def _parse_update(body: bytes) -> tuple[str, str, str] | str:
    """(claim id, action verb, comment), or what is wrong with the body."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: [[[[… nests deep
        return "body is not JSON"
    if not isinstance(data, dict):
        return "body must be a JSON object"
    claim_id, status, comment = data.get("claim_id"), data.get("status"), data.get("comment", "")
    if not isinstance(claim_id, str) or not CLAIM_ID_PATTERN.fullmatch(claim_id):
        return "claim_id must be a claim id such as BX-2026-000123"
    if status not in STATUSES:
        return 'status must be "paid", "rejected" or "comment"'
    if not isinstance(comment, str) or len(comment) > 2000:
        return "comment must be a string of at most 2000 characters"
    return claim_id, STATUSES[status], comment


async def apply_update(
    runtime: BackendRuntime, claim_id: str, verb: str, comment: str
) -> web.Response:
    """Run the update through the workflow and answer with what happened."""
    if runtime.dispatcher is None:
        return _refuse(503, "starting up")
    kind = runtime.config.backend.kind
    event = CardActionEvent(
        platform="backend",
        event_id=f"backend:{uuid.uuid4().hex}",
        actor=Actor("backend", kind, name=kind),
        action=f"{verb}:{claim_id}:0",
        form={"comment": comment},
    )
    try:
        event = await _on_claim_platform(runtime.storage, event, claim_id)
        inline = await runtime.dispatcher.dispatch(event)
    except StorageError as exc:
        log.warning("backend update of %s not applied: %s", claim_id, exc)
        return _refuse(503, "storage unavailable, try again")
    toast = inline.toast if inline else None
    kind_, text = (toast.kind, toast.text) if toast else ("error", "not_found")
    status = ANSWERS.get(kind_, 500)
    log.info("backend %s of %s: %s", verb, claim_id, text)
    return web.json_response({"claim_id": claim_id, "result": text}, status=status)


async def _on_claim_platform(
    storage: Storage, event: CardActionEvent, claim_id: str
) -> CardActionEvent:
    """The event on the claim's platform, so the handler sees that platform's directory."""
    claim = await storage.get_claim(claim_id)
    if claim is None or claim.platform == event.platform:
        return event
    return CardActionEvent(claim.platform, event.event_id, event.actor, event.action, event.form)


async def hesi_message(request: web.Request) -> web.Response:
    runtime = request.app[BACKEND]
    token = runtime.config.backend.callback_token
    hesi = runtime.hesi
    if not token or hesi is None or not _same(request.match_info["token"], token):
        return _refuse(404, "not found")
    body = await _body(request)
    if body is None:
        return _refuse(413, f"body larger than {MAX_BODY} bytes")
    try:
        data = json.loads(body)
        flow_id = data["flowId"] if isinstance(data, dict) else None
    except (ValueError, UnicodeDecodeError, RecursionError, KeyError):
        flow_id = None
    if not isinstance(flow_id, str) or not flow_id:
        return _refuse(400, "flowId is required")
    try:
        document = await hesi.document(flow_id)  # the message is a hint; Hesi's record decides
    except TransientBackendError as exc:
        log.warning("hesi message for %s: cannot read the document: %s", flow_id, exc)
        return _refuse(503, "cannot read the document now")
    except BackendError as exc:  # not a document we can read: nothing to do, do not resend
        log.warning("hesi message for %s ignored: %s", flow_id, exc)
        return web.json_response({"result": "ignored", "state": ""})
    claim_id = hesi.claim_id_of(document.outer_code)
    verb = HESI_STATES.get(document.state)
    if claim_id is None or verb is None:
        return web.json_response({"result": "ignored", "state": document.state})
    return await apply_update(runtime, claim_id, verb, f"合思 {document.code} {document.state}")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
