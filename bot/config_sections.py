"""One builder per config section (design.md §4.2): a :class:`Table` in, a frozen object out.

Builders never raise. Problems go to the table's shared list and placeholders keep the objects
constructible, so ``bot.config`` can report every mistake of a file at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast, get_args

from bot import config_checks as checks
from bot.config_backend import build_backend
from bot.config_budgets import build_budgets
from bot.config_checks import (
    Table,
    approver_problem,
    metrics_token,
    rate,
    storage_url_problem,
    uscc_problem,
)
from bot.config_invoices import build_invoices
from bot.config_model import (
    ApprovalConfig,
    ApprovalStepConfig,
    CategoryConfig,
    CategoryFieldConfig,
    CompanyConfig,
    Config,
    DingtalkConfig,
    DingtalkMode,
    DirectoryConfig,
    FeishuConfig,
    FeishuMode,
    FieldKind,
    FinanceConfig,
    LogFormat,
    PolicyRule,
    ServerConfig,
    StorageConfig,
    WecomConfig,
)
from bot.directory_file import load_directory_file

# The tables whose keys environment variables may set ([[categories]] is an array: file only).
ENV_SECTIONS = (
    "server",
    "storage",
    "feishu",
    "wecom",
    "dingtalk",
    "company",
    "backend",
    "finance",
    "approval",
    "directory",
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
AES_KEY = re.compile(r"^[A-Za-z0-9]{43}$")
CODE = re.compile(r"^[a-z][a-z0-9_-]*$")
ONE_GIB = 1024**3


def build_config(
    data: Mapping[str, Any], env: Mapping[str, Mapping[str, str]], problems: list[str]
) -> Config:
    """The whole config; ``env`` maps section -> key -> the variable that set it."""
    root = Table("", data, problems)

    def section(name: str) -> Table | None:
        return root.section(name, env.get(name))

    config = Config(
        server=build_server(section("server")),
        storage=build_storage(section("storage")),
        feishu=build_feishu(section("feishu")),
        wecom=build_wecom(section("wecom")),
        dingtalk=build_dingtalk(section("dingtalk")),
        company=build_company(section("company")),
        backend=build_backend(section("backend")),
        finance=(finance := build_finance(section("finance"))),
        categories=(categories := build_categories(root.tables("categories"))),
        approval=build_approval(section("approval"), categories, finance),
        directory=build_directory(section("directory")),
        invoices=build_invoices(section("invoices")),
        budgets=build_budgets(root.tables("budgets"), categories),
    )
    root.finish()
    return config


def build_server(table: Table | None) -> ServerConfig:
    default = ServerConfig()
    if table is None:
        return default
    host = table.text("host", default.host)
    if not host.strip():
        table.problem("host", "must not be empty")
    level = table.text("log_level", default.log_level).upper()
    if level not in LOG_LEVELS:
        table.problem("log_level", f"must be one of {' | '.join(LOG_LEVELS)}, not {level!r}")
        level = default.log_level
    server = ServerConfig(
        host=host,
        port=table.integer("port", default.port, 1, 65535),
        public_url=table.url("public_url"),
        log_format=cast(LogFormat, table.choice("log_format", get_args(LogFormat), "text")),
        log_level=level,
        max_body_bytes=table.integer("max_body_bytes", default.max_body_bytes, 1024, ONE_GIB),
        shutdown_timeout=table.number("shutdown_timeout", default.shutdown_timeout),
        metrics_token=metrics_token(table),
        rate_limit_route=rate(table, "rate_limit_route", default.rate_limit_route),
        rate_limit_route_burst=table.integer(
            "rate_limit_route_burst", default.rate_limit_route_burst, 1, 10**9
        ),
        rate_limit_sender=rate(table, "rate_limit_sender", default.rate_limit_sender),
        rate_limit_sender_burst=table.integer(
            "rate_limit_sender_burst", default.rate_limit_sender_burst, 1, 10**9
        ),
    )
    table.finish()
    return server


def build_storage(table: Table | None) -> StorageConfig:
    default = StorageConfig()
    if table is None:
        return default
    url = table.text("url", default.url).strip()
    problem = storage_url_problem(url)
    if problem:
        table.problem("url", problem)
    storage = StorageConfig(
        url=url,
        attachment_max_bytes=table.integer(
            "attachment_max_bytes", default.attachment_max_bytes, 1024, ONE_GIB
        ),
    )
    table.finish()
    return storage


def aes_key(table: Table, key: str, *, required: bool) -> str:
    """A 43-character EncodingAESKey (WeCom, DingTalk HTTP events)."""
    value = table.text(key, required=required)
    if value and not AES_KEY.match(value):
        table.problem(key, f"must be 43 characters, letters and digits (got {len(value)})")
    return value


def build_feishu(table: Table | None) -> FeishuConfig | None:
    if table is None:
        return None
    feishu = FeishuConfig(
        app_id=table.text("app_id", required=True),
        app_secret=table.text("app_secret", required=True),
        verification_token=table.text("verification_token", required=True),
        encrypt_key=table.text("encrypt_key"),
        base_url=table.url("base_url", "https://open.feishu.cn"),
        mode=cast(FeishuMode, table.choice("mode", get_args(FeishuMode), "webhook")),
    )
    table.finish()
    return feishu


def build_wecom(table: Table | None) -> WecomConfig | None:
    if table is None:
        return None
    corp_id = table.text("corp_id", required=True)
    agent_id = table.optional_int("agent_id", 1, 2**63 - 1)
    if agent_id is None and table.data.get("agent_id") is None:
        table.problem("agent_id", "required")
    secret = table.text("secret", required=True)
    token = table.text("token", required=True)
    if token and not re.fullmatch(r"[A-Za-z0-9]{1,32}", token):
        table.problem("token", "must be 1 to 32 letters and digits")
    wecom = WecomConfig(
        corp_id=corp_id,
        agent_id=agent_id or 0,
        secret=secret,
        token=token,
        encoding_aes_key=aes_key(table, "encoding_aes_key", required=True),
        base_url=table.url("base_url", "https://qyapi.weixin.qq.com"),
    )
    table.finish()
    return wecom


def build_dingtalk(table: Table | None) -> DingtalkConfig | None:
    if table is None:
        return None
    mode = cast(DingtalkMode, table.choice("mode", get_args(DingtalkMode), "stream"))
    http = mode == "http"
    event_token = table.text("event_token")
    if http and not event_token.strip():
        table.problem("event_token", 'required when mode = "http"')
    dingtalk = DingtalkConfig(
        client_id=table.text("client_id", required=True),
        client_secret=table.text("client_secret", required=True),
        mode=mode,
        event_token=event_token,
        event_aes_key=aes_key(table, "event_aes_key", required=False),
        card_template_id=table.text("card_template_id"),
        card_callback_token=table.text("card_callback_token"),
        base_url=table.url("base_url", "https://api.dingtalk.com"),
        oapi_base_url=table.url("oapi_base_url", "https://oapi.dingtalk.com"),
    )
    if http and not dingtalk.event_aes_key:
        table.problem("event_aes_key", 'required when mode = "http"')
    if http and len(dingtalk.card_callback_token) < 16:
        table.problem(
            "card_callback_token",
            'mode = "http" needs an unguessable token of at least 16 characters '
            "(it is the secret path of the card callback route)",
        )
    table.finish()
    return dingtalk


def build_company(table: Table | None) -> CompanyConfig:
    if table is None:
        return CompanyConfig()
    tax_id = table.text("tax_id").strip().upper()
    problem = uscc_problem(tax_id) if tax_id else ""
    if problem:
        table.problem("tax_id", problem)
    company = CompanyConfig(name=table.text("name").strip(), tax_id=tax_id)
    table.finish()
    return company


def build_finance(table: Table | None) -> FinanceConfig:
    if table is None:
        return FinanceConfig()
    finance = FinanceConfig(
        feishu=table.strings("feishu"),
        wecom=table.strings("wecom"),
        dingtalk=table.strings("dingtalk"),
    )
    table.finish()
    return finance


def policy_rules(table: Table, key: str) -> tuple[PolicyRule, ...]:
    known = get_args(PolicyRule)
    rules = table.strings(key)
    for rule in rules:
        if rule not in known:
            table.problem(key, f"unknown rule {rule!r} (one of {' | '.join(known)})")
    return tuple(cast(PolicyRule, rule) for rule in rules if rule in known)


def build_field(table: Table) -> CategoryFieldConfig:
    key = table.text("key", required=True)
    if key and not re.fullmatch(r"[a-z][a-z0-9_]*", key):
        table.problem("key", f"must be lowercase letters, digits and _, not {key!r}")
    field = CategoryFieldConfig(
        key=key,
        label=table.text("label", required=True),
        kind=cast(FieldKind, table.choice("kind", get_args(FieldKind), "text")),
        required=table.boolean("required", True),
    )
    table.finish()
    return field


def build_category(table: Table) -> CategoryConfig:
    code = table.text("code", required=True)
    if code and not CODE.match(code):
        table.problem("code", f"must be lowercase letters, digits, - and _, not {code!r}")
    field_tables = table.tables("fields")
    fields = tuple(build_field(field) for field in field_tables)
    for index, field in enumerate(fields):
        if field.key and field.key in {other.key for other in fields[:index]}:
            field_tables[index].problem("key", f"duplicate field key {field.key!r}")
    category = CategoryConfig(
        code=code,
        name=table.text("name", required=True),
        aliases=table.strings("aliases"),
        max_per_item=table.money("max_per_item"),
        receipt_required_above=table.money("receipt_required_above"),
        max_age_days=table.optional_int("max_age_days", 1, 3650),
        flag_weekends=table.boolean("flag_weekends", False),
        block=policy_rules(table, "block"),
        fields=fields,
    )
    table.finish()
    return category


def build_categories(tables: list[Table]) -> tuple[CategoryConfig, ...]:
    categories = tuple(build_category(table) for table in tables)
    codes: dict[str, int] = {}
    words: dict[str, int] = {}
    for index, (table, category) in enumerate(zip(tables, categories, strict=True)):
        first = codes.setdefault(category.code, index)
        if category.code and first != index:
            table.problem("code", f"duplicate code {category.code!r} (also categories[{first}])")
        for word in sorted({w.casefold() for w in (category.name, *category.aliases) if w}):
            other = words.setdefault(word, index)
            if other != index:
                table.problem("aliases", f"{word!r} also names categories[{other}]")
    return categories


def build_step(table: Table, codes: frozenset[str], finance: FinanceConfig) -> ApprovalStepConfig:
    approver = table.text("approver", required=True).strip()
    problem = approver_problem(approver) if approver else ""
    if problem:
        table.problem("approver", problem)
    if approver == "finance" and not (finance.feishu or finance.wecom or finance.dingtalk):
        table.problem("approver", '"finance" needs at least one id in [finance]')
    categories = table.strings("categories")
    for code in categories:
        if code not in codes:
            table.problem("categories", f"unknown category {code!r} (not a [[categories]] code)")
    step = ApprovalStepConfig(
        name=table.text("name", required=True),
        approver=approver,
        min_amount=table.money("min_amount"),
        max_amount=table.money("max_amount"),
        categories=categories,
        departments=table.strings("departments"),
        flags=policy_rules(table, "flags"),
    )
    low, high = step.min_amount, step.max_amount
    if low is not None and high is not None and low > high:
        table.problem("min_amount", f"{low} is greater than max_amount {high}")
    table.finish()
    return step


def build_approval(
    table: Table | None, categories: tuple[CategoryConfig, ...], finance: FinanceConfig
) -> ApprovalConfig:
    if table is None:
        return ApprovalConfig()
    codes = frozenset(category.code for category in categories)
    fallback = table.text("fallback").strip()
    problem = approver_problem(fallback) if fallback else ""
    if problem:
        table.problem("fallback", problem)
    approval = ApprovalConfig(
        steps=tuple(build_step(step, codes, finance) for step in table.tables("steps")),
        fallback=fallback,
        remind_after_hours=table.integer("remind_after_hours", 0, 0, 24 * 30),
        remind_every_hours=table.integer("remind_every_hours", 0, 0, 24 * 30),
        quiet_hours=table.parsed("quiet_hours", "", checks.parse_clock_range),
        escalate_after_reminders=table.integer("escalate_after_reminders", 0, 0, 100),
        timezone=table.parsed("timezone", "Asia/Shanghai", checks.parse_timezone),
    )
    table.finish()
    return approval


def build_directory(table: Table | None) -> DirectoryConfig:
    """``[directory] file``: it must exist and load (a problem names the file's line)."""
    if table is None:
        return DirectoryConfig()
    directory = DirectoryConfig(file=table.parsed("file", "", load_directory_file))
    table.finish()
    return directory
