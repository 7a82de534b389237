"""The config loader: the example loads, env wins, and every mistake is reported with its path."""

from __future__ import annotations

import copy
import dataclasses
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.config import (
    ConfigError,
    check_config,
    load_config,
    parse_config,
    redact,
    secret_values,
)
from bot.config_checks import Table, uscc_check_char, uscc_problem
from bot.config_model import Config

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
DELETE = object()


def example() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


def changed(*edits: tuple[tuple[str | int, ...], object]) -> dict[str, Any]:
    """The example with each ``(path, value)`` set (``DELETE`` removes the key)."""
    data = copy.deepcopy(example())
    for path, value in edits:
        holder: Any = data
        for part in path[:-1]:
            holder = holder[part]
        if value is DELETE:
            del holder[path[-1]]
        else:
            holder[path[-1]] = value
    return data


def problems_of(data: dict[str, Any], environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, environ or {})
    return caught.value.problems


# ── the example ────────────────────────────────────────────────────────────────────────────


def test_example_loads_with_every_section() -> None:
    config = load_config(EXAMPLE, environ={})
    assert config.platforms == ("feishu", "wecom", "dingtalk")
    assert config.server.port == 8080
    assert config.storage.url == "sqlite:///claimbot.db"
    assert config.wecom is not None
    assert config.wecom.agent_id == 1000002
    assert config.backend.kind == "webhook"
    assert config.company.tax_id == "91110000MA01ABCD1M"
    assert config.finance.for_platform("wecom") == ("wangwu",)
    codes = [category.code for category in config.categories]
    assert codes[:4] == ["taxi", "meal", "travel", "entertainment"]
    assert config.categories[0].max_per_item == Decimal("300.00")
    assert [step.approver for step in config.approval.steps] == [
        "manager",
        "department_head",
        "finance",
    ]
    assert config.approval.steps[1].min_amount == Decimal("5000.00")
    assert [field.key for field in config.categories[3].fields] == ["customer", "guests"]


def test_check_config_passes_the_example() -> None:
    code, text = check_config(EXAMPLE, environ={})
    assert code == 0
    assert text.startswith("ok: ")
    assert "feishu (webhook), wecom, dingtalk (stream)" in text
    assert "backend webhook" in text
    assert "3 approval steps" in text
    assert "change-me" not in text


def test_config_is_frozen() -> None:
    config = load_config(EXAMPLE, environ={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.server.port = 1  # type: ignore[misc]


def test_empty_document_is_the_defaults() -> None:
    assert parse_config({}, {}) == Config()


# ── absent sections turn things off ───────────────────────────────────────────────────────


@pytest.mark.parametrize("platform", ["feishu", "wecom", "dingtalk"])
def test_absent_platform_section_disables_it(platform: str) -> None:
    config = parse_config(changed(((platform,), DELETE)), {})
    assert getattr(config, platform) is None
    assert platform not in config.platforms
    assert len(config.platforms) == 2


def test_absent_optional_sections_fall_back_to_defaults() -> None:
    data = changed(
        (("backend",), DELETE),
        (("company",), DELETE),
        (("approval",), DELETE),
        (("feishu",), DELETE),
        (("wecom",), DELETE),
        (("dingtalk",), DELETE),
    )
    config = parse_config(data, {})
    assert config.platforms == ()
    assert config.backend.kind == "none"
    assert config.company.tax_id == ""
    assert config.approval.steps == ()


# ── every validation rule ─────────────────────────────────────────────────────────────────


def edit(path: str, value: object) -> tuple[tuple[str | int, ...], object]:
    """``("categories[2].fields[1].key", v)`` -> ``(("categories", 2, "fields", 1, "key"), v)``."""
    parts = path.replace("]", "").replace("[", ".").split(".")
    return tuple(int(part) if part.isdigit() else part for part in parts), value


def bad(
    case_id: str, path: str, value: object, message: str, *more: tuple[str, object], at: str = ""
) -> Any:
    """A broken example: ``path`` set to ``value`` (and ``more`` edits) must report ``message``."""
    data = changed(edit(path, value), *(edit(p, v) for p, v in more))
    return pytest.param(data, f"{at or path}: {message}", id=case_id)


PORT = "must be an integer from 1 to 65535"
URL = "must be an http(s) URL"
APPROVER = "must be manager | department_head | finance | users:<id>,<id>"
NOT_FLOAT = 'must be a quoted decimal string such as "300.00", not a float (money is never float)'
HTTP_ONLY = 'required when mode = "http"'

INVALID = [
    bad("port-zero", "server.port", 0, PORT),
    bad("port-high", "server.port", 70000, PORT),
    bad("port-string", "server.port", "8080", PORT),
    bad("port-bool", "server.port", True, PORT),
    bad("unknown-key", "server.prot", 80, "unknown key (did you mean 'port'?)"),
    bad("host-type", "server.host", 5, "must be a string, not integer"),
    bad("host-empty", "server.host", " ", "must not be empty"),
    bad("log-format", "server.log_format", "xml", 'must be one of "text" | "json"'),
    bad("log-level", "server.log_level", "loud", "must be one of DEBUG"),
    bad("body-size", "server.max_body_bytes", 10, "must be an integer from 1024"),
    bad("timeout", "server.shutdown_timeout", 0, "must be a number greater than 0"),
    bad("public-url", "server.public_url", "ftp://x.org", URL),
    bad("metrics-token-short", "server.metrics_token", "short", "must be at least 16 printable"),
    bad("metrics-token-text", "server.metrics_token", "令牌" * 10, "must be at least 16 printable"),
    bad("rate-negative", "server.rate_limit_sender", -1, "must be a number greater than 0"),
    bad("rate-text", "server.rate_limit_route", "fast", "must be a number greater than 0"),
    bad("rate-bool", "server.rate_limit_route", False, "must be a number greater than 0"),
    bad("burst-zero", "server.rate_limit_sender_burst", 0, "must be an integer from 1"),
    bad("section-type", "server", 5, "must be a table ([server]), not integer"),
    bad(
        "storage-scheme",
        "storage.url",
        "mysql://db/claims",
        "unknown scheme 'mysql' (use sqlite:/// or redis://)",
    ),
    bad("storage-sqlite-path", "storage.url", "sqlite://", "sqlite needs a file path"),
    bad("storage-redis-host", "storage.url", "redis://", "redis needs a host"),
    bad("storage-redis-port", "storage.url", "redis://h:99999/0", "bad redis URL"),
    bad("storage-unix", "storage.url", "unix://", "unix needs a socket path"),
    bad("storage-not-url", "storage.url", "claimbot.db", "not a URL"),
    bad("attachments", "storage.attachment_max_bytes", -1, "must be an integer"),
    bad("feishu-secret", "feishu.app_secret", DELETE, "required"),
    bad("feishu-secret-blank", "feishu.app_secret", "", "required"),
    bad("feishu-token", "feishu.verification_token", DELETE, "required"),
    bad(
        "feishu-mode", "feishu.mode", "poll", 'must be one of "webhook" | "websocket", not \'poll\''
    ),
    bad("feishu-base-url", "feishu.base_url", "open.feishu.cn", URL),
    bad("wecom-aes-short", "wecom.encoding_aes_key", "short", "must be 43 characters"),
    bad("wecom-aes-chars", "wecom.encoding_aes_key", "+" * 43, "must be 43 characters, letters"),
    bad("wecom-agent-type", "wecom.agent_id", "1000002", "must be an integer"),
    bad("wecom-agent-missing", "wecom.agent_id", DELETE, "required"),
    bad("wecom-corp", "wecom.corp_id", DELETE, "required"),
    bad("wecom-token", "wecom.token", "has space", "must be 1 to 32 letters and digits"),
    bad("wecom-base-url", "wecom.base_url", "http://", URL),
    bad("dingtalk-mode", "dingtalk.mode", "webhook", 'must be one of "stream" | "http"'),
    bad("dt-token", "dingtalk.event_token", DELETE, HTTP_ONLY, ("dingtalk.mode", "http")),
    bad("dt-aes", "dingtalk.event_aes_key", DELETE, HTTP_ONLY, ("dingtalk.mode", "http")),
    bad("dingtalk-aes", "dingtalk.event_aes_key", "x" * 44, "must be 43 characters"),
    bad("invoice-rule", "invoices.block", ["totals", "nope"], "unknown check(s) nope"),
    bad("dt-card-token", "dingtalk.card_callback_token", "short", 'mode = "http" needs an',
        ("dingtalk.mode", "http")),
    bad("dingtalk-secret", "dingtalk.client_secret", DELETE, "required"),
    bad("dingtalk-oapi", "dingtalk.oapi_base_url", "oapi.dingtalk.com", URL),
    bad("tax-id-check", "company.tax_id", "91110000MA01ABCD1A", "check digit does not match"),
    bad("tax-id-length", "company.tax_id", "91110000XXXXXXXXX", "must be 18 characters"),
    bad("tax-id-chars", "company.tax_id", "91110000MA01ABCDIO", "invalid character(s) 'IO'"),
    bad("backend-kind", "backend.kind", "ftp", 'must be one of "webhook" | "hesi" | "none"'),
    bad("backend-url", "backend.url", DELETE, 'required when kind = "webhook"'),
    bad("backend-secret", "backend.secret", "", 'required when kind = "webhook"'),
    bad("backend-url-scheme", "backend.url", "erp.example.com", URL),
    bad("hesi-key", "backend.kind", "hesi", 'required when kind = "hesi"', at="backend.app_key"),
    bad(
        "hesi-secret",
        "backend.kind",
        "hesi",
        'required when kind = "hesi"',
        at="backend.app_secret",
    ),
    bad("finance-string", "finance.wecom", "wangwu", "must be an array of strings, not string"),
    bad("finance-item", "finance.wecom", [1], "must be a non-empty string", at="finance.wecom[0]"),
    bad("category-dup", "categories[1].code", "taxi", "duplicate code 'taxi' (also categories[0])"),
    bad("category-code", "categories[0].code", "Taxi!", "must be lowercase letters"),
    bad("category-name", "categories[0].name", DELETE, "required"),
    bad("money-float", "categories[0].max_per_item", 300.0, NOT_FLOAT),
    bad("money-text", "categories[0].max_per_item", "abc", "not a decimal amount"),
    bad("money-nan", "categories[0].max_per_item", "NaN", "not a decimal amount"),
    bad("money-negative", "categories[0].max_per_item", "-1", "must not be negative"),
    bad("money-places", "categories[0].max_per_item", "1.234", "must have at most two decimal"),
    bad("money-huge", "categories[0].max_per_item", "1e30", "must be at most 99999999999.99"),
    bad("money-bool", "categories[0].receipt_required_above", True, "not a decimal amount"),
    bad("alias-clash", "categories[1].aliases", ["打车"], "'打车' also names categories[0]"),
    bad("aliases-type", "categories[0].aliases", "打车", "must be an array of strings"),
    bad("block-rule", "categories[0].block", ["nope"], "unknown rule 'nope'"),
    bad("max-age", "categories[0].max_age_days", 0, "must be an integer from 1 to 3650"),
    bad("weekend-type", "categories[0].flag_weekends", "yes", "must be true or false, not string"),
    bad("field-kind", "categories[2].fields[0].kind", "blob", "must be one of"),
    bad("field-dup", "categories[2].fields[1].key", "from_city", "duplicate field key 'from_city'"),
    bad("field-key", "categories[2].fields[1].key", "To City", "must be lowercase"),
    bad("field-label", "categories[2].fields[1].label", DELETE, "required"),
    bad(
        "cat-typo", "categories[0].max_per_itme", "1", "unknown key (did you mean 'max_per_item'?)"
    ),
    bad(
        "categories-type",
        "categories",
        {"code": "x"},
        "must be an array of tables ([[categories]])",
    ),
    bad("step-amount", "approval.steps[2].min_amount", "abc", "not a decimal amount"),
    bad("step-float", "approval.steps[2].max_amount", 1e4, "must be a quoted decimal string"),
    bad("step-approver", "approval.steps[2].approver", "boss", f"{APPROVER}, not 'boss'"),
    bad(
        "step-users-empty", "approval.steps[2].approver", "users:", "users:<id>,<id> needs at least"
    ),
    bad("step-users-blank", "approval.steps[2].approver", "users:a,,b", "users:<id>,<id> needs"),
    bad("step-approver-missing", "approval.steps[2].approver", DELETE, "required"),
    bad("step-name", "approval.steps[2].name", DELETE, "required"),
    bad(
        "step-min-max",
        "approval.steps[1].max_amount",
        "1000.00",
        "5000.00 is greater than max_amount 1000.00",
        at="approval.steps[1].min_amount",
    ),
    bad("step-category", "approval.steps[2].categories", ["golf"], "unknown category 'golf'"),
    bad("step-flag", "approval.steps[2].flags", ["late"], "unknown rule 'late'"),
    bad(
        "step-finance",
        "finance",
        DELETE,
        '"finance" needs at least one id in [finance]',
        at="approval.steps[2].approver",
    ),
    bad("step-typo", "approval.steps[2].aprover", "x", "unknown key (did you mean 'approver'?)"),
    bad("fallback", "approval.fallback", "nobody", APPROVER),
    bad("remind", "approval.remind_after_hours", -1, "must be an integer from 0 to 720"),
    bad(
        "steps-type", "approval.steps", "manager", "must be an array of tables ([[approval.steps]])"
    ),
    bad("quiet-shape", "approval.quiet_hours", "22-8", 'must look like "22:00-08:00", not'),
    bad("quiet-range", "approval.quiet_hours", "25:00-08:00", "hours run from 00 to 23"),
    bad("quiet-empty", "approval.quiet_hours", "08:00-08:00", "start and end are the same"),
    bad("quiet-type", "approval.quiet_hours", 22, "must be a string, not integer"),
    bad("timezone", "approval.timezone", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
    bad("tz-offset", "approval.timezone", "+15:00", "offset out of range"),
    bad("remind-every", "approval.remind_every_hours", 1000, "must be an integer from 0 to 720"),
    bad("escalate", "approval.escalate_after_reminders", -1, "must be an integer from 0 to 100"),
    bad("directory-missing", "directory", {"file": "/nonexistent/hr.csv"}, "/nonexistent/hr.csv: "
        "cannot read", at="directory.file"),
    bad("directory-not-hr", "directory", {"file": str(EXAMPLE)}, f"{EXAMPLE}: unknown table",
        at="directory.file"),
    bad("directory-typo", "directory", {"fiel": "hr.csv"}, "unknown key (did you mean 'file'?)",
        at="directory.fiel"),
    bad("unknown-section", "extra", {"a": 1}, "unknown section"),
    bad("unknown-top-key", "debug", True, "unknown key"),
]


@pytest.mark.parametrize(("data", "expected"), INVALID)
def test_each_rule_reports_its_key_path(data: dict[str, Any], expected: str) -> None:
    problems = problems_of(data)
    assert any(problem.startswith(expected) for problem in problems), problems


def good(
    case_id: str, path: str, value: object, expected: object, *more: tuple[str, object]
) -> Any:
    data = changed(edit(path, value), *(edit(p, v) for p, v in more))
    return pytest.param(data, path, expected, id=case_id)


VALID = [
    good("users-approver", "approval.steps[2].approver", "users:alice,bob", "users:alice,bob"),
    good("redis", "storage.url", "redis://:pw@127.0.0.1:6379/0", "redis://:pw@127.0.0.1:6379/0"),
    good("unix", "storage.url", "unix:///run/redis.sock?db=1", "unix:///run/redis.sock?db=1"),
    good("sqlite-abs", "storage.url", "sqlite:////var/lib/c.db", "sqlite:////var/lib/c.db"),
    good("rediss", "storage.url", "rediss://cache:6380/1", "rediss://cache:6380/1"),
    good("tax-id-case", "company.tax_id", "91110000ma01abcd1m", "91110000MA01ABCD1M"),
    good("tax-id-empty", "company.tax_id", "", ""),
    good("money-int", "categories[0].max_per_item", 300, Decimal("300.00")),
    good("money-commas", "categories[0].max_per_item", "1,000.5", Decimal("1000.50")),
    good("url-slash", "feishu.base_url", "http://127.0.0.1:9000/", "http://127.0.0.1:9000"),
    good("log-level-case", "server.log_level", "debug", "DEBUG"),
    good(
        "hesi",
        "backend.kind",
        "hesi",
        "hesi",
        ("backend.app_key", "k"),
        ("backend.app_secret", "s"),
    ),
    good("dingtalk-http", "dingtalk.mode", "http", "http"),
    good("no-encrypt-key", "feishu.encrypt_key", DELETE, ""),
    good("no-public-url", "server.public_url", DELETE, ""),
    good("timeout-int", "server.shutdown_timeout", 3, 3.0),
    good("rate-off", "server.rate_limit_sender", 0, 0.0),
    good("rate-off-float", "server.rate_limit_route", 0.0, 0.0),
    good("rate-int", "server.rate_limit_route", 50, 50.0),
    good("metrics-token", "server.metrics_token", "x" * 16, "x" * 16),
    good("quiet-spaces", "approval.quiet_hours", " 21:30 - 07:00 ", "21:30 - 07:00"),
    good("quiet-none", "approval.quiet_hours", "", ""),
    good("tz-offset", "approval.timezone", "+08:00", "+08:00"),
    good("tz-utc", "approval.timezone", "UTC", "UTC"),
    good("tz-default", "approval.timezone", DELETE, "Asia/Shanghai"),
    good("escalate", "approval.escalate_after_reminders", 2, 2),
]


def value_at(config: Config, dotted: str) -> object:
    value: Any = config
    for part in edit(dotted, None)[0]:
        value = value[part] if isinstance(part, int) else getattr(value, part)
    return value


@pytest.mark.parametrize(("data", "path", "expected"), VALID)
def test_accepted_values(data: dict[str, Any], path: str, expected: object) -> None:
    assert value_at(parse_config(data, {}), path) == expected


# ── every problem at once ─────────────────────────────────────────────────────────────────

FIVE_MISTAKES = (
    EXAMPLE.read_text(encoding="utf-8")
    .replace("port = 8080", "prot = 8080")
    .replace('url = "sqlite:///claimbot.db"', 'url = "mysql://db/claims"')
    .replace("ChangeMeToTheEncodingAESKeyOfYourWeComApp00", "tooshort")
    .replace('app_secret = "change-me"                # App Secret', "# no app secret")
    .replace('approver = "finance"', 'approver = "finance"\nmin_amount = 12.5')
)  # fmt: skip
FIVE_PATHS = [
    "server.prot: unknown key",
    "storage.url: unknown scheme 'mysql' (use sqlite:/// or redis://)",
    "feishu.app_secret: required",
    "wecom.encoding_aes_key: must be 43 characters",
    "approval.steps[2].min_amount: must be a quoted decimal string",
]


def test_five_mistakes_are_all_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(FIVE_MISTAKES, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    problems = caught.value.problems
    assert len(problems) == 5, problems
    for expected in FIVE_PATHS:
        assert sum(problem.startswith(expected) for problem in problems) == 1, expected
    assert str(caught.value).splitlines() == problems

    code, text = check_config(path, environ={})
    assert code == 2
    assert text.splitlines()[0] == f"{path}: 5 problems"
    for expected in FIVE_PATHS:
        assert expected in text


def test_problems_in_many_sections_and_array_items_are_all_collected() -> None:
    data = changed(
        edit("server.port", "x"),
        edit("categories[0].max_per_item", 1.5),
        edit("categories[1].max_per_item", 2.5),
        edit("approval.steps[2].min_amount", "?"),
        edit("approval.steps[0].min_amount", "?"),
    )
    problems = problems_of(data)
    assert len(problems) == 5
    assert {problem.split(":")[0] for problem in problems} == {
        "server.port",
        "categories[0].max_per_item",
        "categories[1].max_per_item",
        "approval.steps[0].min_amount",
        "approval.steps[2].min_amount",
    }


# ── the environment ───────────────────────────────────────────────────────────────────────


def test_env_wins_over_the_file() -> None:
    environ = {
        "CLAIMBOT_FEISHU__APP_SECRET": "from-env-secret",
        "CLAIMBOT_STORAGE__URL": "redis://127.0.0.1:6379/3",
        "CLAIMBOT_SERVER__PORT": "9000",
        "CLAIMBOT_SERVER__SHUTDOWN_TIMEOUT": "2.5",
        "CLAIMBOT_FINANCE__WECOM": "zhangsan, lisi,",
        "CLAIMBOT_WECOM__AGENT_ID": "1000005",
        "CLAIMBOT_APPROVAL__REMIND_AFTER_HOURS": "4",
    }
    config = load_config(EXAMPLE, environ)
    assert config.feishu is not None
    assert config.feishu.app_secret == "from-env-secret"
    assert config.storage.url == "redis://127.0.0.1:6379/3"
    assert config.server.port == 9000
    assert config.server.shutdown_timeout == 2.5
    assert config.finance.wecom == ("zhangsan", "lisi")
    assert config.wecom is not None
    assert config.wecom.agent_id == 1000005
    assert config.approval.remind_after_hours == 4
    assert len(config.approval.steps) == 3


def test_env_creates_a_section_the_file_lacks() -> None:
    environ = {
        "CLAIMBOT_WECOM__CORP_ID": "ww0000",
        "CLAIMBOT_WECOM__AGENT_ID": "1000002",
        "CLAIMBOT_WECOM__SECRET": "s3cret",
        "CLAIMBOT_WECOM__TOKEN": "tok",
        "CLAIMBOT_WECOM__ENCODING_AES_KEY": "a" * 43,
        "CLAIMBOT_BACKEND__KIND": "none",
    }
    config = parse_config({}, environ)
    assert config.platforms == ("wecom",)
    assert config.wecom is not None
    assert (config.wecom.agent_id, config.wecom.secret) == (1000002, "s3cret")


def test_env_partial_section_reports_what_is_missing() -> None:
    problems = problems_of({}, {"CLAIMBOT_FEISHU__APP_SECRET": "x"})
    assert problems == ["feishu.app_id: required", "feishu.verification_token: required"]


ENV_PROBLEMS = [
    ("CLAIMBOT_SERVER__PORT", "abc", f"server.port: {PORT}"),
    ("CLAIMBOT_SERVER__PROT", "80", "server.prot: unknown key (did you mean 'port'?)"),
    ("CLAIMBOT_STORAGE__URL", "mysql://x", "storage.url: unknown scheme 'mysql'"),
    ("CLAIMBOT_SERVER__SHUTDOWN_TIMEOUT", "soon", "server.shutdown_timeout: must be a number"),
    ("CLAIMBOT_SERVER__RATE_LIMIT_SENDER", "-2", "server.rate_limit_sender: must be a number"),
    ("CLAIMBOT_SERVER__METRICS_TOKEN", "abc", "server.metrics_token: must be at least 16"),
    ("CLAIMBOT_APPROVAL__STEPS", "manager", "approval.steps: must be an array of tables"),
    ("CLAIMBOT_APPROVAL__REMIND_AFTER_HOURS", "-3", "approval.remind_after_hours: must be"),
    ("CLAIMBOT_FINANCE__FEISHU", ",", None),
]


@pytest.mark.parametrize(("name", "value", "expected"), ENV_PROBLEMS)
def test_bad_env_values_name_the_variable(name: str, value: str, expected: str | None) -> None:
    if expected is None:  # an empty list is a valid list
        parse_config(example(), {name: value})
        return
    (problem,) = problems_of(example(), {name: value})
    assert problem.startswith(expected)
    assert problem.endswith(f"(from {name})")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CLAIMBOT_CATEGORIES__CODE", "'categories' cannot be set from the environment"),
        ("CLAIMBOT_NOPE__KEY", "'nope' cannot be set from the environment"),
        ("CLAIMBOT_SERVER__", "names no key"),
    ],
)
def test_env_variables_that_set_nothing_are_refused(name: str, expected: str) -> None:
    problems = problems_of(example(), {name: "1"})
    assert len(problems) == 1
    assert problems[0].startswith(f"{name}: {expected}")


@pytest.mark.parametrize(
    ("value", "expected"), [("yes", True), ("1", True), ("false", False), ("off", False)]
)
def test_env_booleans_are_coerced(value: str, expected: bool) -> None:
    table = Table("categories[0]", {"flag_weekends": value}, [], {"flag_weekends": "CLAIMBOT_X"})
    assert table.boolean("flag_weekends", not expected) is expected
    assert table.problems == []


def test_a_string_is_not_a_boolean_in_the_file() -> None:
    data = {"categories": [{"code": "taxi", "name": "打车", "flag_weekends": "yes"}]}
    assert problems_of(data) == ["categories[0].flag_weekends: must be true or false, not string"]


def test_unrelated_and_empty_variables_are_ignored() -> None:
    environ = {
        "CLAIMBOT_TEST_REDIS_URL": "redis://127.0.0.1:6379",
        "PATH": "/usr/bin",
        "CLAIMBOT_FEISHU__APP_SECRET": "",
    }
    config = load_config(EXAMPLE, environ)
    assert config.feishu is not None
    assert config.feishu.app_secret == "change-me"


def test_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMBOT_SERVER__PORT", "9123")
    assert load_config(EXAMPLE).server.port == 9123


# ── files ─────────────────────────────────────────────────────────────────────────────────


def test_toml_syntax_error_is_a_clean_config_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[server]\nport = 8080\nhost = "0.0.0.0\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}: invalid TOML: ")
    assert "line 3" in problem
    assert check_config(path, environ={})[0] == 2


@pytest.mark.parametrize(
    ("content", "expected"),
    [(None, "cannot read the file"), (b"\xff\xfe[server]", "not UTF-8 text")],
    ids=["missing", "not-utf8"],
)
def test_unreadable_files_are_config_errors(
    tmp_path: Path, content: bytes | None, expected: str
) -> None:
    path = tmp_path / "config.toml"
    if content is not None:
        path.write_bytes(content)
    code, text = check_config(path, environ={})
    assert code == 2
    assert f"{path}: {expected}" in text


def test_a_directory_is_not_a_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_config(tmp_path, environ={})


def test_parse_config_refuses_a_non_table() -> None:
    with pytest.raises(ConfigError, match="must be a table of sections"):
        parse_config([], {})  # type: ignore[arg-type]


def test_config_error_is_a_value_error_with_lines() -> None:
    error = ConfigError(["a.b: one", "c.d: two"])
    assert isinstance(error, ValueError)
    assert str(error) == "a.b: one\nc.d: two"


# ── secrets ───────────────────────────────────────────────────────────────────────────────


def test_secret_values_lists_every_secret_longest_first() -> None:
    environ = {
        "CLAIMBOT_FEISHU__APP_SECRET": "feishu-app-secret",
        "CLAIMBOT_FEISHU__VERIFICATION_TOKEN": "feishu-verify",
        "CLAIMBOT_FEISHU__ENCRYPT_KEY": "feishu-encrypt",
        "CLAIMBOT_WECOM__SECRET": "wecom-secret",
        "CLAIMBOT_WECOM__TOKEN": "wecomtoken",
        "CLAIMBOT_DINGTALK__CLIENT_SECRET": "ding-client-secret",
        "CLAIMBOT_DINGTALK__EVENT_TOKEN": "ding-event-token",
        "CLAIMBOT_DINGTALK__CARD_CALLBACK_TOKEN": "ding-card-path",
        "CLAIMBOT_BACKEND__SECRET": "backend-hmac",
        "CLAIMBOT_STORAGE__URL": "redis://:redis-password@127.0.0.1:6379/0",
        "CLAIMBOT_BACKEND__URL": "https://claimbot:erp-password@erp.example.com/hook",
    }
    config = load_config(EXAMPLE, environ)
    secrets = secret_values(config)
    for name, value in environ.items():
        if not name.endswith("__URL"):
            assert value in secrets, name
    assert "redis-password" in secrets
    assert "erp-password" in secrets
    assert "ChangeMeToTheEncodingAESKeyOfYourWeComApp00" in secrets
    assert "ChangeMeToTheEventAesKeyOfYourDingTalkApp00" in secrets
    assert config.feishu is not None
    assert config.feishu.app_id not in secrets
    assert [len(s) for s in secrets] == sorted((len(s) for s in secrets), reverse=True)
    assert "" not in secrets


def test_summary_never_shows_a_secret() -> None:
    environ = {
        "CLAIMBOT_STORAGE__URL": "redis://:redis-password@[::1]:6379/0",
        "CLAIMBOT_BACKEND__URL": "https://claimbot:erp-password@erp.example.com/hook",
    }
    code, text = check_config(EXAMPLE, environ)
    assert code == 0
    assert "storage redis ([::1]:6379/0)" in text
    assert "backend webhook (https://erp.example.com/hook)" in text
    config = load_config(EXAMPLE, environ)
    assert not [secret for secret in secret_values(config) if secret in text]


def test_disabled_platforms_have_no_secrets() -> None:
    data = changed((("feishu",), DELETE), (("wecom",), DELETE), (("dingtalk",), DELETE))
    data["backend"] = {"kind": "none"}
    assert secret_values(parse_config(data, {})) == []


@pytest.mark.parametrize(("value", "expected"), [("", ""), ("abc", "***"), ("x" * 40, "***")])
def test_redact(value: str, expected: str) -> None:
    assert redact(value) == expected


# ── 统一社会信用代码 ──────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "code", ["91350100M000100Y43", "914403001922038216", "91330100716105852F", "9144030071526726XG"]
)
def test_published_credit_codes_pass(code: str) -> None:
    assert uscc_problem(code) == ""
    assert uscc_check_char(code[:17]) == code[17]


# ── reminders and the directory file ─────────────────────────────────────────────────────


def test_example_reminder_settings() -> None:
    approval = load_config(EXAMPLE, environ={}).approval
    assert approval.reminders
    assert (approval.remind_after_hours, approval.remind_every_hours) == (24, 24)
    assert approval.quiet_hours == "22:00-08:00"
    assert (approval.escalate_after_reminders, approval.timezone) == (3, "Asia/Shanghai")
    assert load_config(EXAMPLE, environ={}).directory.file == ""


def test_reminders_are_off_by_default() -> None:
    approval = parse_config({}, {}).approval
    assert not approval.reminders
    assert (approval.remind_every_hours, approval.escalate_after_reminders) == (0, 0)


def test_directory_file_loads(tmp_path: Path) -> None:
    hr = tmp_path / "hr.csv"
    hr.write_text("user_id,name,manager_id\nzhangsan,张三,lisi\n", encoding="utf-8")
    config = parse_config(changed(edit("directory", {"file": str(hr)})), {})
    assert config.directory.file == str(hr)
    from_env = parse_config(example(), {"CLAIMBOT_DIRECTORY__FILE": str(hr)})
    assert from_env.directory.file == str(hr)


def test_malformed_directory_file_names_its_line(tmp_path: Path) -> None:
    hr = tmp_path / "hr.csv"
    hr.write_text("user_id,name,manager_id\nzhangsan,张三,lisi\nlisi,李四\n", encoding="utf-8")
    problems = problems_of(changed(edit("directory", {"file": str(hr)})))
    assert problems == [f"directory.file: {hr}:3: 2 fields, the header has 3"]
    env_problems = problems_of(example(), {"CLAIMBOT_DIRECTORY__FILE": str(hr)})
    assert env_problems == [
        f"directory.file: {hr}:3: 2 fields, the header has 3 (from CLAIMBOT_DIRECTORY__FILE)"
    ]


def test_env_sets_reminder_keys() -> None:
    environ = {
        "CLAIMBOT_APPROVAL__QUIET_HOURS": "23:00-07:00",
        "CLAIMBOT_APPROVAL__ESCALATE_AFTER_REMINDERS": "2",
        "CLAIMBOT_APPROVAL__TIMEZONE": "UTC+8",
    }
    approval = load_config(EXAMPLE, environ).approval
    assert (approval.quiet_hours, approval.escalate_after_reminders) == ("23:00-07:00", 2)
    assert approval.timezone == "UTC+8"
    problems = problems_of(example(), {"CLAIMBOT_APPROVAL__QUIET_HOURS": "night"})
    assert problems == [
        "approval.quiet_hours: must look like \"22:00-08:00\", not 'night' "
        "(from CLAIMBOT_APPROVAL__QUIET_HOURS)"
    ]


# ── [backend]: connector keys (issue 8) ────────────────────────────────────────────────────


def test_backend_connector_keys_load(tmp_path: Path) -> None:
    template = tmp_path / "erp.xml.j2"
    template.write_text("<bill>{{ claim.id }}</bill>", encoding="utf-8")
    data = changed(
        edit("backend.kind", "hesi"), edit("backend.app_key", "k"), edit("backend.app_secret", "s"),
        edit("backend.template", str(template)), edit("backend.timeout", 4),
        edit("backend.corp_id", "CORP01"), edit("backend.callback_token", "a" * 32),
        edit("backend.fee_types", {"taxi": "corp:taxi", "meal": "corp:meal"}),
        edit("backend.poll_interval", 0),
    )
    backend = parse_config(data, {}).backend
    assert backend.template == str(template)
    assert backend.timeout == 4.0
    assert backend.specification_id == "ID01exampleSpec"
    assert backend.fee_types == (("meal", "corp:meal"), ("taxi", "corp:taxi"))
    assert (backend.callback_token, backend.poll_interval) == ("a" * 32, 0)
    assert backend.outer_code_prefix == "claimbot-"
    from_env = parse_config(example(), {"CLAIMBOT_BACKEND__CALLBACK_TOKEN": "b" * 40})
    assert from_env.backend.callback_token == "b" * 40


@pytest.mark.parametrize(("path", "value", "message"), [
    ("backend.template", "erp.txt", "backend.template: must end in .json.j2 or .xml.j2"),
    ("backend.template", "/nonexistent/erp.json.j2", "backend.template: no such file"),
    ("backend.callback_token", "short", "backend.callback_token: must be 24 to 128 letters"),
    ("backend.timeout", 0, "backend.timeout: must be a number greater than 0"),
    ("backend.poll_interval", -1, "backend.poll_interval: must be an integer from 0 to 86400"),
    ("backend.fee_types", {"taxi": ""}, "backend.fee_types.taxi: must be a non-empty feeTypeId"),
    ("backend.fee_types", "taxi", "backend.fee_types: must be a table"),
    ("backend.specification_id", "", 'backend.specification_id: required when kind = "hesi"'),
    ("backend.tempalte", "x", "backend.tempalte: unknown key (did you mean 'template'?)"),
])
def test_backend_connector_key_problems(path: str, value: object, message: str) -> None:
    data = changed(edit("backend.kind", "hesi"), edit("backend.app_key", "k"),
                   edit("backend.app_secret", "s"), edit(path, value))
    problems = problems_of(data)
    assert any(p.startswith(message) for p in problems), problems


def test_rate_limits_default_on_and_turn_off_from_the_environment() -> None:
    server = parse_config(example(), {}).server
    assert (server.rate_limit_route, server.rate_limit_sender) == (2000.0, 20.0)
    assert (server.rate_limit_route_burst, server.rate_limit_sender_burst) == (4000, 200)
    environ = {
        "CLAIMBOT_SERVER__RATE_LIMIT_SENDER": " 0 ",
        "CLAIMBOT_SERVER__RATE_LIMIT_ROUTE": "5",
    }
    server = parse_config(example(), environ).server
    assert (server.rate_limit_sender, server.rate_limit_route) == (0.0, 5.0)


def test_the_metrics_token_is_a_secret() -> None:
    token = "prometheus-scrape-token-1234"
    config = parse_config(example(), {"CLAIMBOT_SERVER__METRICS_TOKEN": token})
    assert config.server.metrics_token == token
    assert token in secret_values(config)


# ── [[budgets]] ──────────────────────────────────────────────────────────────────────────


BUDGET: dict[str, object] = {"department": "市场部", "period": "month", "amount": "50000.00"}


def with_budgets(*budgets: dict[str, object]) -> dict[str, Any]:
    return changed((("budgets",), [dict(budget) for budget in budgets]))


def test_budgets_load_with_decimal_amounts_and_sorted_categories() -> None:
    config = parse_config(
        with_budgets(
            BUDGET,
            {"department": "d_sales", "period": "quarter", "amount": 20000,
             "categories": ["travel", "entertainment"], "block": True},
        ),
        {},
    )
    first, second = config.budgets
    assert (first.department, first.period) == ("市场部", "month")
    assert first.amount == Decimal("50000.00")
    assert first.categories == () and first.block is False
    assert second.amount == Decimal("20000.00") and second.block is True
    assert second.categories == ("entertainment", "travel")


def test_no_budgets_by_default() -> None:
    assert load_config(EXAMPLE, environ={}).budgets == ()


def test_over_budget_is_a_known_policy_rule() -> None:
    data = changed(
        edit("approval.steps[1].flags", ["over_budget"]),
        edit("categories[0].block", ["over_budget"]),
    )
    config = parse_config(data, {})
    assert config.approval.steps[1].flags == ("over_budget",)
    assert config.categories[0].block == ("over_budget",)


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        pytest.param({**BUDGET, "amount": 500.0}, f"budgets[0].amount: {NOT_FLOAT}".replace(
            "300.00", "500.00"), id="amount-float"),
        pytest.param({**BUDGET, "amount": "-1"}, "budgets[0].amount: must not be negative",
                     id="amount-negative"),
        pytest.param({**BUDGET, "amount": "1.234"}, "budgets[0].amount: must have at most two",
                     id="amount-places"),
        pytest.param({"department": "市场部", "period": "month"}, "budgets[0].amount: required",
                     id="amount-missing"),
        pytest.param({**BUDGET, "department": " "}, "budgets[0].department: required",
                     id="department-blank"),
        pytest.param({**BUDGET, "period": "week"},
                     'budgets[0].period: must be one of "month" | "quarter" | "year"',
                     id="period-unknown"),
        pytest.param({"department": "市场部", "amount": "1"}, "budgets[0].period: required",
                     id="period-missing"),
        pytest.param({**BUDGET, "categories": ["golf"]},
                     "budgets[0].categories: unknown category 'golf'", id="category-unknown"),
        pytest.param({**BUDGET, "block": "yes"}, "budgets[0].block: must be true or false",
                     id="block-type"),
        pytest.param({**BUDGET, "amout": "1"},
                     "budgets[0].amout: unknown key (did you mean 'amount'?)", id="typo"),
    ],
)
def test_budget_problems_name_their_key(budget: dict[str, object], expected: str) -> None:
    problems = problems_of(with_budgets(budget))
    assert any(problem.startswith(expected) for problem in problems), problems


def test_two_budgets_for_the_same_scope_clash() -> None:
    problems = problems_of(with_budgets(BUDGET, {**BUDGET, "amount": "1.00"}))
    assert any(p.startswith("budgets[1].department: budgets[0] already sets the month budget")
               for p in problems), problems
    # another period or another set of categories is a different budget
    parse_config(with_budgets(BUDGET, {**BUDGET, "period": "year"},
                              {**BUDGET, "categories": ["meal"]}), {})


def test_budgets_must_be_an_array_of_tables() -> None:
    problems = problems_of(changed((("budgets",), {"department": "x"})))
    assert "budgets: must be an array of tables ([[budgets]])" in problems
