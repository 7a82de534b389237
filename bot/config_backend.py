"""``[backend]``: which reimbursement backend gets claim outcomes, and how to reach it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import cast, get_args

from bot.config_checks import Table
from bot.config_model import BackendConfig, BackendKind

BACKEND_NEEDS: dict[str, tuple[str, ...]] = {
    "webhook": ("url", "secret"),
    "hesi": ("url", "app_key", "app_secret", "specification_id"),
    "none": (),
}
CALLBACK_TOKEN = re.compile(r"^[A-Za-z0-9_-]{24,128}$")


def build_backend(table: Table | None) -> BackendConfig:
    if table is None:
        return BackendConfig()
    backend = BackendConfig(
        kind=cast(BackendKind, table.choice("kind", get_args(BackendKind), "none")),
        url=table.url("url"),
        secret=table.text("secret"),
        app_key=table.text("app_key"),
        app_secret=table.text("app_secret"),
        timeout=table.number("timeout", 10.0),
        template=backend_template(table),
        corp_id=table.text("corp_id").strip(),
        specification_id=table.text("specification_id").strip(),
        fee_types=fee_types(table),
        default_fee_type=table.text("default_fee_type").strip(),
        outer_code_prefix=table.text("outer_code_prefix", "claimbot-"),
        callback_token=table.text("callback_token").strip(),
        poll_interval=table.integer("poll_interval", 300, 0, 86400),
    )
    if backend.callback_token and not CALLBACK_TOKEN.match(backend.callback_token):
        table.problem("callback_token", "must be 24 to 128 letters, digits, - or _")
    for key in BACKEND_NEEDS[backend.kind]:
        raw = table.data.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            table.problem(key, f'required when kind = "{backend.kind}"')
    table.finish()
    return backend


def backend_template(table: Table) -> str:
    """The mapping template's path; it must exist and say its output (.json.j2 or .xml.j2)."""
    path = table.text("template").strip()
    if not path:
        return ""
    if not path.endswith((".json.j2", ".xml.j2")):
        table.problem("template", "must end in .json.j2 or .xml.j2 (the output it renders)")
    elif not Path(path).is_file():
        table.problem("template", f"no such file: {path!r}")
    return path


def fee_types(table: Table) -> tuple[tuple[str, str], ...]:
    """``[backend.fee_types]``: our category code = Hesi feeTypeId."""
    sub = table.section("fee_types")
    if sub is None:
        return ()
    pairs: list[tuple[str, str]] = []
    for code in sorted(sub.data):
        fee_type = sub.text(code).strip()
        if not fee_type:
            sub.problem(code, "must be a non-empty feeTypeId")
        else:
            pairs.append((code, fee_type))
    return tuple(pairs)
