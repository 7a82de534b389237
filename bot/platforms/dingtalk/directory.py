"""The org chart from DingTalk's legacy user and department APIs, cached for a while.

Routing asks for the same approver and department again and again within minutes; a TTL cache
keeps that off DingTalk's per-app QPS limit. Lookups that fail are not cached.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from bot.platforms.base import DirectoryDepartment, DirectoryUser, PlatformAPIError
from bot.platforms.dingtalk.api import PLATFORM, DingtalkAPI

V = TypeVar("V")


class TTLCache:
    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, object]] = {}

    async def get(self, key: str, load: Callable[[], Awaitable[V]]) -> V:
        hit = self._entries.get(key)
        if hit is not None and hit[0] > self._clock():
            return hit[1]  # type: ignore[return-value]  # stored by this method under this key
        value = await load()
        self._entries[key] = (self._clock() + self._ttl, value)
        return value


def _strings(values: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in values) if isinstance(values, list) else ()


def _result(data: Mapping[str, Any]) -> Mapping[str, Any]:
    result = data.get("result")
    if not isinstance(result, Mapping):
        raise PlatformAPIError(PLATFORM, "bad_response", "no result in the reply")
    return result


class DingtalkDirectory:
    def __init__(self, api: DingtalkAPI, *, ttl: float = 300.0) -> None:
        self._api = api
        self._users = TTLCache(ttl)
        self._departments = TTLCache(ttl)

    async def get_user(self, user_id: str) -> DirectoryUser:
        return await self._users.get(user_id, lambda: self._load_user(user_id))

    async def get_department(self, department_id: str) -> DirectoryDepartment:
        return await self._departments.get(
            department_id, lambda: self._load_department(department_id)
        )

    async def _load_user(self, user_id: str) -> DirectoryUser:
        data = await self._api.oapi(
            "/topapi/v2/user/get", {"userid": user_id, "language": "zh_CN"}
        )
        result = _result(data)
        return DirectoryUser(
            user_id=str(result.get("userid", user_id)),
            name=str(result.get("name", "")),
            manager_id=str(result.get("manager_userid", "") or ""),
            department_ids=_strings(result.get("dept_id_list")),
            email=str(result.get("org_email") or result.get("email") or ""),
            employee_no=str(result.get("job_number", "") or ""),
        )

    async def _load_department(self, department_id: str) -> DirectoryDepartment:
        if not department_id.isdigit():
            raise PlatformAPIError(PLATFORM, "bad_department_id", "department ids are numbers")
        data = await self._api.oapi(
            "/topapi/v2/department/get", {"dept_id": int(department_id), "language": "zh_CN"}
        )
        result = _result(data)
        return DirectoryDepartment(
            department_id=department_id,
            name=str(result.get("name", "")),
            leader_ids=_strings(result.get("dept_manager_userid_list")),
            parent_id=str(result.get("parent_id", "") or ""),
        )
