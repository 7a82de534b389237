"""Directory lookups against the fake: managers, departments, leaders; caching is OrgService's."""

from __future__ import annotations

import pytest

from bot.directory import OrgService
from bot.platforms.base import PlatformAPIError
from bot.platforms.wecom.directory import WecomDirectory
from tests.fakes.wecom import FakeWecom


async def test_user_with_manager_and_main_department_first(
    fake: FakeWecom, directory: WecomDirectory
) -> None:
    fake.add_user(
        "zhangsan", "张三", leaders=["lisi", "wangwu"], departments=[1, 7], main_department=7
    )
    user = await directory.get_user("zhangsan")
    assert (user.user_id, user.name, user.manager_id) == ("zhangsan", "张三", "lisi")
    assert user.department_ids == ("7", "1")


async def test_user_without_a_leader(fake: FakeWecom, directory: WecomDirectory) -> None:
    fake.add_user("boss", "老板")
    assert (await directory.get_user("boss")).manager_id == ""


async def test_department_leaders(fake: FakeWecom, directory: WecomDirectory) -> None:
    fake.add_department(7, "市场部", leaders=["lisi"], parent=1)
    department = await directory.get_department("7")
    assert (department.department_id, department.name) == ("7", "市场部")
    assert (department.leader_ids, department.parent_id) == (("lisi",), "1")


async def test_the_org_service_caches_lookups(fake: FakeWecom, directory: WecomDirectory) -> None:
    fake.add_user("zhangsan", "张三")
    fake.add_department(7, "市场部")
    org = OrgService(directory, platform="wecom")
    for _ in range(3):
        await org.user("zhangsan")
        await org.unit("7")
    assert len(fake.calls_to("user/get")) == 1
    assert len(fake.calls_to("department/get")) == 1


async def test_the_adapter_itself_always_asks(fake: FakeWecom, directory: WecomDirectory) -> None:
    fake.add_user("zhangsan", "张三", leaders=["lisi"])
    assert (await directory.get_user("zhangsan")).manager_id == "lisi"
    fake.add_user("zhangsan", "张三", leaders=["wangwu"])
    assert (await directory.get_user("zhangsan")).manager_id == "wangwu"


async def test_unknown_user_is_a_typed_error(directory: WecomDirectory) -> None:
    with pytest.raises(PlatformAPIError) as caught:
        await directory.get_user("nobody")
    assert caught.value.code == 60111


async def test_errors_are_not_cached(fake: FakeWecom, directory: WecomDirectory) -> None:
    with pytest.raises(PlatformAPIError):
        await directory.get_user("late")
    fake.add_user("late", "新人")
    assert (await directory.get_user("late")).name == "新人"
