"""Reading one TOML table with every problem recorded under its key path (used by ``bot.config``).

A :class:`Table` hands out typed values and never raises: a bad value is written to the shared
problem list as ``"<path>.<key>: <what is wrong>"`` and a harmless default comes back, so one pass
over the whole file reports every mistake. Values that came from an environment variable are
strings; the table coerces them (integers, numbers, comma-separated lists) and names the variable
in the problem.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.money import MAX_AMOUNT

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def toml_type(value: object) -> str:
    """The TOML name of a parsed value's type, for messages."""
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (bool, "boolean"),
        (int, "integer"),
        (float, "float"),
        (str, "string"),
        (Mapping, "table"),
        (list, "array"),
        (datetime, "date-time"),
        (date, "date"),
        (time, "time"),
    )
    for kind, name in kinds:
        if isinstance(value, kind):
            return name
    return type(value).__name__


class Table:
    """One TOML table at ``path`` (``"server"``, ``"approval.steps[2]"``; ``""`` is the root)."""

    def __init__(
        self,
        path: str,
        data: Mapping[str, Any],
        problems: list[str],
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.path = path
        self.data = data
        self.problems = problems
        self.env: Mapping[str, str] = env or {}  # key -> the variable that set it
        self._known: set[str] = set()

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def problem(self, key: str, message: str) -> None:
        source = self.env.get(key)
        suffix = f" (from {source})" if source else ""
        self.problems.append(f"{self.key_path(key)}: {message}{suffix}")

    def get(self, key: str) -> Any:
        """The raw value (``None`` when absent: TOML has no null) and mark ``key`` as known."""
        self._known.add(key)
        return self.data.get(key)

    def from_env(self, key: str) -> bool:
        return key in self.env

    def text(self, key: str, default: str = "", *, required: bool = False) -> str:
        value = self.get(key)
        if value is None:
            if required:
                self.problem(key, "required")
            return default
        if not isinstance(value, str):
            self.problem(key, f"must be a string, not {toml_type(value)}")
            return default
        if required and not value.strip():
            self.problem(key, "required")
        return value

    def optional_int(self, key: str, low: int, high: int) -> int | None:
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, str) and self.from_env(key):
            with contextlib.suppress(ValueError):
                value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(key, f"must be an integer from {low} to {high}")
            return None
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.optional_int(key, low, high)
        return default if value is None else value

    def number(self, key: str, default: float) -> float:
        """A positive number (a duration, not money: floats are fine here)."""
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, str) and self.from_env(key):
            with contextlib.suppress(ValueError):
                value = float(value.strip())
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            self.problem(key, "must be a number greater than 0")
            return default
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, str) and self.from_env(key) and value.strip().lower() in _TRUE:
            return True
        if isinstance(value, str) and self.from_env(key) and value.strip().lower() in _FALSE:
            return False
        if not isinstance(value, bool):
            self.problem(key, f"must be true or false, not {toml_type(value)}")
            return default
        return value

    def parsed(self, key: str, default: str, parse: Callable[[str], object]) -> str:
        """Text that ``parse`` accepts (its ValueError is the problem), else ``default``."""
        value = self.text(key, default).strip()
        try:
            if value != default:
                parse(value)
        except ValueError as exc:
            self.problem(key, str(exc))
            return default
        return value

    def choice(self, key: str, choices: Collection[str], default: str) -> str:
        value = self.text(key, default)
        if value not in choices:
            options = " | ".join(f'"{option}"' for option in choices)
            self.problem(key, f"must be one of {options}, not {value!r}")
            return default
        return value

    def url(self, key: str, default: str = "", *, required: bool = False) -> str:
        """An http(s) URL without a trailing slash; an empty value keeps ``default``."""
        value = self.text(key, "", required=required).strip()
        if not value:
            return default
        if url_problem(value):
            self.problem(key, f"must be an http(s) URL, not {value!r}")
            return default
        return value.rstrip("/")

    def money(self, key: str) -> Decimal | None:
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, float):
            self.problem(
                key,
                f'must be a quoted decimal string such as "{value:.2f}", not a float '
                "(money is never float)",
            )
            return None
        amount, message = parse_money(value)
        if message:
            self.problem(key, message)
        return amount

    def strings(self, key: str) -> tuple[str, ...]:
        """An array of non-empty strings; from the environment, a comma-separated list."""
        value = self.get(key)
        if value is None:
            return ()
        if isinstance(value, str) and self.from_env(key):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        if not isinstance(value, list):
            self.problem(key, f"must be an array of strings, not {toml_type(value)}")
            return ()
        items: list[str] = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.problems.append(f"{self.key_path(key)}[{index}]: must be a non-empty string")
            else:
                items.append(item.strip())
        return tuple(items)

    def section(self, key: str, env: Mapping[str, str] | None = None) -> Table | None:
        """The sub-table ``[key]``, or ``None`` when it is absent (the feature is off)."""
        value = self.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.problem(key, f"must be a table ([{self.key_path(key)}]), not {toml_type(value)}")
            return None
        return Table(self.key_path(key), value, self.problems, env)

    def tables(self, key: str) -> list[Table]:
        """The array of tables ``[[key]]``, each with its index in its path."""
        value = self.get(key)
        if value is None:
            return []
        path = self.key_path(key)
        if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
            self.problem(key, f"must be an array of tables ([[{path}]])")
            return []
        return [Table(f"{path}[{index}]", item, self.problems) for index, item in enumerate(value)]

    def finish(self) -> None:
        """Report every key that no reader asked for."""
        for key, value in self.data.items():
            if key in self._known:
                continue
            what = (
                "unknown section" if not self.path and isinstance(value, Mapping) else "unknown key"
            )
            close = difflib.get_close_matches(key, sorted(self._known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.problem(key, what + hint)


def url_problem(value: str) -> bool:
    """True when ``value`` is not an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return True
    return parts.scheme not in ("http", "https") or not parts.hostname


def parse_money(value: object) -> tuple[Decimal | None, str]:
    """``(amount, "")`` for a non-negative amount with at most two places, else a message."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None, "not a decimal amount"
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        return None, "not a decimal amount"
    if not amount.is_finite():
        return None, "not a decimal amount"
    if amount < 0:
        return None, "must not be negative"
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return None, "must have at most two decimal places"
    if amount > MAX_AMOUNT:
        return None, f"must be at most {MAX_AMOUNT}"
    return amount.quantize(Decimal("0.01")), ""


# GB 32100-2015: 18 characters from this alphabet (no I, O, Z, S, V), the last a check character.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    """The check character of a 统一社会信用代码 from its first 17 characters."""
    total = sum(
        _USCC_ALPHABET.index(char) * weight
        for char, weight in zip(first17, _USCC_WEIGHTS, strict=True)
    )
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problem(code: str) -> str:
    """Why ``code`` is not a valid 统一社会信用代码, or ``""``."""
    if len(code) != 18:
        return f"must be 18 characters (统一社会信用代码), not {len(code)}"
    bad = sorted({char for char in code if char not in _USCC_ALPHABET})
    if bad:
        return f"invalid character(s) {''.join(bad)!r} in 统一社会信用代码"
    if uscc_check_char(code[:17]) != code[17]:
        return "check digit does not match (统一社会信用代码, GB 32100-2015)"
    return ""


_APPROVER_ROLES = ("manager", "department_head", "finance")
_USER_ID = re.compile(r"^[^\s,]+$")


def approver_problem(spec: str) -> str:
    """Why ``spec`` is not ``manager | department_head | finance | users:<id>,<id>``, or ``""``."""
    if spec in _APPROVER_ROLES:
        return ""
    if spec.startswith("users:"):
        ids = spec.removeprefix("users:").split(",")
        if ids and all(_USER_ID.match(user_id.strip()) for user_id in ids):
            return ""
        return f"users:<id>,<id> needs at least one id and no empty ones, not {spec!r}"
    return f"must be manager | department_head | finance | users:<id>,<id>, not {spec!r}"


def storage_url_problem(url: str) -> str:
    """Why ``url`` is not a storage URL we can open, or ``""``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return f"not a URL: {url!r} (use sqlite:/// or redis://)"
    if scheme == "sqlite":
        if not rest.startswith("/") or rest == "/":
            return "sqlite needs a file path: sqlite:///PATH"
        return ""
    if scheme == "unix":
        return (
            "" if rest.startswith("/") and rest != "/" else "unix needs a socket path: unix:///PATH"
        )
    if scheme in ("redis", "rediss"):
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            return f"bad redis URL: {exc}"
        return "" if parts.hostname or parts.path else "redis needs a host: redis://HOST:6379/0"
    return f"unknown scheme {scheme!r} (use sqlite:/// or redis://)"


_CLOCK_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$")


def parse_clock_range(spec: str) -> tuple[time, time]:
    """``"22:00-08:00"`` as (start, end) wall-clock times; the range may wrap past midnight."""
    match = _CLOCK_RANGE.match(spec)
    if match is None:
        raise ValueError(f'must look like "22:00-08:00", not {spec!r}')
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"hours run from 00 to 23 and minutes from 00 to 59, not {spec!r}")
    start, end = time(h1, m1), time(h2, m2)
    if start == end:
        raise ValueError(f"start and end are the same ({spec!r}); leave it empty for none")
    return start, end


def parse_timezone(name: str) -> tzinfo:
    """An IANA zone (``Asia/Shanghai``), ``UTC``, or a fixed offset (``+08:00``, ``UTC+8``)."""
    name = name.strip()
    if name.upper() in ("UTC", "Z"):
        return UTC
    match = _OFFSET.match(name.upper())
    if match is not None:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes > 59:
            raise ValueError(f"offset out of range: {name!r}")
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as Asia/Shanghai (needs the "
            "system zone database or the tzdata package) or an offset such as +08:00"
        ) from exc


def metrics_token(table: Table) -> str:
    token = table.text("metrics_token")
    if token and (len(token) < 16 or not token.isascii() or not token.isprintable()):
        table.problem("metrics_token", "must be at least 16 printable ASCII characters")
    return token


def rate(table: Table, key: str, default: float) -> float:
    """Requests a second (> 0), or 0 for no limit."""
    value = table.get(key)
    if isinstance(value, str) and table.from_env(key):
        off = value.strip() in ("0", "0.0")
    else:
        off = type(value) in (int, float) and value == 0
    return 0.0 if off else table.number(key, default)

