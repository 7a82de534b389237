"""Load, validate and summarise claimbot's configuration (design.md §4.2).

``load_config(path)`` reads TOML into the frozen objects of :mod:`bot.config_model`. Environment
variables ``CLAIMBOT_<SECTION>__<KEY>`` (``CLAIMBOT_FEISHU__APP_SECRET``) win over the file and
may create a section the file lacks; an empty variable counts as unset. A section that is absent
turns its platform or feature off. Validation reports every problem with its key path
(``approval.steps[2].min_amount: not a decimal amount``; array indexes count from 0) in one
:class:`ConfigError`, never just the first.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.config_model import Config
from bot.config_sections import ENV_SECTIONS, build_config

__all__ = [
    "ENV_PREFIX",
    "SECRET_KEYS",
    "ConfigError",
    "check_config",
    "load_config",
    "parse_config",
    "redact",
    "secret_values",
    "summary",
]

ENV_PREFIX = "CLAIMBOT_"

# Every key whose value must never reach a log line, per section.
SECRET_KEYS: Mapping[str, tuple[str, ...]] = {
    "server": ("metrics_token",),
    "feishu": ("app_secret", "verification_token", "encrypt_key"),
    "wecom": ("secret", "token", "encoding_aes_key"),
    "dingtalk": ("client_secret", "event_token", "event_aes_key", "card_callback_token"),
    "backend": ("secret", "app_key", "app_secret", "callback_token"),
}


class ConfigError(ValueError):
    """The configuration cannot be used; ``problems`` holds every reason, one per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: list[str] = list(problems) or ["invalid configuration"]
        super().__init__("\n".join(self.problems))

    def __str__(self) -> str:
        return "\n".join(self.problems)


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (TOML), apply the environment (``os.environ`` by default) and validate."""
    return parse_config(read_toml(path), environ)


def read_toml(path: str | Path) -> dict[str, Any]:
    """The parsed TOML document; an unreadable file or bad syntax is a :class:`ConfigError`."""
    where = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError([f"{where}: cannot read the file ({exc.strerror or exc})"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{where}: not UTF-8 text (bad byte at offset {exc.start})"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{where}: invalid TOML: {exc}"]) from None


def parse_config(data: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Config:
    """Validate an already parsed document; ``environ`` defaults to ``os.environ``."""
    if not isinstance(data, Mapping):
        raise ConfigError([f"config: must be a table of sections, not {type(data).__name__}"])
    problems: list[str] = []
    merged, sources = overlay_env(data, os.environ if environ is None else environ, problems)
    config = build_config(merged, sources, problems)
    if problems:
        raise ConfigError(problems)
    return config


def overlay_env(
    data: Mapping[str, Any], environ: Mapping[str, str], problems: list[str]
) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """``data`` with every ``CLAIMBOT_<SECTION>__<KEY>`` applied, and which variable set what."""
    merged = dict(data)
    sources: dict[str, dict[str, str]] = {}
    for name in sorted(environ):
        target = env_target(name, environ[name], problems)
        if target is None:
            continue
        section, key = target
        current = merged.get(section, {})
        if not isinstance(current, Mapping):
            continue  # the file's value is reported as "must be a table"
        merged[section] = {**current, key: environ[name]}
        sources.setdefault(section, {})[key] = name
    return merged, sources


def env_target(name: str, value: str, problems: list[str]) -> tuple[str, str] | None:
    """``(section, key)`` that the variable ``name`` sets, or ``None`` when it sets nothing."""
    if not name.startswith(ENV_PREFIX) or "__" not in name or not value:
        return None
    section, _, key = name.removeprefix(ENV_PREFIX).partition("__")
    section, key = section.lower(), key.lower()
    if section not in ENV_SECTIONS:
        sections = ", ".join(ENV_SECTIONS)
        problems.append(f"{name}: {section!r} cannot be set from the environment (use {sections})")
        return None
    if not key:
        problems.append(f"{name}: names no key (CLAIMBOT_<SECTION>__<KEY>)")
        return None
    return section, key


def check_config(path: str | Path, environ: Mapping[str, str] | None = None) -> tuple[int, str]:
    """``claimbot check-config``: ``(0, "ok: …")`` or ``(2, every problem, one per line)``."""
    try:
        config = load_config(path, environ)
    except ConfigError as exc:
        count = len(exc.problems)
        header = f"{path}: {count} problem{'' if count == 1 else 's'}"
        return 2, f"{header}\n{exc}"
    return 0, f"ok: {path}: {summary(config)}"


def summary(config: Config) -> str:
    """One line naming what is switched on, with no secret in it."""
    modes = {
        "feishu": config.feishu.mode if config.feishu else "",
        "dingtalk": config.dingtalk.mode if config.dingtalk else "",
    }
    platforms = ", ".join(
        f"{name} ({modes[name]})" if modes.get(name) else name for name in config.platforms
    )
    backend: str = config.backend.kind
    if config.backend.url:
        backend += f" ({without_credentials(config.backend.url)})"
    steps = len(config.approval.steps)
    return "; ".join(
        (
            f"platforms {platforms or 'none'}",
            f"storage {storage_label(config.storage.url)}",
            f"backend {backend}",
            f"server {config.server.host}:{config.server.port}",
            f"{len(config.categories)} categories",
            f"{steps} approval step{'' if steps == 1 else 's'}",
        )
    )


def storage_label(url: str) -> str:
    """The storage URL for people: ``sqlite:///path.db`` or ``redis (host:port/db)``."""
    if url.startswith("sqlite:"):
        return url
    return f"{url.partition('://')[0]} ({without_credentials(url).partition('://')[2]})"


def without_credentials(url: str) -> str:
    """``url`` with any ``user:password@`` removed (validated URLs only)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=f"{host}{port}").geturl()


def redact(value: str) -> str:
    """A log-safe stand-in for a secret: ``***`` (or ``""`` for an empty value)."""
    return "***" if value else ""


def secret_values(config: Config) -> list[str]:
    """Every secret string in ``config``, longest first (so masking never leaves a tail)."""
    found: set[str] = set()
    for section, keys in SECRET_KEYS.items():
        holder = getattr(config, section)
        for key in keys if holder is not None else ():
            value = getattr(holder, key)
            if isinstance(value, str) and value:
                found.add(value)
    for url in (config.storage.url, config.backend.url):
        password = urlsplit(url).password if "://" in url else None
        if password:
            found.add(password)
    return sorted(found, key=lambda secret: (-len(secret), secret))
