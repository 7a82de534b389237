"""The WeCom server API (``{base_url}/cgi-bin/…``): access token, errcodes, retries.

One ``aiohttp.ClientSession`` (the app's pooled one) carries every call. The token is cached
and refreshed early by :class:`TokenCache`; an errcode saying it is invalid or expired drops it
and retries the call once with a fresh one. Rate limits and server trouble raise
:class:`TransientAPIError` and are retried with backoff; any other errcode raises
:class:`PlatformAPIError` carrying errcode and errmsg.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp

from bot.platforms.base import PlatformAPIError, TransientAPIError
from bot.platforms.retry import call_with_retries
from bot.platforms.tokens import Token, TokenCache

PLATFORM = "wecom"
TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid credential, invalid or expired token
TRANSIENT_ERRORS = frozenset({-1, 45009, 45011, 45033})  # busy, frequency and concurrency limits
JSON_TYPES = frozenset({"application/json", "text/plain"})
TIMEOUT = aiohttp.ClientTimeout(total=10)

T = TypeVar("T")


class WecomClient:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        corp_id: str,
        secret: str,
        *,
        attempts: int = 4,
        backoff: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/") + "/cgi-bin/"
        self._corp_id = corp_id
        self._secret = secret
        self._attempts = attempts
        self._backoff = backoff
        self.tokens = TokenCache(self._fetch_token, clock=clock)

    async def get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        return await self._retrying(lambda token: self._json("GET", path, params, None, token))

    async def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return await self._retrying(lambda token: self._json("POST", path, {}, body, token))

    async def download(self, path: str, params: Mapping[str, str]) -> tuple[bytes, str]:
        """A binary endpoint (media/get): raw bytes, or an errcode as JSON served with 200."""
        return await self._retrying(lambda token: self._binary(path, params, token))

    async def _retrying(self, attempt: Callable[[str], Awaitable[T]]) -> T:
        return await call_with_retries(
            lambda: self._with_token(attempt), attempts=self._attempts, base=self._backoff
        )

    async def _with_token(self, attempt: Callable[[str], Awaitable[T]]) -> T:
        token = await self.tokens.get()
        try:
            return await attempt(token)
        except PlatformAPIError as exc:
            if exc.code not in TOKEN_ERRORS:
                raise
            self.tokens.invalidate(token)
        return await attempt(await self.tokens.get())

    async def _json(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        body: Mapping[str, Any] | None,
        token: str,
    ) -> dict[str, Any]:
        raw, _ = await self._exchange(method, path, {**params, "access_token": token}, body)
        return _result(raw)

    async def _binary(self, path: str, params: Mapping[str, str], token: str) -> tuple[bytes, str]:
        raw, kind = await self._exchange("GET", path, {**params, "access_token": token}, None)
        if kind in JSON_TYPES:
            _result(raw)  # raises the errcode it carries
            raise PlatformAPIError(PLATFORM, "not_a_file", "expected a file, got JSON")
        return raw, kind

    async def _fetch_token(self) -> Token:
        query = {"corpid": self._corp_id, "corpsecret": self._secret}
        data = _result((await self._exchange("GET", "gettoken", query, None))[0])
        return Token(str(data["access_token"]), float(data.get("expires_in", 7200)))

    async def _exchange(
        self, method: str, path: str, query: Mapping[str, str], body: Mapping[str, Any] | None
    ) -> tuple[bytes, str]:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"} if data else None
        try:
            async with self._http.request(
                method,
                self._base + path,
                params=query,
                data=data,
                headers=headers,
                timeout=TIMEOUT,
            ) as response:
                _check_status(response)
                return await response.read(), response.content_type
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransientAPIError(PLATFORM, "network", type(exc).__name__) from exc


def _check_status(response: aiohttp.ClientResponse) -> None:
    status, reason = response.status, response.reason or ""
    if status >= 500 or status == 429:
        raise TransientAPIError(PLATFORM, status, reason, status)
    if status >= 400:
        raise PlatformAPIError(PLATFORM, status, reason, status)


def _result(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError:
        raise TransientAPIError(PLATFORM, "bad_json", "response is not JSON") from None
    if not isinstance(data, dict):
        raise PlatformAPIError(PLATFORM, "bad_json", "response is not a JSON object")
    code = data.get("errcode") or 0
    if code == 0:
        return data
    message = str(data.get("errmsg", ""))
    if code in TRANSIENT_ERRORS:
        raise TransientAPIError(PLATFORM, code, message)
    raise PlatformAPIError(PLATFORM, code, message)
