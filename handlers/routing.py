"""Approval routing as pure rules: which configured steps apply to a claim, and who approves each.

Steps go in config order; a step applies when all its conditions hold (min/max amount inclusive,
an item of its categories, one of its policy flags, the applicant in or below its departments).
The applicant never approves their own claim: they leave a shared step, and a step only they could
approve escalates or is skipped (:class:`RoutingPolicy`). A step with no approver goes to the
fallback and says so; consecutive steps with the same approvers merge. Reasons are kept as
:class:`Basis` records, so a card can say in Chinese or English which rule put a step there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal, Protocol

from bot.config_model import ApprovalStepConfig, Config
from storage.models import ApprovalStep, Claim
from storage.money import format_cny

SelfApproval = Literal["escalate", "skip"]
MAX_CHAIN = 32  # no real org chart is deeper; a longer parent chain is a loop in the data


class RoutingConfigError(ValueError):
    """The approval config cannot be turned into a routing policy."""


@dataclass(frozen=True, slots=True)
class OrgUnit:
    unit_id: str
    name: str = ""
    head_ids: tuple[str, ...] = ()
    parent_id: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,) if self.name else ()


class OrgDirectory(Protocol):
    """The org chart as routing needs it; unknown people and departments are empty answers.

    A directory that cannot answer now (platform down) raises, so the routing is retried later
    rather than sent to the fallback approver.
    """

    async def manager_of(self, user_id: str) -> str: ...

    async def name_of(self, user_id: str) -> str: ...

    async def departments_of(self, user_id: str) -> tuple[str, ...]: ...

    async def department(self, department_id: str) -> OrgUnit | None: ...


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    finance: tuple[str, ...] = ()  # finance approver user ids on the claim's platform
    self_approval: SelfApproval = "escalate"
    fallback: tuple[str, ...] = ()  # approvers of a step that resolves to no one; () = skip it
    max_escalation: int = 3  # levels a self-approval may climb before giving up
    category_names: tuple[tuple[str, str], ...] = ()  # (code, name) for the reasons
    fallback_role: str = ""  # "manager" | "department_head": resolved when ``fallback`` is ()

    @classmethod
    def from_config(
        cls, config: Config, platform: str, *,
        self_approval: SelfApproval = "escalate", max_escalation: int = 3,
    ) -> RoutingPolicy:
        finance = config.finance.for_platform(platform)
        spec = config.approval.fallback.strip()
        role = spec if spec in ("manager", "department_head") else ""
        if spec == "finance":
            fallback = finance
        elif spec.startswith("users:"):
            fallback = _user_ids(spec)
        elif spec and not role:
            raise RoutingConfigError(f"approval.fallback is not an approver: {spec!r}")
        else:
            fallback = ()
        names = tuple((c.code, c.name) for c in config.categories)
        return cls(finance, self_approval, fallback, max_escalation, names, role)


def _user_ids(spec: str) -> tuple[str, ...]:
    return tuple(i.strip() for i in spec.removeprefix("users:").split(",") if i.strip())


@dataclass(frozen=True, slots=True)
class Basis:
    """One machine-readable reason: ``code`` names the rule, the rest fills its sentence."""

    code: str
    items: tuple[str, ...] = ()  # names, categories, departments, flags
    amount: str = ""  # formatted, e.g. "¥6,000.00"
    limit: str = ""

    def text(self, lang: str = "zh-CN") -> str:
        table = _texts(lang)
        template = table.get(self.code, self.code)
        if not self.items and f"{self.code}_bare" in table:
            template = table[f"{self.code}_bare"]
        joined = table["list"].join(self.items)
        return template.format(items=joined, amount=self.amount, limit=self.limit)


TEXTS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "list": "、", "and": "，", "then": "；",
        "amount_min": "金额 {amount} ≥ {limit}", "amount_max": "金额 {amount} ≤ {limit}",
        "category": "含类别 {items}", "flag": "触发政策提示 {items}",
        "department": "申请人属于 {items}", "manager": "直属上级（来自通讯录）",
        "department_head": "需部门负责人审批（{items}）",
        "department_head_bare": "需部门负责人审批",
        "finance": "财务审核", "users": "配置指定审批人",
        "self_removed": "申请人本人不参与审批", "last": "这是最后一步审批",
        "self_escalated": "申请人不能审批自己的报销，已上升至 {items}",
        "no_manager": "通讯录中没有直属上级", "no_department_head": "通讯录中没有部门负责人",
        "no_finance": "未配置财务审批人", "self_only": "申请人是本步唯一审批人且无法上升",
        "fallback": "无法确定审批人，已转给备用审批人 {items}",
        "self_skipped": "申请人是本步唯一审批人，按配置跳过",
        "no_approver": "无法确定审批人，也没有可用的备用审批人，已跳过",
        "next": "下一步：{name}（{who}）", "next_any": "{who}，任一人审批即可",
    },
    "en-US": {
        "list": ", ", "and": ", ", "then": "; ",
        "amount_min": "amount {amount} ≥ {limit}", "amount_max": "amount {amount} ≤ {limit}",
        "category": "has category {items}", "flag": "policy flag {items}",
        "department": "applicant in {items}", "manager": "direct manager (from the directory)",
        "department_head": "department head approval ({items})",
        "department_head_bare": "department head approval",
        "finance": "finance review", "users": "approvers named in the config",
        "self_removed": "the applicant does not approve their own claim",
        "self_escalated": "the applicant cannot approve their own claim; escalated to {items}",
        "no_manager": "no direct manager in the directory",
        "no_department_head": "no department head in the directory",
        "no_finance": "no finance approvers configured",
        "self_only": "the applicant is the only approver and no one is above them",
        "fallback": "no approver could be found; sent to the fallback approver {items}",
        "self_skipped": "the applicant is the only approver; skipped by policy",
        "no_approver": "no approver and no available fallback approver; skipped",
        "next": "Next: {name} ({who})", "next_any": "{who}, any one of them",
        "last": "This is the last approval step",
    },
}


def reason_text(groups: Sequence[Sequence[Basis]], lang: str = "zh-CN") -> str:
    """One step's reason: the bases of each merged config step, in order."""
    table = _texts(lang)
    return table["then"].join(table["and"].join(b.text(lang) for b in group) for group in groups)


def _texts(lang: str) -> dict[str, str]:
    return TEXTS.get(lang) or TEXTS["zh-CN"]


@dataclass(frozen=True, slots=True)
class PlannedStep:
    step: ApprovalStep  # reason in Chinese
    basis: tuple[tuple[Basis, ...], ...]  # one group per config step merged into this one
    sources: tuple[int, ...]  # indices into the configured steps

    def reason(self, lang: str = "zh-CN") -> str:
        return reason_text(self.basis, lang)


@dataclass(frozen=True, slots=True)
class SkippedStep:
    name: str
    source: int
    basis: tuple[Basis, ...]


@dataclass(frozen=True, slots=True)
class RoutePlan:
    steps: tuple[PlannedStep, ...]
    skipped: tuple[SkippedStep, ...]  # steps that applied but have no one to approve them


@dataclass(frozen=True, slots=True)
class _Found:
    approvers: tuple[str, ...]  # () = no one, see basis for why
    basis: tuple[Basis, ...]
    skip: bool = False  # the applicant alone could approve and the policy skips such steps


@dataclass(frozen=True, slots=True)
class _Context:
    claim: Claim
    org: OrgDirectory
    policy: RoutingPolicy

    @property
    def applicant(self) -> str:
        return self.claim.applicant.user_id

    async def names(self, user_ids: Sequence[str]) -> tuple[str, ...]:
        return tuple([await self.org.name_of(u) or u for u in user_ids])


async def plan_route(
    claim: Claim, steps: Sequence[ApprovalStepConfig], org: OrgDirectory, policy: RoutingPolicy
) -> list[ApprovalStep]:
    """The claim's approval steps, in order, each with its Chinese reason."""
    plan = await plan_route_detailed(claim, steps, org, policy)
    return [planned.step for planned in plan.steps]


async def plan_route_detailed(
    claim: Claim, steps: Sequence[ApprovalStepConfig], org: OrgDirectory, policy: RoutingPolicy
) -> RoutePlan:
    """Like :func:`plan_route`, keeping the bases of every reason and the skipped steps."""
    context = _Context(claim, org, policy)
    planned: list[PlannedStep] = []
    skipped: list[SkippedStep] = []
    for index, config in enumerate(steps):
        conditions = await _conditions(context, config)
        if conditions is None:
            continue
        found = await _with_fallback(context, await _resolve(context, config.approver))
        basis = conditions + found.basis
        if not found.approvers:
            skipped.append(SkippedStep(config.name, index, basis))
            continue
        step = ApprovalStep(config.name, found.approvers, reason_text([basis]))
        _append_merged(planned, PlannedStep(step, (basis,), (index,)))
    return RoutePlan(tuple(planned), tuple(skipped))


def _append_merged(planned: list[PlannedStep], new: PlannedStep) -> None:
    last = planned[-1] if planned else None
    if last is None or set(last.step.approvers) != set(new.step.approvers):
        planned.append(new)
        return
    basis = last.basis + new.basis
    step = replace(last.step, name=f"{last.step.name}、{new.step.name}", reason=reason_text(basis))
    planned[-1] = PlannedStep(step, basis, last.sources + new.sources)


async def _conditions(context: _Context, config: ApprovalStepConfig) -> tuple[Basis, ...] | None:
    """The bases of a step whose conditions all hold, or ``None`` when it does not apply."""
    claim, total = context.claim, context.claim.total
    found: list[Basis] = []
    if config.min_amount is not None:
        if total < config.min_amount:
            return None
        found.append(_amount("amount_min", total, config.min_amount))
    if config.max_amount is not None:
        if total > config.max_amount:
            return None
        found.append(_amount("amount_max", total, config.max_amount))
    if config.categories:
        codes = {item.category for item in claim.items}
        names = dict(context.policy.category_names)
        hits = tuple(names.get(c, c) for c in config.categories if c in codes)
        if not hits:
            return None
        found.append(Basis("category", hits))
    if config.flags:
        marks = {mark.split(":", 1)[0] for mark in claim.flags}  # "rule" or "rule:detail"
        hits = tuple(f for f in config.flags if f in marks)
        if not hits:
            return None
        found.append(Basis("flag", hits))
    if config.departments:
        department = await _department_match(context, config.departments)
        if not department:
            return None
        found.append(Basis("department", (department,)))
    return tuple(found)


def _amount(code: str, total: Decimal, limit: Decimal) -> Basis:
    return Basis(code, amount=format_cny(total), limit=format_cny(limit))


async def _department_match(context: _Context, wanted: Sequence[str]) -> str:
    """The configured department (id or name) the applicant is in or below, or ``""``."""
    applicant = context.claim.applicant
    for known in (applicant.department_id, applicant.department_name):
        if known and known in wanted:
            return known
    for start in await _home_departments(context):
        for unit in await _unit_chain(context.org, start):
            for known in (unit.unit_id, unit.name):
                if known and known in wanted:
                    return unit.name or known
    return ""


async def _home_departments(context: _Context) -> tuple[str, ...]:
    own = context.claim.applicant.department_id
    listed = await context.org.departments_of(context.applicant)
    return tuple(dict.fromkeys(d for d in (own, *listed) if d))


async def _unit_chain(org: OrgDirectory, department_id: str) -> list[OrgUnit]:
    """The department and its ancestors, nearest first; a loop in the parents ends the chain."""
    chain: list[OrgUnit] = []
    seen: set[str] = set()
    while department_id and department_id not in seen and len(chain) < MAX_CHAIN:
        seen.add(department_id)
        unit = await org.department(department_id)
        if unit is None:
            break
        chain.append(unit)
        department_id = unit.parent_id
    return chain


async def _resolve(context: _Context, spec: str) -> _Found:
    spec = spec.strip()
    if spec == "department_head":
        return await _department_head(context)
    if spec == "manager":
        manager = await context.org.manager_of(context.applicant)
        found: tuple[str, ...] = (manager,) if manager else ()
        return await _not_self(context, found, Basis("manager"), Basis("no_manager"))
    if spec == "finance":
        found = context.policy.finance
        return await _not_self(context, found, Basis("finance"), Basis("no_finance"))
    if spec.startswith("users:"):
        return await _not_self(context, _user_ids(spec), Basis("users"), Basis("users"))
    raise RoutingConfigError(f"unknown approver {spec!r}")


async def _not_self(
    context: _Context, found: tuple[str, ...], basis: Basis, missing: Basis
) -> _Found:
    """Keep the applicant off the step; if only they were on it, escalate or skip."""
    found = tuple(dict.fromkeys(found))
    others = tuple(u for u in found if u != context.applicant)
    if others:
        return _Found(others, (basis, Basis("self_removed")) if others != found else (basis,))
    if not found:
        return _Found((), (missing,))
    if context.policy.self_approval == "skip":
        return _Found((), (basis, Basis("self_skipped")), skip=True)
    above = await context.org.manager_of(context.applicant)
    if not above or above == context.applicant:
        return _Found((), (basis, Basis("self_only")))
    return _Found((above,), (basis, Basis("self_escalated", await context.names([above]))))


async def _department_head(context: _Context) -> _Found:
    """Heads of the applicant's department; a leaderless one defers to the nearest ancestor.

    When the applicant heads their department alone, the step climbs to the parent department's
    head (at most ``max_escalation`` levels), or is skipped, per the policy.
    """
    homes = await _home_departments(context)
    chain = await _unit_chain(context.org, homes[0]) if homes else []
    climbed = 0
    for unit in chain:
        heads = tuple(dict.fromkeys(h for h in unit.head_ids if h != context.applicant))
        alone = not heads and context.applicant in unit.head_ids
        if alone and context.policy.self_approval == "skip":
            return _Found((), (Basis("department_head", unit.names), Basis("self_skipped")), True)
        if alone:
            climbed += 1
            if climbed > context.policy.max_escalation:
                return _Found((), (Basis("department_head", unit.names), Basis("self_only")))
        if not heads:
            continue
        basis = [Basis("department_head", (chain[0] if climbed else unit).names)]
        if climbed:
            basis.append(Basis("self_escalated", await context.names(heads)))
        elif context.applicant in unit.head_ids:
            basis.append(Basis("self_removed"))
        return _Found(heads, tuple(basis))
    return _Found((), (Basis("self_only" if climbed else "no_department_head"),))


async def _with_fallback(context: _Context, found: _Found) -> _Found:
    if found.approvers or found.skip:
        return found
    fallback = tuple(dict.fromkeys(u for u in context.policy.fallback if u != context.applicant))
    if not fallback and context.policy.fallback_role:
        fallback = (await _resolve(context, context.policy.fallback_role)).approvers
    if not fallback:
        return _Found((), (*found.basis, Basis("no_approver")))
    names = await context.names(fallback)
    return _Found(fallback, (*found.basis, Basis("fallback", names)))


def next_step_summary(
    steps: Sequence[ApprovalStep], index: int,
    names: Mapping[str, str] | None = None, lang: str = "zh-CN",
) -> str:
    """Who acts after step ``index``, for the card; ``""`` when ``index`` is not a step."""
    if not 0 <= index < len(steps):
        return ""
    table = _texts(lang)
    if index + 1 == len(steps):
        return table["last"]
    following = steps[index + 1]
    shown = [(names or {}).get(u) or u for u in following.approvers]
    who = table["list"].join(shown)
    if len(shown) > 1:
        who = table["next_any"].format(who=who)
    return table["next"].format(name=following.name, who=who)
