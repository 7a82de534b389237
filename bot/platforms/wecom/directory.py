"""Who approves: ``user/get`` (``direct_leader``, departments) and ``department/get`` (leaders).

Answers are cached for ``ttl`` seconds: routing a claim asks about the same few people again
and again, and WeCom counts every call against the app's frequency limits.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from bot.platforms.base import DirectoryDepartment, DirectoryUser
from bot.platforms.wecom.client import WecomClient

V = TypeVar("V")
TTL = 600.0


class TTLCache(Generic[V]):
    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, V]] = {}

    async def get(self, key: str, load: Callable[[], Awaitable[V]]) -> V:
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = await load()
        self._entries[key] = (now + self._ttl, value)
        if len(self._entries) > 10_000:  # drop the expired ones before the dict grows further
            self._entries = {k: e for k, e in self._entries.items() if e[0] > now}
        return value


class WecomDirectory:
    def __init__(
        self, client: WecomClient, *, ttl: float = TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._users: TTLCache[DirectoryUser] = TTLCache(ttl, clock)
        self._departments: TTLCache[DirectoryDepartment] = TTLCache(ttl, clock)

    async def get_user(self, user_id: str) -> DirectoryUser:
        async def load() -> DirectoryUser:
            return to_user(await self._client.get("user/get", {"userid": user_id}))

        return await self._users.get(user_id, load)

    async def get_department(self, department_id: str) -> DirectoryDepartment:
        async def load() -> DirectoryDepartment:
            data = await self._client.get("department/get", {"id": department_id})
            return to_department(data.get("department", {}))

        return await self._departments.get(department_id, load)


def to_user(data: dict[str, Any]) -> DirectoryUser:
    """``direct_leader`` lists up to five superiors; the first is the manager who approves."""
    departments = [str(d) for d in data.get("department", [])]
    main = str(data.get("main_department", ""))
    if main in departments:  # the main department first: routing rules read the first one
        departments.remove(main)
        departments.insert(0, main)
    leaders = data.get("direct_leader", [])
    return DirectoryUser(
        user_id=str(data.get("userid", "")),
        name=str(data.get("name", "")),
        manager_id=str(leaders[0]) if leaders else "",
        department_ids=tuple(departments),
        email=str(data.get("email", "") or data.get("biz_mail", "")),
    )


def to_department(data: dict[str, Any]) -> DirectoryDepartment:
    return DirectoryDepartment(
        department_id=str(data.get("id", "")),
        name=str(data.get("name", "")),
        leader_ids=tuple(str(u) for u in data.get("department_leader", [])),
        parent_id=str(data.get("parentid", "")),
    )
