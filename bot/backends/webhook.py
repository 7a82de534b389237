"""The generic connector: POST each outcome as signed JSON (or the company's own mapping).

Headers on every call: ``X-Claimbot-Timestamp`` (unix seconds), ``X-Claimbot-Signature`` =
hex HMAC-SHA256(secret, timestamp + "." + body), ``Idempotency-Key`` = claim id:version:event and
``X-Claimbot-Event``. Any 2xx confirms the event — a peer that has already applied the key must
answer 2xx again. 408, 429 and 5xx (and timeouts, refused or dropped connections) are retried
with backoff; any other answer dead-letters the event with the peer's words.

With ``template`` set, the body is rendered from a jinja2 file instead of the unified JSON:
``*.json.j2`` must render JSON and ``*.xml.j2`` XML (values are XML-escaped); the template sees
``payload`` (the unified document), ``claim`` (``payload.claim``), ``event`` and
``idempotency_key``, and a ``tojson`` filter.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import defusedxml.ElementTree as SafeXML
from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.backends.base import (
    PermanentBackendError,
    SyncEvent,
    TransientBackendError,
    classify_status,
)
from bot.backends.payload import build_payload
from bot.backends.signing import (
    EVENT_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"


class MappingTemplate:
    """A company's field mapping: the unified payload in, their JSON or XML out."""

    def __init__(self, path: str) -> None:
        file = Path(path)
        self.xml = file.name.endswith(".xml.j2")
        env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(str(file.parent)),
            undefined=StrictUndefined,
            autoescape=self.xml,
            keep_trailing_newline=True,
        )
        self._template = env.get_template(file.name)

    @property
    def content_type(self) -> str:
        return XML_TYPE if self.xml else JSON_TYPE

    def render(self, payload: Mapping[str, Any]) -> bytes:
        try:
            text = self._template.render(
                payload=payload,
                claim=payload["claim"],
                event=payload["event"],
                idempotency_key=payload["idempotency_key"],
            )
        except TemplateError as exc:
            raise PermanentBackendError(f"mapping template failed: {exc}") from exc
        self._check(text)
        return text.encode("utf-8")

    def _check(self, text: str) -> None:
        try:
            if self.xml:
                SafeXML.fromstring(text)
            else:
                json.loads(text)
        except (ValueError, SafeXML.ParseError) as exc:
            kind = "XML" if self.xml else "JSON"
            raise PermanentBackendError(f"mapping template rendered invalid {kind}: {exc}") from exc


def unified_body(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class WebhookBackend:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        secret: str,
        *,
        timeout: float = 10.0,
        template: MappingTemplate | None = None,
        category_names: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._session = session
        self._url = url
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._template = template
        self._names = dict(category_names or {})
        self._clock = clock

    def encode(self, event: SyncEvent) -> tuple[bytes, str]:
        payload = build_payload(event, self._names)
        if self._template is None:
            return unified_body(payload), JSON_TYPE
        return self._template.render(payload), self._template.content_type

    def headers(self, event: SyncEvent, body: bytes, content_type: str) -> dict[str, str]:
        timestamp = str(int(self._clock()))
        return {
            "Content-Type": content_type,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
            IDEMPOTENCY_HEADER: event.idempotency_key,
            EVENT_HEADER: event.event,
            "User-Agent": "claimbot-sync/1",
        }

    async def deliver(self, event: SyncEvent) -> None:
        body, content_type = self.encode(event)
        headers = self.headers(event, body, content_type)
        what = f"webhook {event.idempotency_key}"
        try:
            async with self._session.post(
                self._url, data=body, headers=headers, timeout=self._timeout
            ) as response:
                answer = await response.text(errors="replace")
                error = classify_status(response.status, answer, response.headers, what)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransientBackendError(f"{what}: {type(exc).__name__}: {exc}") from exc
        if error is not None:
            raise error
