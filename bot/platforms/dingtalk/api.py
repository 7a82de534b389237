"""One typed door to DingTalk's two API hosts, with the access token and error mapping.

``api.dingtalk.com`` wants the token in ``x-acs-dingtalk-access-token`` and fails with HTTP 4xx
and ``{"code", "message"}``; ``oapi.dingtalk.com`` wants ``?access_token=`` and fails with HTTP
200 and ``{"errcode", "errmsg"}``. Both accept the same token. Rate limits, 5xx and network
errors are :class:`TransientAPIError` (retried here a few times, then left to the outbox);
everything else is a :class:`PlatformAPIError` carrying DingTalk's code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp

from bot.platforms.base import PlatformAPIError, TransientAPIError
from bot.platforms.retry import call_with_retries
from bot.platforms.tokens import Token, TokenCache

PLATFORM = "dingtalk"
T = TypeVar("T")
TIMEOUT = aiohttp.ClientTimeout(total=10)
# oapi errcodes: system busy, and the flow-control family (90002 per minute, 90018/90019 QPS).
_OAPI_TRANSIENT = {-1, 90002, 90018, 90019}
_OAPI_TOKEN = {40014, 42001, 88}  # token invalid or expired: fetch a new one and try again
_API_THROTTLED = ("QpsLimit", "Throttling", "FlowControl")


class _TokenRejected(Exception):
    """The platform refused our cached token; refresh once and repeat the call."""


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


class DingtalkAPI:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        client_id: str,
        client_secret: str,
        base_url: str,
        oapi_base_url: str,
        attempts: int = 3,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._http = http
        self._client_id = client_id
        self._client_secret = client_secret
        self.base_url = base_url.rstrip("/")
        self.oapi_base_url = oapi_base_url.rstrip("/")
        self._attempts = attempts
        self._sleep = sleep
        self.tokens = TokenCache(self._fetch_token)

    async def _fetch_token(self) -> Token:
        body = {"appKey": self._client_id, "appSecret": self._client_secret}
        try:
            data = await self._send("POST", f"{self.base_url}/v1.0/oauth2/accessToken", body, {})
        except _TokenRejected:
            raise PlatformAPIError(PLATFORM, 401, "client id or secret rejected", 401) from None
        token, expire_in = data.get("accessToken"), data.get("expireIn")
        if not isinstance(token, str) or not isinstance(expire_in, int | float):
            raise PlatformAPIError(PLATFORM, "bad_token_response", "no accessToken in reply")
        return Token(token, float(expire_in))

    async def call(self, method: str, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A new-style API call (``api.dingtalk.com``)."""

        async def once() -> dict[str, Any]:
            token = await self.tokens.get()
            headers = {"x-acs-dingtalk-access-token": token}
            try:
                return await self._send(method, self.base_url + path, body, headers)
            except _TokenRejected:
                self.tokens.invalidate(token)
                raise TransientAPIError(PLATFORM, 401, "access token rejected", 401, 0.0) from None

        return await self._retrying(once)

    async def oapi(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A legacy API call (``oapi.dingtalk.com``): POST with the token in the query."""

        async def once() -> dict[str, Any]:
            token = await self.tokens.get()
            url = f"{self.oapi_base_url}{path}"
            data = await self._send("POST", url, body, {}, {"access_token": token})
            code = data.get("errcode", 0)
            if code in _OAPI_TOKEN:
                self.tokens.invalidate(token)
                raise TransientAPIError(PLATFORM, code, str(data.get("errmsg")), 200, 0.0)
            if code in _OAPI_TRANSIENT:
                raise TransientAPIError(PLATFORM, code, str(data.get("errmsg")), 200)
            if code != 0:
                raise PlatformAPIError(PLATFORM, code, str(data.get("errmsg", "")), 200)
            return data

        return await self._retrying(once)

    async def get_bytes(self, url: str) -> tuple[bytes, str]:
        """A temporary download URL DingTalk handed out (no token: the URL is the credential)."""

        async def once() -> tuple[bytes, str]:
            try:
                async with self._http.get(url, timeout=TIMEOUT) as response:
                    if response.status == 429 or response.status >= 500:
                        raise TransientAPIError(
                            PLATFORM, response.status, "download failed", response.status,
                            _retry_after(response),
                        )
                    if response.status >= 400:
                        raise PlatformAPIError(
                            PLATFORM, response.status, "download failed", response.status
                        )
                    return await response.read(), response.content_type
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise TransientAPIError(PLATFORM, "network", type(exc).__name__) from None

        return await self._retrying(once)

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        return await call_with_retries(call, attempts=self._attempts, sleep=self._sleep)

    async def _send(
        self,
        method: str,
        url: str,
        body: Mapping[str, Any],
        headers: Mapping[str, str],
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        try:
            async with self._http.request(
                method, url, json=body, headers=headers, params=params, timeout=TIMEOUT
            ) as response:
                data = await _json_or_empty(response)
                _raise_for_status(response, data)
                return data
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientAPIError(PLATFORM, "network", type(exc).__name__) from None


async def _json_or_empty(response: aiohttp.ClientResponse) -> dict[str, Any]:
    # The per-IP ban answers with an HTML page, so a non-JSON body is not an error by itself.
    try:
        data = await response.json(content_type=None)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _raise_for_status(response: aiohttp.ClientResponse, data: Mapping[str, Any]) -> None:
    status = response.status
    if status < 400:
        return
    code = str(data.get("code", status))
    message = str(data.get("message", response.reason or ""))
    if status == 401 or code == "InvalidAuthentication":
        raise _TokenRejected
    if status == 429 or status >= 500 or any(mark in code for mark in _API_THROTTLED):
        raise TransientAPIError(PLATFORM, code, message, status, _retry_after(response))
    raise PlatformAPIError(PLATFORM, code, message, status)
