"""Logging set-up: text or JSON lines, with every configured secret masked wherever it appears."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

MASK = "***"
# Token-shaped values that may come back from platform APIs and are never in the config.
_TOKEN_FIELDS = re.compile(
    r"(?i)((?:access_token|tenant_access_token|accessToken|app_access_token|ticket|sign|"
    r"signature|msg_signature|secret)[\"']?\s*[:=]\s*[\"']?)([^\"'&\s,}]+)"
)

# Libraries whose chatty levels write what must not be logged: aiohttp's access log has request
# paths and queries (secret callback paths), aiosqlite's DEBUG lines every SQL parameter (claim
# documents, card handles such as WeCom's single-use response_code).
QUIET_LOGGERS = {"aiohttp.access": logging.WARNING, "aiosqlite": logging.INFO}


class RedactingFilter(logging.Filter):
    """Masks secrets in the fully formatted message (args included) before any handler sees it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first so a secret that contains another is masked whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return _TOKEN_FIELDS.sub(lambda m: m.group(1) + MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(fmt: str, level: str, secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter(secrets))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    quiet_libraries()


def quiet_libraries() -> None:
    for name, floor in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(floor)
