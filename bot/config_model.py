"""The configuration as frozen, typed objects (design.md §4.2). Loading lives in ``bot.config``."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from bot.einvoice.checks import SUGGESTED_BLOCKING

# The enumerations the loader validates against (``typing.get_args`` gives their values).
LogFormat = Literal["text", "json"]
FeishuMode = Literal["webhook", "websocket"]
DingtalkMode = Literal["stream", "http"]
BackendKind = Literal["webhook", "hesi", "none"]
FieldKind = Literal["text", "number", "money", "date"]
# Policy rules a category may break; each raises a flag of the same name (a warning by default).
PolicyRule = Literal[
    "max_per_item", "receipt_required", "future_date", "too_old", "weekend", "over_budget"
]
BudgetPeriod = Literal["month", "quarter", "year"]


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "0.0.0.0"  # noqa: S104 - a server binds all interfaces unless told otherwise
    port: int = 8080
    public_url: str = ""
    log_format: LogFormat = "text"
    log_level: str = "INFO"
    max_body_bytes: int = 1024 * 1024
    shutdown_timeout: float = 10.0
    metrics_token: str = ""  # when set, GET /metrics needs "Authorization: Bearer <token>"
    # Token buckets in each instance (bot.ratelimit); a rate of 0 turns that limit off.
    rate_limit_route: float = 2000.0  # requests a second to one route
    rate_limit_route_burst: int = 4000
    rate_limit_sender: float = 20.0  # events a second from one platform user
    rate_limit_sender_burst: int = 200


@dataclass(frozen=True, slots=True)
class StorageConfig:
    url: str = "sqlite:///claimbot.db"
    attachment_max_bytes: int = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class FeishuConfig:
    app_id: str
    app_secret: str
    verification_token: str
    encrypt_key: str = ""
    base_url: str = "https://open.feishu.cn"
    mode: FeishuMode = "webhook"


@dataclass(frozen=True, slots=True)
class WecomConfig:
    corp_id: str
    agent_id: int
    secret: str
    token: str
    encoding_aes_key: str
    base_url: str = "https://qyapi.weixin.qq.com"


@dataclass(frozen=True, slots=True)
class DingtalkConfig:
    client_id: str
    client_secret: str
    mode: DingtalkMode = "stream"
    event_token: str = ""
    event_aes_key: str = ""
    card_template_id: str = ""
    card_callback_token: str = ""  # http mode: unguessable path segment of the card callback route
    base_url: str = "https://api.dingtalk.com"
    oapi_base_url: str = "https://oapi.dingtalk.com"


@dataclass(frozen=True, slots=True)
class CompanyConfig:
    name: str = ""
    tax_id: str = ""


@dataclass(frozen=True, slots=True)
class BackendConfig:
    kind: BackendKind = "none"
    url: str = ""
    secret: str = ""
    app_key: str = ""  # hesi
    app_secret: str = ""  # hesi
    timeout: float = 10.0  # seconds for one call to the backend
    template: str = ""  # webhook: jinja2 file mapping the unified payload (.json.j2 or .xml.j2)
    corp_id: str = ""  # hesi: 企业ID, the tenant's corporation id
    specification_id: str = ""  # hesi: the expense template id (without ":version")
    fee_types: tuple[tuple[str, str], ...] = ()  # hesi: (category code, feeTypeId)
    default_fee_type: str = ""  # hesi: feeTypeId for categories fee_types does not name
    outer_code_prefix: str = "claimbot-"  # hesi: outerCode = prefix + claim id
    callback_token: str = ""  # hesi: unguessable path segment for its outbound messages
    poll_interval: int = 300  # hesi: seconds between state polls of approved claims; 0 = off


@dataclass(frozen=True, slots=True)
class FinanceConfig:
    feishu: tuple[str, ...] = ()
    wecom: tuple[str, ...] = ()
    dingtalk: tuple[str, ...] = ()

    def for_platform(self, platform: str) -> tuple[str, ...]:
        return {"feishu": self.feishu, "wecom": self.wecom, "dingtalk": self.dingtalk}.get(
            platform, ()
        )


@dataclass(frozen=True, slots=True)
class CategoryFieldConfig:
    """An extra input a category asks for (招待: customer, guests; 差旅: from, to)."""

    key: str
    label: str
    kind: FieldKind = "text"
    required: bool = True


@dataclass(frozen=True, slots=True)
class CategoryConfig:
    code: str
    name: str
    aliases: tuple[str, ...] = ()
    max_per_item: Decimal | None = None
    receipt_required_above: Decimal | None = None
    max_age_days: int | None = None  # items dated longer ago than this are flagged "too_old"
    flag_weekends: bool = False  # items dated on a Saturday or Sunday are flagged "weekend"
    block: tuple[PolicyRule, ...] = ()  # rules that block submission instead of warning
    fields: tuple[CategoryFieldConfig, ...] = ()


@dataclass(frozen=True, slots=True)
class ApprovalStepConfig:
    name: str
    approver: str  # manager | department_head | finance | users:<id>,<id>
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    categories: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    flags: tuple[PolicyRule, ...] = ()  # the step applies only to claims carrying one of these


@dataclass(frozen=True, slots=True)
class ApprovalConfig:
    steps: tuple[ApprovalStepConfig, ...] = ()
    fallback: str = ""  # approver spec for a step that resolves to no one; "" = skip the step
    remind_after_hours: int = 0  # remind an approver after this long; 0 = no reminders
    remind_every_hours: int = 0  # then again after each such interval; 0 = remind_after_hours
    quiet_hours: str = ""  # "22:00-08:00": no reminder inside; it goes out when they end
    escalate_after_reminders: int = 0  # later reminders also tell the approver's manager; 0 = never
    timezone: str = "Asia/Shanghai"  # the wall clock of quiet_hours: IANA name or "+08:00"

    @property
    def reminders(self) -> bool:
        return self.remind_after_hours > 0


@dataclass(frozen=True, slots=True)
class InvoicesConfig:
    # e-invoice checks (bot.einvoice.RULES) that block submitting; the others warn
    block: tuple[str, ...] = tuple(sorted(SUGGESTED_BLOCKING))


@dataclass(frozen=True, slots=True)
class BudgetConfig:
    """``[[budgets]]``: what a department may spend in each calendar period (handlers.budgets)."""

    department: str  # department id or name, as the applicant's department on the claim
    period: BudgetPeriod
    amount: Decimal
    categories: tuple[str, ...] = ()  # only items of these category codes count; () = all
    block: bool = False  # an over-budget claim cannot be submitted (else the flag only warns)


@dataclass(frozen=True, slots=True)
class DirectoryConfig:
    file: str = ""  # an HR export (CSV or TOML) that fills or overrides the platforms' org chart


@dataclass(frozen=True, slots=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    feishu: FeishuConfig | None = None
    wecom: WecomConfig | None = None
    dingtalk: DingtalkConfig | None = None
    company: CompanyConfig = field(default_factory=CompanyConfig)
    backend: BackendConfig = field(default_factory=BackendConfig)
    finance: FinanceConfig = field(default_factory=FinanceConfig)
    categories: tuple[CategoryConfig, ...] = ()
    approval: ApprovalConfig = field(default_factory=ApprovalConfig)
    directory: DirectoryConfig = field(default_factory=DirectoryConfig)
    invoices: InvoicesConfig = field(default_factory=InvoicesConfig)
    budgets: tuple[BudgetConfig, ...] = ()

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(
            name
            for name, section in (
                ("feishu", self.feishu), ("wecom", self.wecom), ("dingtalk", self.dingtalk)
            )
            if section is not None
        )
