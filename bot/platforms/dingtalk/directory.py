"""The org chart from DingTalk's legacy user and department APIs.

Every call goes to DingTalk: caching (TTL, misses, single flight) is the org service's job
(``bot.directory.OrgService``), one cache for all platforms.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from bot.platforms.base import DirectoryDepartment, DirectoryUser, PlatformAPIError
from bot.platforms.dingtalk.api import PLATFORM, DingtalkAPI

V = TypeVar("V")


def _strings(values: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in values) if isinstance(values, list) else ()


def _result(data: Mapping[str, Any]) -> Mapping[str, Any]:
    result = data.get("result")
    if not isinstance(result, Mapping):
        raise PlatformAPIError(PLATFORM, "bad_response", "no result in the reply")
    return result


class DingtalkDirectory:
    def __init__(self, api: DingtalkAPI) -> None:
        self._api = api

    async def get_user(self, user_id: str) -> DirectoryUser:
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

    async def get_department(self, department_id: str) -> DirectoryDepartment:
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
