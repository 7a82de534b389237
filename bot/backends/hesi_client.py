"""Talking to Hesi's (合思/易快报) open API: the access token, its refresh, and one call.

The token is issued with the app key in the JSON body (never the query), refreshed before it
expires (a refreshed token lives 32 days), and re-issued when Hesi answers 403 — also right after
issuing, which older Hesi releases did. Every business call passes it as ``?accessToken=``.
Paths are sent as written: ids carry ``$`` and arrays ``[a,b]``, which must not be escaped.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from bot.backends.base import (
    PermanentBackendError,
    TransientBackendError,
    answer_text,
    retry_after_seconds,
)

TOKEN_PATH = "/api/openapi/v1/auth/getAccessToken"  # noqa: S105 - a path, not a secret
REFRESH_PATH = "/api/openapi/v2/auth/refreshToken"
REFRESH_POWER_CODE = "219904"
REFRESH_MARGIN = 600.0
TOKEN_TRIES = 3  # refresh ten minutes before the token would expire


@dataclass(frozen=True, slots=True)
class HesiAnswer:
    status: int
    data: Any  # the parsed JSON body, or None
    text: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def says(self, *fragments: str) -> bool:
        return any(fragment in self.text for fragment in fragments)

    def problem(self, what: str) -> PermanentBackendError:
        return PermanentBackendError(f"hesi {what}: HTTP {self.status}: {answer_text(self.text)}")


@dataclass(slots=True)
class _Token:
    access: str
    refresh: str
    expires_at: float  # epoch seconds
    fresh: bool = True  # issued and not yet used successfully


class HesiClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        app_key: str,
        app_secret: str,
        *,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._key = app_key
        self._secret = app_secret
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._token: _Token | None = None
        self._lock = asyncio.Lock()

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> HesiAnswer:
        """One business call. On 403 a token never used before is tried once more as it is
        (Hesi refused tokens right after issuing them), an older one is re-issued. 5xx, 408,
        429 and network failures raise TransientBackendError; other answers are returned."""
        for attempt in range(1, TOKEN_TRIES + 1):
            token = await self.token()
            answer = await self._send(method, path, {**(params or {}), "accessToken": token}, body)
            current = self._token
            if answer.status != 403 or attempt == TOKEN_TRIES:
                if current is not None and answer.status != 403:
                    current.fresh = False
                break
            if current is not None and current.access == token and current.fresh:
                current.fresh = False
            else:
                self._token = None
        if answer.status == 403:
            raise answer.problem(f"{method} {path} (token refused {TOKEN_TRIES} times)")
        return answer

    async def token(self) -> str:
        async with self._lock:
            now = self._clock()
            current = self._token
            if current is not None and current.expires_at - REFRESH_MARGIN > now:
                return current.access
            if current is not None and current.expires_at > now:
                self._token = await self._refresh(current)
            else:
                self._token = await self._issue()
            return self._token.access

    async def _issue(self) -> _Token:
        body = {"appKey": self._key, "appSecurity": self._secret}
        answer = await self._send("POST", TOKEN_PATH, {}, body)
        if not answer.ok:
            raise answer.problem("getAccessToken")
        return self._token_of(answer)

    async def _refresh(self, token: _Token) -> _Token:
        params = {"accessToken": token.access, "refreshToken": token.refresh,
                  "powerCode": REFRESH_POWER_CODE}
        answer = await self._send("POST", REFRESH_PATH, params, None)
        if not answer.ok:  # expired or revoked meanwhile: start again with the keys
            return await self._issue()
        return self._token_of(answer)

    @staticmethod
    def _token_of(answer: HesiAnswer) -> _Token:
        value = answer.data.get("value") if isinstance(answer.data, dict) else None
        try:
            assert isinstance(value, dict)
            return _Token(str(value["accessToken"]), str(value.get("refreshToken", "")),
                          int(value["expireTime"]) / 1000.0)
        except (AssertionError, KeyError, TypeError, ValueError) as exc:
            raise answer.problem("token answer without accessToken/expireTime") from exc

    def url(self, path: str, params: Mapping[str, str]) -> URL:
        query = f"?{urlencode(params)}" if params else ""
        return URL(f"{self._base}{path}{query}", encoded=True)

    async def _send(
        self, method: str, path: str, params: Mapping[str, str], body: Any
    ) -> HesiAnswer:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"} if data else {}
        try:
            async with self._session.request(
                method, self.url(path, params), data=data, headers=headers,
                timeout=self._timeout,
            ) as response:
                text = await response.text(errors="replace")
                status, retry_after = response.status, retry_after_seconds(response.headers)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransientBackendError(f"hesi {method} {path}: {type(exc).__name__}") from exc
        if status >= 500 or status in (408, 429):
            raise TransientBackendError(
                f"hesi {method} {path}: HTTP {status}: {answer_text(text)}", retry_after
            )
        try:
            parsed = json.loads(text) if text.strip() else None
        except ValueError:
            parsed = None
        return HesiAnswer(status, parsed, text)
