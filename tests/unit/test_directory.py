from __future__ import annotations

import asyncio
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.config_model import ApprovalStepConfig
from bot.directory import FILE_CHECK_SECONDS, OrgService, TTLCache
from bot.directory_file import DirectoryFileError, DirectoryOverrides, load_directory_file
from bot.platforms.base import (
    DirectoryDepartment,
    DirectoryUser,
    PlatformAPIError,
    TransientAPIError,
)
from handlers.routing import OrgUnit, RoutingPolicy, plan_route
from storage.models import Claim, ClaimItem, ClaimStatus, Person


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeDirectory:
    """A platform directory: unknown ids raise like the real APIs; calls are counted."""

    users: dict[str, DirectoryUser] = field(default_factory=dict)
    departments: dict[str, DirectoryDepartment] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    gate: asyncio.Event | None = None
    down: bool = False

    async def get_user(self, user_id: str) -> DirectoryUser:
        self.calls[f"user:{user_id}"] += 1
        await self._wait()
        if user_id not in self.users:
            raise PlatformAPIError("feishu", 41050, "no such user")
        return self.users[user_id]

    async def get_department(self, department_id: str) -> DirectoryDepartment:
        self.calls[f"dept:{department_id}"] += 1
        await self._wait()
        if department_id not in self.departments:
            raise PlatformAPIError("feishu", 40004, "no such department")
        return self.departments[department_id]

    async def _wait(self) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise TransientAPIError("feishu", 99991400, "rate limited", 429)


def platform() -> FakeDirectory:
    return FakeDirectory(
        users={
            "ou_emp": DirectoryUser("ou_emp", "张三", "ou_mgr", ("od_east",)),
            "ou_mgr": DirectoryUser("ou_mgr", "李四", "ou_dir", ("od_east",)),
            "ou_dir": DirectoryUser("ou_dir", "王总监", "", ("od_sales",)),
        },
        departments={
            "od_east": DirectoryDepartment("od_east", "华东销售", ("ou_mgr",), "od_sales"),
            "od_sales": DirectoryDepartment("od_sales", "销售部", ("ou_dir",), ""),
        },
    )


def service(
    directory: FakeDirectory, clock: Clock, overrides_file: Path | None = None
) -> OrgService:
    return OrgService(
        directory, platform="feishu", overrides_file=overrides_file, ttl=600, negative_ttl=60,
        clock=clock,
    )


# ── cache ─────────────────────────────────────────────────────────────────────────────────


async def test_answers_are_cached_until_the_ttl_passes() -> None:
    directory, clock = platform(), Clock()
    org = service(directory, clock)
    assert await org.manager_of("ou_emp") == "ou_mgr"
    assert await org.name_of("ou_emp") == "张三"
    clock.now += 599
    assert await org.departments_of("ou_emp") == ("od_east",)
    assert directory.calls["user:ou_emp"] == 1
    clock.now += 2
    await org.name_of("ou_emp")
    assert directory.calls["user:ou_emp"] == 2


async def test_departments_are_cached_per_id() -> None:
    directory, clock = platform(), Clock()
    org = service(directory, clock)
    expected = OrgUnit("od_east", "华东销售", ("ou_mgr",), "od_sales")
    assert await org.department("od_east") == expected
    assert await org.department("od_east") == expected
    assert directory.calls["dept:od_east"] == 1
    clock.now += 601
    await org.department("od_east")
    assert directory.calls["dept:od_east"] == 2


async def test_missing_people_are_remembered_for_the_shorter_ttl() -> None:
    directory, clock = platform(), Clock()
    org = service(directory, clock)
    assert await org.user("ou_gone") is None
    assert await org.manager_of("ou_gone") == ""
    assert await org.department("od_gone") is None
    clock.now += 59
    assert await org.name_of("ou_gone") == ""
    assert directory.calls["user:ou_gone"] == 1
    clock.now += 2
    directory.users["ou_gone"] = DirectoryUser("ou_gone", "新人")
    assert await org.name_of("ou_gone") == "新人"
    assert directory.calls["user:ou_gone"] == 2


async def test_transient_failure_propagates_and_is_not_cached() -> None:
    directory, clock = platform(), Clock()
    directory.down = True
    org = service(directory, clock)
    with pytest.raises(TransientAPIError):
        await org.manager_of("ou_emp")
    directory.down = False
    assert await org.manager_of("ou_emp") == "ou_mgr"
    assert directory.calls["user:ou_emp"] == 2


async def test_expired_answer_is_served_while_the_platform_fails() -> None:
    directory, clock = platform(), Clock()
    org = service(directory, clock)
    assert await org.manager_of("ou_emp") == "ou_mgr"
    clock.now += 601
    directory.down = True
    assert await org.manager_of("ou_emp") == "ou_mgr"
    assert await org.manager_of("ou_emp") == "ou_mgr"  # kept briefly: one failing call, not two
    assert directory.calls["user:ou_emp"] == 2
    clock.now += 61
    assert await org.manager_of("ou_emp") == "ou_mgr"
    assert directory.calls["user:ou_emp"] == 3


async def test_concurrent_lookups_of_one_id_share_one_call() -> None:
    directory, clock = platform(), Clock()
    directory.gate = asyncio.Event()
    org = service(directory, clock)
    lookups = [asyncio.create_task(org.manager_of("ou_emp")) for _ in range(20)]
    lookups += [asyncio.create_task(org.name_of("ou_mgr")) for _ in range(5)]
    await asyncio.sleep(0)
    directory.gate.set()
    results = await asyncio.gather(*lookups)
    assert results == ["ou_mgr"] * 20 + ["李四"] * 5
    assert directory.calls == Counter({"user:ou_emp": 1, "user:ou_mgr": 1})


async def test_concurrent_lookups_share_one_failure() -> None:
    directory, clock = platform(), Clock()
    directory.gate, directory.down = asyncio.Event(), True
    org = service(directory, clock)
    lookups = [asyncio.create_task(org.manager_of("ou_emp")) for _ in range(5)]
    await asyncio.sleep(0)
    directory.gate.set()
    results = await asyncio.gather(*lookups, return_exceptions=True)
    assert all(isinstance(r, TransientAPIError) for r in results)
    assert directory.calls["user:ou_emp"] == 1


async def test_a_cancelled_leader_does_not_fail_the_callers_waiting_on_it() -> None:
    directory, clock = platform(), Clock()
    directory.gate = asyncio.Event()
    org = service(directory, clock)
    leader = asyncio.create_task(org.manager_of("ou_emp"))
    await asyncio.sleep(0)
    follower = asyncio.create_task(org.manager_of("ou_emp"))
    await asyncio.sleep(0)
    leader.cancel()
    await asyncio.sleep(0)
    directory.gate.set()
    assert await follower == "ou_mgr"
    assert leader.cancelled()
    assert directory.calls["user:ou_emp"] == 2


async def test_a_cancelled_follower_leaves_the_shared_load_running() -> None:
    directory, clock = platform(), Clock()
    directory.gate = asyncio.Event()
    org = service(directory, clock)
    leader = asyncio.create_task(org.manager_of("ou_emp"))
    await asyncio.sleep(0)
    follower = asyncio.create_task(org.manager_of("ou_emp"))
    await asyncio.sleep(0)
    follower.cancel()
    directory.gate.set()
    assert await leader == "ou_mgr"
    with pytest.raises(asyncio.CancelledError):
        await follower
    assert directory.calls["user:ou_emp"] == 1


async def test_cleared_cache_ignores_a_load_that_was_under_way() -> None:
    clock = Clock()
    cache: TTLCache[str] = TTLCache(600, 60, clock)
    gate = asyncio.Event()

    async def old() -> str:
        await gate.wait()
        return "old"

    async def new() -> str:
        return "new"

    loading = asyncio.create_task(cache.get("k", old))
    await asyncio.sleep(0)
    cache.clear()
    gate.set()
    assert await loading == "old"
    assert await cache.get("k", new) == "new"
    assert len(cache) == 1


# ── the directory file over the platform ──────────────────────────────────────────────────

CSV = """user_id,name,manager_id,department_id,department_name,is_department_head,platform
ou_emp,,ou_dir,,,,feishu
ou_new,新同事,ou_mgr,od_east,,false,
ou_new,,,od_west,华西销售,,
ou_boss,老板,,od_west,,是,
zhangsan,张三,lisi,1,研发部,yes,wecom
"""


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


async def test_csv_file_fills_and_overrides_the_platform(tmp_path: Path) -> None:
    directory, clock = platform(), Clock()
    org = service(directory, clock, overrides_file=write(tmp_path, "hr.csv", CSV, "utf-8-sig"))
    assert await org.manager_of("ou_emp") == "ou_dir"  # the file wins
    assert await org.name_of("ou_emp") == "张三"  # an empty cell keeps the platform's
    assert await org.departments_of("ou_emp") == ("od_east",)
    assert await org.name_of("ou_new") == "新同事"  # only in the file
    assert await org.departments_of("ou_new") == ("od_east", "od_west")
    assert await org.department("od_west") == OrgUnit("od_west", "华西销售", ("ou_boss",))
    assert await org.department("od_east") == OrgUnit(
        "od_east", "华东销售", ("ou_mgr",), "od_sales"
    )
    assert await org.user("zhangsan") is None  # a WeCom row, not for Feishu


def test_csv_file_exported_as_gb18030(tmp_path: Path) -> None:
    overrides = load_directory_file(write(tmp_path, "hr.csv", CSV, "gb18030"))
    wecom = overrides.for_platform("wecom")
    assert wecom.users["zhangsan"].name == "张三"
    assert wecom.departments["1"].head_ids == ("zhangsan",)
    assert "ou_emp" not in wecom.users


def test_platform_rows_win_over_rows_for_every_platform(tmp_path: Path) -> None:
    text = "user_id,manager_id,platform\nu1,m_all,\nu1,m_feishu,feishu\n"
    overrides = load_directory_file(write(tmp_path, "hr.csv", text))
    assert overrides.for_platform("feishu").users["u1"].manager_id == "m_feishu"
    assert overrides.for_platform("dingtalk").users["u1"].manager_id == "m_all"


TOML = """
[[departments]]
department_id = "od_west"
name = "华西销售"
parent_id = "od_sales"
head_ids = ["ou_boss"]

[[users]]
user_id = "ou_new"
name = "新同事"
manager_id = "ou_boss"
department_id = "od_west"

[[users]]
user_id = "ou_mgr"
department_id = "od_east"
is_department_head = false
"""


async def test_toml_file_fills_the_platform(tmp_path: Path) -> None:
    directory, clock = platform(), Clock()
    org = service(directory, clock, overrides_file=write(tmp_path, "hr.toml", TOML))
    assert await org.department("od_west") == OrgUnit(
        "od_west", "华西销售", ("ou_boss",), "od_sales"
    )
    assert await org.manager_of("ou_new") == "ou_boss"
    assert await org.manager_of("ou_mgr") == "ou_dir"
    assert org.overrides.users["ou_mgr"].line == 14


async def test_file_answers_while_the_platform_is_down(tmp_path: Path) -> None:
    directory, clock = platform(), Clock()
    directory.down = True
    org = service(directory, clock, overrides_file=write(tmp_path, "hr.toml", TOML))
    assert await org.manager_of("ou_new") == "ou_boss"
    assert (await org.department("od_west") or OrgUnit("")).head_ids == ("ou_boss",)
    with pytest.raises(TransientAPIError):
        await org.manager_of("ou_emp")


async def test_file_only_service_without_a_platform_directory() -> None:
    overrides = DirectoryOverrides()
    org = OrgService(None, overrides=overrides)
    assert await org.user("anyone") is None
    assert await org.department("") is None


async def test_refresh_reloads_the_file_and_forgets_cached_answers(tmp_path: Path) -> None:
    directory, clock = platform(), Clock()
    path = write(tmp_path, "hr.csv", "user_id,manager_id\nou_emp,ou_dir\n")
    org = service(directory, clock, overrides_file=path)
    assert await org.manager_of("ou_emp") == "ou_dir"
    assert await org.name_of("ou_mgr") == "李四"
    path.write_text("user_id,manager_id\nou_emp,ou_mgr\nou_hr_only,ou_mgr\n")
    directory.users["ou_mgr"] = DirectoryUser("ou_mgr", "李四（新）", "ou_dir")
    report = await org.refresh(check=["ou_emp", "ou_hr_only", "ou_emp"])
    assert await org.manager_of("ou_emp") == "ou_mgr"
    assert await org.name_of("ou_mgr") == "李四（新）"
    assert (report.file_users, report.checked) == (2, 2)
    assert report.unknown_to_platform == ("ou_hr_only",)
    assert report.source == str(path)


async def test_a_running_service_follows_an_edited_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory, clock = platform(), Clock()
    path = write(tmp_path, "hr.csv", "user_id,manager_id\nou_emp,ou_dir\n")
    org = service(directory, clock, overrides_file=path)
    assert await org.manager_of("ou_emp") == "ou_dir"

    def edit(text: str, at: int) -> None:
        path.write_text(text)
        os.utime(path, ns=(at, at))  # a new modification time even within one clock tick

    edit("user_id,manager_id\nou_emp,ou_mgr\n", 10**18)
    clock.now += FILE_CHECK_SECONDS - 1
    assert await org.manager_of("ou_emp") == "ou_dir"  # not looked at yet
    clock.now += 1
    assert await org.manager_of("ou_emp") == "ou_mgr"

    edit("user_id,manager_id\nou_emp,ou_emp\n", 2 * 10**18)  # manages themself: refused
    clock.now += FILE_CHECK_SECONDS
    assert await org.manager_of("ou_emp") == "ou_mgr"  # the last good file stays
    assert "cannot be used, keeping the last good one" in caplog.text
    assert "hr.csv:2" in caplog.text
    caplog.clear()
    clock.now += FILE_CHECK_SECONDS
    assert await org.manager_of("ou_emp") == "ou_mgr"
    assert caplog.text == ""  # the same broken file is reported once

    edit("user_id,manager_id\nou_emp,ou_dir\n", 3 * 10**18)
    clock.now += FILE_CHECK_SECONDS
    assert await org.manager_of("ou_emp") == "ou_dir"


async def test_refresh_with_a_broken_file_keeps_the_old_one(tmp_path: Path) -> None:
    directory, clock = platform(), Clock()
    path = write(tmp_path, "hr.csv", "user_id,manager_id\nou_emp,ou_dir\n")
    org = service(directory, clock, overrides_file=path)
    path.write_text("user_id,manager_id\nou_emp,ou_emp\n")
    with pytest.raises(DirectoryFileError, match=r"hr\.csv:2: "):
        await org.refresh()
    assert await org.manager_of("ou_emp") == "ou_dir"


async def test_routing_over_the_service(tmp_path: Path) -> None:
    directory, clock = platform(), Clock()
    org = service(directory, clock, overrides_file=write(tmp_path, "hr.toml", TOML))
    now = datetime(2026, 11, 29, tzinfo=UTC)
    items = (ClaimItem("travel", Decimal("6000"), date(2026, 11, 28)),)
    claim = Claim("BX-2026-000009", Person("feishu", "ou_new", "新同事"), items,
                  ClaimStatus.SUBMITTED, now, now)
    steps = (
        ApprovalStepConfig("直属上级", "manager"),
        ApprovalStepConfig("部门负责人", "department_head", min_amount=Decimal("5000")),
        ApprovalStepConfig("销售总监", "users:ou_dir", departments=("销售部",)),
    )
    route = await plan_route(claim, steps, org, RoutingPolicy())
    assert [(s.name, s.approvers) for s in route] == [
        ("直属上级、部门负责人", ("ou_boss",)), ("销售总监", ("ou_dir",))
    ]
    assert route[0].reason.endswith("需部门负责人审批（华西销售）")


# ── malformed files ───────────────────────────────────────────────────────────────────────

HEADER = "user_id,name,manager_id,department_id,department_name,is_department_head\n"
MALFORMED = [
    ("empty.csv", "", 1, "header"),
    ("unknown-column.csv", "user_id,manger_id\nu1,m1\n", 1, "unknown column 'manger_id'"),
    ("no-user-id.csv", "name,manager_id\n张三,m1\n", 1, "user_id"),
    ("duplicate-column.csv", "user_id,name,name\nu1,a,b\n", 1, "duplicate column 'name'"),
    ("bad-bool.csv", HEADER + "u1,甲,m,d1,,true\nu2,乙,m,d1,,maybe\n", 3, "is_department_head"),
    ("self-manager.csv", HEADER + "u1,甲,u1,,,\n", 2, "own manager"),
    ("field-count.csv", HEADER + "u1,甲\n", 2, "2 fields, the header has 6"),
    ("blank-id.csv", HEADER + "\n ,甲,m,,,\n", 3, "user_id"),
    ("head-without-dept.csv", HEADER + "u1,甲,m,,,true\n", 2, "need a department_id"),
    ("name-conflict.csv", HEADER + "u1,甲,m,d1,,\nu1,乙,m,d2,,\n", 3, "on line 2"),
    ("dept-conflict.csv", HEADER + "u1,,,d1,甲部,\nu2,,,d1,乙部,\n", 3, "department d1"),
    ("bad-platform.csv", "user_id,platform\nu1,slack\n", 2, "platform"),
    ("syntax.toml", "[[users]]\nuser_id = \n", 2, "not valid TOML"),
    ("unknown-key.toml", "[[users]]\nuser_id = 'a'\n\n[[users]]\nuserid = 'b'\n", 4,
     "unknown key 'userid'"),
    ("not-text.toml", "[[users]]\nuser_id = 42\n", 1, "user_id must be text"),
    ("unknown-table.toml", "[[people]]\nuser_id = 'a'\n", 0, "unknown table 'people'"),
    ("dept-self-parent.toml", "[[departments]]\ndepartment_id = 'd'\nparent_id = 'd'\n", 1,
     "own parent"),
    ("dept-no-id.toml", "[[departments]]\nname = 'x'\n", 1, "department_id is required"),
    ("users-not-array.toml", "users = 'x'\n", 0, "[[users]]"),
    ("directory.json", "{}", 0, ".csv or .toml"),
]


@pytest.mark.parametrize(
    ("name", "text", "line", "phrase"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_malformed_files_name_the_line(
    tmp_path: Path, name: str, text: str, line: int, phrase: str
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(DirectoryFileError) as caught:
        load_directory_file(path)
    assert caught.value.line == line
    assert phrase in caught.value.message
    assert str(caught.value).startswith(f"{path}:{line}: " if line else f"{path}: ")


def test_missing_and_undecodable_files(tmp_path: Path) -> None:
    with pytest.raises(DirectoryFileError, match="cannot read"):
        load_directory_file(tmp_path / "absent.csv")
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00\x81\x30")
    with pytest.raises(DirectoryFileError, match="neither UTF-8 nor GB18030"):
        load_directory_file(path)
