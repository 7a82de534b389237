"""The org chart from Feishu's contact API: a user's leader and departments, a department's leaders.

Answers are cached for ``ttl`` seconds: approval routing asks for the same people on every
claim, and the contact API allows 50 calls a second per app.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from bot.platforms.base import DirectoryDepartment, DirectoryUser
from bot.platforms.feishu.api import FeishuAPI

USERS = "/open-apis/contact/v3/users"
DEPARTMENTS = "/open-apis/contact/v3/departments"
ID_TYPES = {"user_id_type": "open_id", "department_id_type": "open_department_id"}
V = TypeVar("V")


class TTLCache(Generic[V]):
    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, V]] = {}

    async def get(self, key: str, load: Callable[[], Awaitable[V]]) -> V:
        entry = self._entries.get(key)
        if entry is not None and self._clock() < entry[0]:
            return entry[1]
        value = await load()
        self._entries[key] = (self._clock() + self._ttl, value)
        return value


class FeishuDirectory:
    def __init__(
        self, api: FeishuAPI, *, ttl: float = 600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._api = api
        self._users: TTLCache[DirectoryUser] = TTLCache(ttl, clock)
        self._departments: TTLCache[DirectoryDepartment] = TTLCache(ttl, clock)

    async def get_user(self, user_id: str) -> DirectoryUser:
        return await self._users.get(user_id, lambda: self._load_user(user_id))

    async def get_department(self, department_id: str) -> DirectoryDepartment:
        return await self._departments.get(
            department_id, lambda: self._load_department(department_id)
        )

    async def _load_user(self, user_id: str) -> DirectoryUser:
        answer = await self._api.call("GET", f"{USERS}/{quote(user_id, safe='')}", params=ID_TYPES)
        user = _field(_field(answer, "data"), "user")
        return DirectoryUser(
            user_id=str(user.get("open_id") or user_id),
            name=str(user.get("name", "")),
            manager_id=str(user.get("leader_user_id", "")),
            department_ids=tuple(str(d) for d in user.get("department_ids") or ()),
            email=str(user.get("email", "")),
            employee_no=str(user.get("employee_no", "")),
        )

    async def _load_department(self, department_id: str) -> DirectoryDepartment:
        path = f"{DEPARTMENTS}/{quote(department_id, safe='')}"
        answer = await self._api.call("GET", path, params=ID_TYPES)
        department = _field(_field(answer, "data"), "department")
        leaders = [str(department.get("leader_user_id") or "")]
        leaders += [
            str(lead.get("leaderID") or "")
            for lead in department.get("leaders") or ()
            if isinstance(lead, dict)
        ]
        return DirectoryDepartment(
            department_id=str(department.get("open_department_id") or department_id),
            name=str(department.get("name", "")),
            leader_ids=tuple(dict.fromkeys(lead for lead in leaders if lead)),
            parent_id=str(department.get("parent_department_id", "")),
        )


def _field(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}
