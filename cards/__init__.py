"""Card templates: ``cards/<platform>/<name>.json.j2`` rendered from one neutral ``data`` dict.

Every ``{{ … }}`` expression is written out as a JSON value (``finalize`` below), so a template
writes ``"content": {{ claim.title }}`` without quotes and user text can never close a string,
add an element or change the card's structure. To build a string from parts, join them inside
the expression: ``{{ t("applicant") ~ "：" ~ claim.applicant.name }}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jinja2

from cards.i18n import translate

PLATFORMS = ("feishu", "wecom", "dingtalk")
CATALOGUE = (
    "claim_draft",
    "claim_status",
    "approval_request",
    "approval_decided",
    "finance_notice",
    "claim_list",
    "prompt",
    "help",
)
MAX_CARD_BYTES = 30 * 1024


class CardError(Exception):
    """A card that does not exist or does not render to valid JSON."""


def _as_json(value: Any) -> str:
    if isinstance(value, jinja2.runtime.Undefined):
        value.__str__()  # StrictUndefined raises with the missing name
    if isinstance(value, _Raw):
        return value.text
    return json.dumps(value, ensure_ascii=False)


class _Raw:
    """Already-JSON text from the ``raw_json`` filter (a template's own constant structure)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _raw_json(value: Any) -> _Raw:
    return _Raw(json.dumps(value, ensure_ascii=False))


def _md_escape(text: Any) -> str:
    """Neutralise markdown in user text shown inside a markdown element (lark_md, WeCom)."""
    out = str(text)
    for char in "\\`*_~[]()<>#|":
        out = out.replace(char, "\\" + char)
    return out


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cards", "."),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - output is JSON; finalize encodes every value
        finalize=_as_json,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # package data does not change under a running server
    )
    env.filters["raw_json"] = _raw_json
    env.filters["md"] = _md_escape
    return env


def render_card(platform: str, name: str, data: Mapping[str, Any], lang: str = "zh-CN") -> Any:
    """Render one card and return it parsed (a dict for every platform)."""
    if platform not in PLATFORMS:
        raise CardError(f"unknown platform {platform!r}")
    try:
        template = _environment().get_template(f"{platform}/{name}.json.j2")
    except jinja2.TemplateNotFound:
        raise CardError(f"no card {name!r} for {platform}") from None

    def t(key: str, **params: Any) -> str:
        return translate(key, lang, **params)

    try:
        text = template.render(**data, t=t, lang=lang)
    except jinja2.UndefinedError as exc:
        raise CardError(f"card {platform}/{name}: missing data: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CardError(f"card {platform}/{name} is not valid JSON: {exc}") from exc
