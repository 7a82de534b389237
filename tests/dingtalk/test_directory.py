"""The org chart through the legacy oapi host: users, departments, oapi errors."""

from __future__ import annotations

import aiohttp
import pytest

from bot.directory import OrgService
from bot.platforms.base import PlatformAPIError
from bot.platforms.dingtalk.api import DingtalkAPI
from bot.platforms.dingtalk.directory import DingtalkDirectory
from tests.fakes.dingtalk import FakeDingtalk

USER_GET = "/topapi/v2/user/get"


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture
def directory(fake: FakeDingtalk, http: aiohttp.ClientSession) -> DingtalkDirectory:
    fake.users["zhangsan"] = {
        "userid": "zhangsan", "name": "张三", "manager_userid": "lisi", "dept_id_list": [2, 3],
        "org_email": "zhangsan@example.com", "job_number": "E001",
    }
    fake.users["boss"] = {"userid": "boss", "name": "老板", "dept_id_list": [1]}
    fake.departments[2] = {"dept_id": 2, "name": "市场部", "parent_id": 1,
                           "dept_manager_userid_list": ["wangwu"]}
    api = DingtalkAPI(http, client_id=fake.client_id, client_secret=fake.client_secret,
                      base_url=fake.url, oapi_base_url=fake.url, sleep=no_sleep)
    return DingtalkDirectory(api)


async def test_user_with_manager_and_departments(
    fake: FakeDingtalk, directory: DingtalkDirectory
) -> None:
    found = await directory.get_user("zhangsan")
    assert (found.name, found.manager_id, found.department_ids) == ("张三", "lisi", ("2", "3"))
    assert (found.email, found.employee_no) == ("zhangsan@example.com", "E001")
    [call] = fake.calls_to(USER_GET)
    assert call.query["access_token"].startswith("tok-")


async def test_user_without_manager(directory: DingtalkDirectory) -> None:
    assert (await directory.get_user("boss")).manager_id == ""


async def test_the_org_service_caches_lookups(
    fake: FakeDingtalk, directory: DingtalkDirectory
) -> None:
    org = OrgService(directory, platform="dingtalk")
    for _ in range(3):
        await org.user("zhangsan")
    assert len(fake.calls_to(USER_GET)) == 1


async def test_department_leaders(directory: DingtalkDirectory) -> None:
    dept = await directory.get_department("2")
    assert (dept.name, dept.leader_ids, dept.parent_id) == ("市场部", ("wangwu",), "1")


async def test_unknown_user_is_a_platform_error_with_the_errcode(
    directory: DingtalkDirectory,
) -> None:
    with pytest.raises(PlatformAPIError) as caught:
        await directory.get_user("nobody")
    assert caught.value.code == 60121


async def test_non_numeric_department_is_refused_before_any_call(
    fake: FakeDingtalk, directory: DingtalkDirectory
) -> None:
    with pytest.raises(PlatformAPIError):
        await directory.get_department("sales")
    assert fake.calls_to("/topapi/v2/department/get") == []


async def test_oapi_flow_control_is_retried(
    fake: FakeDingtalk, directory: DingtalkDirectory
) -> None:
    fake.fail_next(USER_GET, errcode=90018)
    assert (await directory.get_user("zhangsan")).name == "张三"
    assert len(fake.calls_to(USER_GET)) == 2


async def test_expired_token_on_oapi_is_refreshed(
    fake: FakeDingtalk, directory: DingtalkDirectory
) -> None:
    await directory.get_department("2")
    fake.expire_tokens()
    assert (await directory.get_user("zhangsan")).name == "张三"
    assert len(fake.calls_to("/v1.0/oauth2/accessToken")) == 2
