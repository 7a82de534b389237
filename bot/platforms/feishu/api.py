"""The Feishu open API over the app's pooled aiohttp session.

Every call carries a cached ``tenant_access_token``; a token Feishu calls invalid is dropped
and the call retried once with a fresh one. Rate limits (HTTP 429, frequency-limit codes),
5xx and network failures are :class:`TransientAPIError` and retried honouring
``x-ogw-ratelimit-reset``; any other non-zero ``code`` is a :class:`PlatformAPIError` carrying
Feishu's code and message. lark-oapi is not used here: its async calls open a new HTTP client
per request and fetch tokens synchronously.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp

from bot.config_model import FeishuConfig
from bot.platforms.base import PlatformAPIError, TransientAPIError
from bot.platforms.retry import call_with_retries
from bot.platforms.tokens import Token, TokenCache

PLATFORM = "feishu"
TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"  # noqa: S105 - a URL path
# Frequency limits: generic (99991400/99991402), message-level 11020/11021, IM 230020.
RATE_LIMIT_CODES = frozenset({99991400, 99991402, 11020, 11021, 230020})
# The token is missing, invalid or expired: fetch a new one and try again once.
TOKEN_CODES = frozenset({99991661, 99991663, 99991664, 99991665, 99991668})
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class _StaleToken(Exception):
    pass


class FeishuAPI:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        config: FeishuConfig,
        *,
        timeout: float = 10.0,
        attempts: int = 4,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._config = config
        self._base = config.base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._attempts = attempts
        self._sleep = sleep
        # The SDK refreshes 10 minutes early; Feishu hands out a new token once < 30 min remain.
        self.tokens = TokenCache(self._fetch_token, margin=600.0, clock=clock)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The JSON answer of a successful call (``code == 0``), retried when worth it."""

        async def send(token: str) -> dict[str, Any]:
            return await self._json_call(method, path, token, params, body)

        return await call_with_retries(
            lambda: self._authorized(send), attempts=self._attempts, sleep=self._sleep
        )

    async def download(self, path: str, params: Mapping[str, str]) -> tuple[bytes, str]:
        """The bytes and content type of a binary resource."""

        async def send(token: str) -> tuple[bytes, str]:
            return await self._binary_call(path, token, params)

        return await call_with_retries(
            lambda: self._authorized(send), attempts=self._attempts, sleep=self._sleep
        )

    async def _authorized(self, send: Callable[[str], Awaitable[T]]) -> T:
        token = await self.tokens.get()
        try:
            return await send(token)
        except _StaleToken:
            self.tokens.invalidate(token)
        token = await self.tokens.get()
        try:
            return await send(token)
        except _StaleToken as exc:
            raise PlatformAPIError(PLATFORM, str(exc), "token rejected after refresh") from exc

    async def _json_call(
        self,
        method: str,
        path: str,
        token: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with self._http.request(
                method,
                self._base + path,
                params=params,
                json=body,
                headers=headers,
                timeout=self._timeout,
            ) as resp:
                return check(resp.status, resp.headers, await resp.read())
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientAPIError(PLATFORM, "network", repr(exc)) from exc

    async def _binary_call(
        self, path: str, token: str, params: Mapping[str, str]
    ) -> tuple[bytes, str]:
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with self._http.get(
                self._base + path, params=params, headers=headers, timeout=self._timeout
            ) as resp:
                data = await resp.read()
                kind = resp.headers.get("Content-Type", "application/octet-stream")
                if resp.status == 200 and not kind.startswith("application/json"):
                    return data, kind
                check(resp.status, resp.headers, data)
                raise PlatformAPIError(PLATFORM, resp.status, "expected a file, got JSON")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientAPIError(PLATFORM, "network", repr(exc)) from exc

    async def _fetch_token(self) -> Token:
        credentials = {"app_id": self._config.app_id, "app_secret": self._config.app_secret}
        try:
            async with self._http.post(
                self._base + TOKEN_PATH, json=credentials, timeout=self._timeout
            ) as resp:
                answer = check(resp.status, resp.headers, await resp.read())
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientAPIError(PLATFORM, "network", repr(exc)) from exc
        except _StaleToken as exc:  # a token code from the token endpoint itself
            raise PlatformAPIError(PLATFORM, str(exc), "tenant_access_token refused") from exc
        token = answer.get("tenant_access_token")
        expire = answer.get("expire")
        if not isinstance(token, str) or not isinstance(expire, int | float):
            raise PlatformAPIError(PLATFORM, "token", "token answer without token or expire")
        return Token(token, float(expire))


def check(status: int, headers: Mapping[str, str], raw: bytes) -> dict[str, Any]:
    """Classify one answer: the JSON body on success, otherwise the right typed error."""
    try:
        answer = json.loads(raw) if raw else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        answer = None
    if not isinstance(answer, dict):
        if status == 429 or status >= 500:
            raise TransientAPIError(PLATFORM, status, "non-JSON answer", status, _reset(headers))
        raise PlatformAPIError(PLATFORM, status, "non-JSON answer", status)
    code = answer.get("code", 0 if status == 200 else status)
    message = str(answer.get("msg", ""))
    if status == 429 or code in RATE_LIMIT_CODES:
        raise TransientAPIError(PLATFORM, code, message, status, _reset(headers))
    if code in TOKEN_CODES:
        raise _StaleToken(code)
    if status >= 500:
        raise TransientAPIError(PLATFORM, code, message, status)
    if code != 0 or status != 200:
        raise PlatformAPIError(PLATFORM, code, message, status)
    return answer


def _reset(headers: Mapping[str, str]) -> float | None:
    """Seconds until the limit resets, from Feishu's gateway header or a standard one."""
    for name in ("x-ogw-ratelimit-reset", "Retry-After"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            continue
    return None
