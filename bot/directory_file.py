"""The directory file: an HR export (CSV or TOML) that fills or overrides the platform's org chart.

CSV, one row per person and department (a person in two departments has two rows)::

    user_id,name,manager_id,department_id,department_name,is_department_head
    zhangsan,张三,lisi,d_east,华东销售,false

An optional ``platform`` column (feishu | wecom | dingtalk) limits a row to one platform's user
ids; an empty one applies everywhere. Excel's UTF-8 with BOM and GB18030 exports both load.

TOML, the same keys per ``[[users]]`` table, plus optional ``[[departments]]`` tables with
``department_id``, ``name``, ``parent_id``, ``head_ids`` and ``platform``.

Every problem raises :class:`DirectoryFileError` naming the file and line.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

PLATFORMS = ("", "feishu", "wecom", "dingtalk")
USER_KEYS = (
    "user_id", "name", "manager_id", "department_id", "department_name", "is_department_head",
    "platform",
)
DEPARTMENT_KEYS = ("department_id", "name", "parent_id", "head_ids", "platform")
_TRUE = {"true", "1", "yes", "y", "是"}
_FALSE = {"false", "0", "no", "n", "否", ""}
_TOML_LINE = re.compile(r"at line (\d+)")


class DirectoryFileError(ValueError):
    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")
        self.path = path
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class UserOverride:
    user_id: str
    name: str = ""
    manager_id: str = ""
    department_ids: tuple[str, ...] = ()
    platform: str = ""  # "" = every platform
    line: int = 0


@dataclass(frozen=True, slots=True)
class DepartmentOverride:
    department_id: str
    name: str = ""
    head_ids: tuple[str, ...] = ()
    parent_id: str = ""
    platform: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class PlatformOverrides:
    """The file's entries that apply on one platform, by id."""

    users: Mapping[str, UserOverride] = field(default_factory=dict)
    departments: Mapping[str, DepartmentOverride] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DirectoryOverrides:
    """What the file says; empty fields leave the platform's answer in place."""

    users: tuple[UserOverride, ...] = ()
    departments: tuple[DepartmentOverride, ...] = ()
    source: str = ""

    def for_platform(self, platform: str) -> PlatformOverrides:
        """Entries for ``platform`` and for every platform; a platform's own entry wins."""
        users = {u.user_id: u for u in self.users if not u.platform}
        users.update((u.user_id, u) for u in self.users if u.platform == platform)
        departments = {d.department_id: d for d in self.departments if not d.platform}
        departments.update(
            (d.department_id, d) for d in self.departments if d.platform == platform
        )
        return PlatformOverrides(users, departments)


def load_directory_file(path: str | Path) -> DirectoryOverrides:
    """Read a ``.csv`` or ``.toml`` directory file; :class:`DirectoryFileError` on any problem."""
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DirectoryFileError(name, 0, f"cannot read: {exc.strerror or exc}") from exc
    builder = _Builder(name)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        _read_csv(builder, _decode(name, raw))
    elif suffix == ".toml":
        _read_toml(builder, _decode(name, raw))
    else:
        raise DirectoryFileError(name, 0, "a directory file must end in .csv or .toml")
    return builder.result()


def _decode(path: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise DirectoryFileError(path, 0, "neither UTF-8 nor GB18030 text") from exc


def _read_csv(builder: _Builder, text: str) -> None:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [column.strip().lower() for column in next(reader)]
    except StopIteration:
        raise DirectoryFileError(builder.path, 1, "empty file: expected a header row") from None
    problem = _header_problem(header)
    if problem:
        raise DirectoryFileError(
            builder.path, 1, f"{problem}; the columns are {', '.join(USER_KEYS)}"
        )
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DirectoryFileError(
                builder.path, reader.line_num, f"{len(row)} fields, the header has {len(header)}"
            )
        builder.user(dict(zip(header, row, strict=True)), reader.line_num)


def _header_problem(header: list[str]) -> str:
    for index, column in enumerate(header):
        if column not in USER_KEYS:
            return f"unknown column {column!r}"
        if column in header[:index]:
            return f"duplicate column {column!r}"
    return "" if "user_id" in header else "no user_id column"


def _read_toml(builder: _Builder, text: str) -> None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        line = int(match.group(1)) if match else 0
        raise DirectoryFileError(builder.path, line, f"not valid TOML: {exc}") from exc
    extra = sorted(set(data) - {"users", "departments"})
    if extra:
        raise DirectoryFileError(builder.path, 0, f"unknown table {extra[0]!r}")
    for table, keys in (("departments", DEPARTMENT_KEYS), ("users", USER_KEYS)):
        entries = data.get(table, [])
        if not isinstance(entries, list):
            raise DirectoryFileError(builder.path, 0, f"{table} must be [[{table}]] tables")
        lines = _header_lines(text, table)
        for index, entry in enumerate(entries):
            line = lines[index] if index < len(lines) else 0
            record = _toml_record(builder.path, line, table, entry, keys)
            if table == "users":
                builder.user(record, line)
            else:
                builder.department(record, line)


def _header_lines(text: str, table: str) -> list[int]:
    pattern = re.compile(rf"^\s*\[\[\s*{table}\s*\]\]")
    return [n for n, line in enumerate(text.splitlines(), 1) if pattern.match(line)]


def _toml_record(
    path: str, line: int, table: str, entry: object, keys: tuple[str, ...]
) -> dict[str, str]:
    if not isinstance(entry, dict):
        raise DirectoryFileError(path, line, f"each [[{table}]] entry must be a table")
    record: dict[str, str] = {}
    for key, value in entry.items():
        if key not in keys:
            raise DirectoryFileError(path, line, f"unknown key {key!r} in [[{table}]]")
        if isinstance(value, bool):
            record[key] = "true" if value else "false"
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            record[key] = ",".join(value)
        elif isinstance(value, str):
            record[key] = value
        else:
            raise DirectoryFileError(path, line, f"{key} must be text, not {value!r}")
    return record


class _Builder:
    """Collects rows, checks each, and joins a person's rows into one entry."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.users: dict[str, UserOverride] = {}
        self.departments: dict[str, DepartmentOverride] = {}

    def fail(self, line: int, message: str) -> DirectoryFileError:
        return DirectoryFileError(self.path, line, message)

    def user(self, record: Mapping[str, str], line: int) -> None:
        values = {key: value.strip() for key, value in record.items()}
        user_id, platform = values.get("user_id", ""), self._platform(values, line)
        if not user_id or any(c.isspace() for c in user_id):
            raise self.fail(line, f"user_id must be a non-empty id, not {user_id!r}")
        if values.get("manager_id") == user_id:
            raise self.fail(line, f"{user_id} cannot be their own manager")
        department = values.get("department_id", "")
        head = values.get("is_department_head", "").lower()
        if head not in _TRUE | _FALSE:
            raise self.fail(line, f"is_department_head must be true or false, not {head!r}")
        if (head in _TRUE or values.get("department_name")) and not department:
            raise self.fail(line, "department_name and is_department_head need a department_id")
        if department:
            heads = (user_id,) if head in _TRUE else ()
            self._add_department(
                DepartmentOverride(
                    department, values.get("department_name", ""), heads, "", platform, line
                )
            )
        self._add_user(
            UserOverride(
                user_id, values.get("name", ""), values.get("manager_id", ""),
                (department,) if department else (), platform, line,
            )
        )

    def department(self, record: Mapping[str, str], line: int) -> None:
        values = {key: value.strip() for key, value in record.items()}
        department, platform = values.get("department_id", ""), self._platform(values, line)
        if not department:
            raise self.fail(line, "department_id is required")
        if values.get("parent_id") == department:
            raise self.fail(line, f"department {department} cannot be its own parent")
        heads = tuple(h.strip() for h in values.get("head_ids", "").split(",") if h.strip())
        self._add_department(
            DepartmentOverride(
                department, values.get("name", ""), heads, values.get("parent_id", ""),
                platform, line,
            )
        )

    def _platform(self, values: Mapping[str, str], line: int) -> str:
        platform = values.get("platform", "").lower()
        if platform not in PLATFORMS:
            raise self.fail(line, f"platform must be feishu, wecom or dingtalk, not {platform!r}")
        return platform

    def _add_user(self, new: UserOverride) -> None:
        key = f"{new.platform}\x00{new.user_id}"
        old = self.users.get(key)
        if old is None:
            self.users[key] = new
            return
        for label in ("name", "manager_id"):
            a, b = getattr(old, label), getattr(new, label)
            if a and b and a != b:
                raise self.fail(
                    new.line, f"{new.user_id}: {label} {b!r} differs from {a!r} on line {old.line}"
                )
        self.users[key] = replace(
            old, name=old.name or new.name, manager_id=old.manager_id or new.manager_id,
            department_ids=tuple(dict.fromkeys(old.department_ids + new.department_ids)),
        )

    def _add_department(self, new: DepartmentOverride) -> None:
        key = f"{new.platform}\x00{new.department_id}"
        old = self.departments.get(key)
        if old is None:
            self.departments[key] = new
            return
        for label in ("name", "parent_id"):
            a, b = getattr(old, label), getattr(new, label)
            if a and b and a != b:
                raise self.fail(
                    new.line,
                    f"department {new.department_id}: {label} {b!r} differs from {a!r} "
                    f"on line {old.line}",
                )
        self.departments[key] = replace(
            old, name=old.name or new.name, parent_id=old.parent_id or new.parent_id,
            head_ids=tuple(dict.fromkeys(old.head_ids + new.head_ids)),
        )

    def result(self) -> DirectoryOverrides:
        return DirectoryOverrides(
            tuple(self.users.values()), tuple(self.departments.values()), self.path
        )
