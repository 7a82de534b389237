from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from bot.config_model import (
    ApprovalConfig,
    ApprovalStepConfig,
    CategoryConfig,
    Config,
    FinanceConfig,
)
from handlers.routing import (
    Basis,
    OrgUnit,
    RoutingConfigError,
    RoutingPolicy,
    next_step_summary,
    plan_route,
    plan_route_detailed,
    reason_text,
)
from storage.models import ApprovalStep, Claim, ClaimItem, ClaimStatus, Person

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)

# name, manager, departments
USERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "u_emp": ("张三", "u_mgr", ("d_east",)),
    "u_mgr": ("李四", "u_dir", ("d_east",)),
    "u_lead": ("赵组长", "u_dir", ("d_east",)),
    "u_dir": ("王总监", "u_ceo", ("d_sales",)),
    "u_ceo": ("钱总", "", ("d_root",)),
    "u_team": ("孙小组", "u_mgr", ("d_team",)),
    "u_orphan": ("周孤", "", ("d_east",)),
    "u_self": ("吴自管", "u_self", ("d_east",)),
    "u_loop": ("郑环", "u_mgr", ("d_loop1",)),
    "u_fin1": ("财务一", "u_cfo", ("d_fin",)),
    "u_fin2": ("财务二", "u_cfo", ("d_fin",)),
    "u_cfo": ("财务总监", "u_ceo", ("d_fin",)),
    "u_fb": ("备用人", "", ()),
    "u_x": ("小X", "", ()),
}
UNITS = {
    "d_root": OrgUnit("d_root", "公司", ("u_ceo",)),
    "d_sales": OrgUnit("d_sales", "销售部", ("u_dir",), "d_root"),
    "d_east": OrgUnit("d_east", "华东销售", ("u_lead",), "d_sales"),
    "d_team": OrgUnit("d_team", "无头小组", (), "d_sales"),
    "d_fin": OrgUnit("d_fin", "财务部", ("u_cfo",), "d_root"),
    "d_loop1": OrgUnit("d_loop1", "环一", (), "d_loop2"),
    "d_loop2": OrgUnit("d_loop2", "环二", (), "d_loop1"),
}


@dataclass
class FakeOrg:
    users: dict[str, tuple[str, str, tuple[str, ...]]] = field(default_factory=lambda: USERS)
    units: dict[str, OrgUnit] = field(default_factory=lambda: UNITS)

    async def manager_of(self, user_id: str) -> str:
        return self.users.get(user_id, ("", "", ()))[1]

    async def name_of(self, user_id: str) -> str:
        return self.users.get(user_id, ("", "", ()))[0]

    async def departments_of(self, user_id: str) -> tuple[str, ...]:
        return self.users.get(user_id, ("", "", ()))[2]

    async def department(self, department_id: str) -> OrgUnit | None:
        return self.units.get(department_id)


def claim(
    amount: str = "100.00", categories: tuple[str, ...] = ("taxi",), applicant: str = "u_emp",
    department: str = "", department_name: str = "", flags: tuple[str, ...] = (),
) -> Claim:
    share = Decimal(amount) / len(categories)
    items = tuple(ClaimItem(c, share, date(2026, 11, 28)) for c in categories)
    person = Person("feishu", applicant, USERS.get(applicant, ("",))[0], department,
                    department_name)
    return Claim("BX-2026-000001", person, items, ClaimStatus.SUBMITTED, NOW, NOW, flags=flags)


def step(name: str, approver: str, **conditions: Any) -> ApprovalStepConfig:
    for key in ("min_amount", "max_amount"):
        if key in conditions:
            conditions[key] = Decimal(conditions[key])
    return ApprovalStepConfig(name, approver, **conditions)


MANAGER = step("直属上级", "manager")
HEAD_5K = step("部门负责人", "department_head", min_amount="5000.00")
FINANCE = step("财务审核", "finance")
POLICY = RoutingPolicy(
    finance=("u_fin1", "u_fin2"), fallback=("u_fb",),
    category_names=(("taxi", "交通-打车"), ("entertainment", "业务招待")),
)


@dataclass(frozen=True)
class Case:
    id: str
    steps: tuple[ApprovalStepConfig, ...]
    expected: tuple[tuple[str, tuple[str, ...]], ...]  # (step name, approvers)
    claim: Claim = field(default_factory=claim)
    policy: RoutingPolicy = POLICY
    reasons: tuple[str, ...] = ()  # the Chinese reason of each step, exactly, when given
    reason_has: str = ""  # a phrase some step's reason contains


CASES = [
    # ── amount thresholds ─────────────────────────────────────────────────────────────
    Case("below-min-amount", (MANAGER, HEAD_5K), (("直属上级", ("u_mgr",)),),
         claim("4999.99"), reasons=("直属上级（来自通讯录）",)),
    Case("exactly-min-amount", (MANAGER, HEAD_5K),
         (("直属上级", ("u_mgr",)), ("部门负责人", ("u_lead",))), claim("5000.00"),
         reasons=("直属上级（来自通讯录）",
                  "金额 ¥5,000.00 ≥ ¥5,000.00，需部门负责人审批（华东销售）")),
    Case("above-min-amount", (HEAD_5K,), (("部门负责人", ("u_lead",)),), claim("6000.00"),
         reasons=("金额 ¥6,000.00 ≥ ¥5,000.00，需部门负责人审批（华东销售）",)),
    Case("exactly-max-amount", (step("小额", "users:u_x", max_amount="1000.00"),),
         (("小额", ("u_x",)),), claim("1000.00"),
         reasons=("金额 ¥1,000.00 ≤ ¥1,000.00，配置指定审批人",)),
    Case("above-max-amount", (step("小额", "users:u_x", max_amount="1000.00"),), (),
         claim("1000.01")),
    Case("inside-band", (step("中额", "users:u_x", min_amount="100", max_amount="200"),),
         (("中额", ("u_x",)),), claim("150.00")),
    # ── categories, flags, departments ────────────────────────────────────────────────
    Case("category-absent", (step("招待", "users:u_x", categories=("entertainment",)),), ()),
    Case("category-any-item", (step("招待", "users:u_x", categories=("entertainment",)),),
         (("招待", ("u_x",)),), claim("300", ("taxi", "entertainment")),
         reasons=("含类别 业务招待，配置指定审批人",)),
    Case("flag-absent", (step("超标", "users:u_x", flags=("max_per_item",)),), ()),
    Case("flag-with-detail", (step("超标", "users:u_x", flags=("max_per_item",)),),
         (("超标", ("u_x",)),), claim(flags=("max_per_item:taxi",)),
         reason_has="触发政策提示 max_per_item"),
    Case("department-by-id", (step("销售", "users:u_x", departments=("d_east",)),),
         (("销售", ("u_x",)),), claim(department="d_east")),
    Case("department-by-name-on-claim", (step("销售", "users:u_x", departments=("华东销售",)),),
         (("销售", ("u_x",)),), claim(department="d_x", department_name="华东销售")),
    Case("department-ancestor-name", (step("销售", "users:u_x", departments=("销售部",)),),
         (("销售", ("u_x",)),), reason_has="申请人属于 销售部"),
    Case("department-other", (step("研发", "users:u_x", departments=("研发部",)),), ()),
    Case("all-conditions-must-hold",
         (step("大额招待", "users:u_x", min_amount="1000", categories=("entertainment",)),),
         (), claim("5000", ("taxi",))),
    # ── resolvers ─────────────────────────────────────────────────────────────────────
    Case("users-step", (step("指定", "users:u_x, u_fb"),), (("指定", ("u_x", "u_fb")),)),
    Case("finance-step", (FINANCE,), (("财务审核", ("u_fin1", "u_fin2")),),
         reasons=("财务审核",)),
    Case("leaderless-department-defers-up", (step("负责人", "department_head"),),
         (("负责人", ("u_dir",)),), claim(applicant="u_team")),
    Case("config-order-kept", (step("指定", "users:u_x"), MANAGER, FINANCE),
         (("指定", ("u_x",)), ("直属上级", ("u_mgr",)), ("财务审核", ("u_fin1", "u_fin2")))),
    # ── the applicant never approves their own claim ──────────────────────────────────
    Case("self-only-users-escalates", (step("指定", "users:u_emp"),), (("指定", ("u_mgr",)),),
         reasons=("配置指定审批人，申请人不能审批自己的报销，已上升至 李四",)),
    Case("self-only-users-skipped", (step("指定", "users:u_emp"),), (),
         policy=replace(POLICY, self_approval="skip")),
    Case("self-removed-from-shared-step", (step("指定", "users:u_emp,u_x"),),
         (("指定", ("u_x",)),), reason_has="申请人本人不参与审批"),
    Case("finance-files-own-claim", (FINANCE,), (("财务审核", ("u_fin2",)),),
         claim(applicant="u_fin1")),
    Case("self-head-escalates-to-parent", (step("负责人", "department_head"),),
         (("负责人", ("u_dir",)),), claim(applicant="u_lead"),
         reasons=("需部门负责人审批（华东销售），申请人不能审批自己的报销，已上升至 王总监",)),
    Case("self-head-skipped", (step("负责人", "department_head"), FINANCE),
         (("财务审核", ("u_fin1", "u_fin2")),), claim(applicant="u_lead"),
         policy=replace(POLICY, self_approval="skip")),
    Case("self-head-escalation-depth-zero", (step("负责人", "department_head"),),
         (("负责人", ("u_fb",)),), claim(applicant="u_lead"),
         policy=replace(POLICY, max_escalation=0), reason_has="无法上升"),
    Case("self-fallback-only-skips", (MANAGER,), (), claim(applicant="u_fb"),
         policy=replace(POLICY, fallback=("u_fb",))),
    # ── merging ───────────────────────────────────────────────────────────────────────
    Case("merged-manager-and-head", (MANAGER, step("负责人", "department_head")),
         (("直属上级、负责人", ("u_dir",)),), claim(applicant="u_lead"),
         reasons=("直属上级（来自通讯录）；需部门负责人审批（华东销售），"
                  "申请人不能审批自己的报销，已上升至 王总监",)),
    Case("merged-same-set-any-order", (step("甲", "users:u_x,u_fb"), step("乙", "users:u_fb,u_x")),
         (("甲、乙", ("u_x", "u_fb")),)),
    Case("not-merged-when-apart", (step("甲", "users:u_x"), FINANCE, step("乙", "users:u_x")),
         (("甲", ("u_x",)), ("财务审核", ("u_fin1", "u_fin2")), ("乙", ("u_x",)))),
    Case("merged-across-a-skipped-step",
         (step("甲", "users:u_x"), step("自己", "users:u_emp"), step("乙", "users:u_x")),
         (("甲、乙", ("u_x",)),), policy=replace(POLICY, self_approval="skip")),
    # ── nobody to approve ─────────────────────────────────────────────────────────────
    Case("missing-manager-fallback", (MANAGER,), (("直属上级", ("u_fb",)),),
         claim(applicant="u_orphan"),
         reasons=("通讯录中没有直属上级，无法确定审批人，已转给备用审批人 备用人",)),
    Case("missing-manager-no-fallback", (MANAGER, FINANCE), (("财务审核", ("u_fin1", "u_fin2")),),
         claim(applicant="u_orphan"), policy=replace(POLICY, fallback=())),
    Case("unknown-applicant-fallback", (MANAGER,), (("直属上级", ("u_fb",)),),
         claim(applicant="u_ghost")),
    Case("manager-loop-guarded", (MANAGER,), (("直属上级", ("u_fb",)),),
         claim(applicant="u_self"), reason_has="无法上升"),
    Case("department-loop-guarded", (step("负责人", "department_head"),),
         (("负责人", ("u_fb",)),), claim(applicant="u_loop"),
         reason_has="通讯录中没有部门负责人"),
    Case("role-fallback", (FINANCE,), (("财务审核", ("u_lead",)),),
         policy=replace(POLICY, finance=(), fallback=(), fallback_role="department_head"),
         reasons=("未配置财务审批人，无法确定审批人，已转给备用审批人 赵组长",)),
    Case("role-fallback-manager", (step("负责人", "department_head"),), (("负责人", ("u_mgr",)),),
         claim(applicant="u_loop"), policy=replace(POLICY, fallback=(), fallback_role="manager")),
    Case("role-fallback-finds-no-one", (MANAGER,), (), claim(applicant="u_orphan"),
         policy=replace(POLICY, fallback=(), fallback_role="manager")),
    Case("no-finance-on-platform", (FINANCE,), (("财务审核", ("u_fb",)),),
         policy=replace(POLICY, finance=()), reason_has="未配置财务审批人"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_routing_table(case: Case) -> None:
    route = await plan_route(case.claim, case.steps, FakeOrg(), case.policy)
    assert [(s.name, s.approvers) for s in route] == list(case.expected)
    assert all(s.pending for s in route)
    if case.reasons:
        assert [s.reason for s in route] == list(case.reasons)
    if case.reason_has:
        assert any(case.reason_has in s.reason for s in route), [s.reason for s in route]


async def test_skipped_steps_are_reported_with_their_reason() -> None:
    policy = replace(POLICY, self_approval="skip", fallback=())
    plan = await plan_route_detailed(
        claim(applicant="u_orphan"), (step("指定", "users:u_orphan"), MANAGER), FakeOrg(), policy
    )
    assert plan.steps == ()
    assert [(s.name, s.source) for s in plan.skipped] == [("指定", 0), ("直属上级", 1)]
    assert [b.code for b in plan.skipped[0].basis] == ["users", "self_skipped"]
    assert [b.code for b in plan.skipped[1].basis] == ["no_manager", "no_approver"]


async def test_reasons_render_in_english_from_the_basis() -> None:
    plan = await plan_route_detailed(
        claim("6000.00", applicant="u_lead"), (MANAGER, HEAD_5K), FakeOrg(), POLICY
    )
    (merged,) = plan.steps
    assert merged.sources == (0, 1)
    assert [[b.code for b in group] for group in merged.basis] == [
        ["manager"], ["amount_min", "department_head", "self_escalated"]
    ]
    assert merged.reason("en-US") == (
        "direct manager (from the directory); amount ¥6,000.00 ≥ ¥5,000.00, "
        "department head approval (华东销售), "
        "the applicant cannot approve their own claim; escalated to 王总监"
    )
    assert merged.reason() == merged.step.reason


def test_basis_text_without_items_and_unknown_language() -> None:
    assert Basis("department_head").text() == "需部门负责人审批"
    fallback = Basis("fallback", ("甲", "乙"))
    assert fallback.text("fr-FR") == "无法确定审批人，已转给备用审批人 甲、乙"
    assert reason_text([[Basis("users")], [Basis("finance")]], "en-US") == (
        "approvers named in the config; finance review"
    )


async def test_unknown_approver_spec_is_a_typed_error() -> None:
    with pytest.raises(RoutingConfigError, match="boss"):
        await plan_route(claim(), (step("x", "boss"),), FakeOrg(), POLICY)


STEPS = (
    ApprovalStep("直属上级", ("u_mgr",)),
    ApprovalStep("财务审核", ("u_fin1", "u_fin2")),
)
NAMES = {"u_fin1": "财务一", "u_fin2": "财务二"}


@pytest.mark.parametrize(
    ("index", "names", "lang", "expected"),
    [
        (0, NAMES, "zh-CN", "下一步：财务审核（财务一、财务二，任一人审批即可）"),
        (0, None, "zh-CN", "下一步：财务审核（u_fin1、u_fin2，任一人审批即可）"),
        (0, NAMES, "en-US", "Next: 财务审核 (财务一, 财务二, any one of them)"),
        (1, NAMES, "zh-CN", "这是最后一步审批"),
        (2, NAMES, "zh-CN", ""),
        (-1, NAMES, "zh-CN", ""),
    ],
)
def test_next_step_summary(
    index: int, names: dict[str, str] | None, lang: str, expected: str
) -> None:
    assert next_step_summary(STEPS, index, names, lang) == expected


def test_next_step_summary_single_approver() -> None:
    steps = (STEPS[1], ApprovalStep("复核", ("u_cfo",)))
    assert next_step_summary(steps, 0, {"u_cfo": "财务总监"}) == "下一步：复核（财务总监）"


def config(fallback: str) -> Config:
    return Config(
        finance=FinanceConfig(feishu=("ou_fin",), wecom=("wangwu",)),
        categories=(CategoryConfig("taxi", "交通-打车"),),
        approval=ApprovalConfig(fallback=fallback),
    )


@pytest.mark.parametrize(
    ("fallback", "platform", "expected"),
    [
        ("", "feishu", ()),
        ("users:zhangsan, lisi", "feishu", ("zhangsan", "lisi")),
        ("finance", "wecom", ("wangwu",)),
        ("finance", "dingtalk", ()),
    ],
)
def test_policy_from_config(fallback: str, platform: str, expected: tuple[str, ...]) -> None:
    policy = RoutingPolicy.from_config(config(fallback), platform, self_approval="skip")
    assert policy.fallback == expected
    assert policy.finance == config(fallback).finance.for_platform(platform)
    assert policy.self_approval == "skip"
    assert policy.category_names == (("taxi", "交通-打车"),)


def test_policy_from_config_keeps_a_role_fallback() -> None:
    policy = RoutingPolicy.from_config(config("department_head"), "feishu")
    assert (policy.fallback, policy.fallback_role) == ((), "department_head")
    with pytest.raises(RoutingConfigError, match=r"approval\.fallback"):
        RoutingPolicy.from_config(config("boss"), "feishu")
