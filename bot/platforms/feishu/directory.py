"""The org chart from Feishu's contact API: a user's leader and departments, a department's leaders.

Every call goes to Feishu: caching (TTL, misses, single flight) is the org service's job
(``bot.directory.OrgService``), one cache for all platforms.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.platforms.base import DirectoryDepartment, DirectoryUser
from bot.platforms.feishu.api import FeishuAPI

USERS = "/open-apis/contact/v3/users"
DEPARTMENTS = "/open-apis/contact/v3/departments"
ID_TYPES = {"user_id_type": "open_id", "department_id_type": "open_department_id"}


class FeishuDirectory:
    def __init__(self, api: FeishuAPI) -> None:
        self._api = api

    async def get_user(self, user_id: str) -> DirectoryUser:
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

    async def get_department(self, department_id: str) -> DirectoryDepartment:
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
