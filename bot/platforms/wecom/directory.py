"""Who approves: ``user/get`` (``direct_leader``, departments) and ``department/get`` (leaders).

Every call goes to WeCom: caching (TTL, misses, single flight) is the org service's job
(``bot.directory.OrgService``), one cache for all platforms.
"""

from __future__ import annotations

from typing import Any

from bot.platforms.base import DirectoryDepartment, DirectoryUser
from bot.platforms.wecom.client import WecomClient


class WecomDirectory:
    def __init__(self, client: WecomClient) -> None:
        self._client = client

    async def get_user(self, user_id: str) -> DirectoryUser:
        return to_user(await self._client.get("user/get", {"userid": user_id}))

    async def get_department(self, department_id: str) -> DirectoryDepartment:
        data = await self._client.get("department/get", {"id": department_id})
        return to_department(data.get("department", {}))


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
