from __future__ import annotations

import json
import logging

import pytest

from bot.logs import JsonFormatter, RedactingFilter


def record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, None)


@pytest.mark.parametrize(
    ("message", "args"),
    [
        ("secret is %s", ("s3cr3t-value",)),
        ("url https://x/?access_token=abcdef123&x=1", ()),
        ('{"tenant_access_token": "t-0123456789"}', ()),
        ("headers sign=QWERTYUIOP", ()),
    ],
)
def test_secrets_and_tokens_are_masked(message: str, args: tuple[object, ...]) -> None:
    rec = record(message, *args)
    RedactingFilter(["s3cr3t-value"]).filter(rec)
    text = rec.getMessage()
    for leaked in ("s3cr3t-value", "abcdef123", "t-0123456789", "QWERTYUIOP"):
        assert leaked not in text
    assert "***" in text


def test_exceptions_are_masked_too() -> None:
    try:
        raise RuntimeError("failed with key s3cr3t-value")
    except RuntimeError:
        import sys

        rec = logging.LogRecord("t", logging.ERROR, __file__, 1, "boom", None, sys.exc_info())
    RedactingFilter(["s3cr3t-value"]).filter(rec)
    assert rec.exc_text is not None and "s3cr3t-value" not in rec.exc_text


def test_json_lines() -> None:
    line = JsonFormatter().format(record("你好 %s", "世界"))
    entry = json.loads(line)
    assert entry["message"] == "你好 世界" and entry["level"] == "INFO"
