"""Outbound intents as queue payloads (JSON) and back, so the outbox survives restarts."""

from __future__ import annotations

from typing import Any

from bot.replies import Card, CardUpdate, Outbound, Recipient, Text


class OutboundDecodeError(ValueError):
    """A queued payload that is not an outbound intent this version knows."""


def _recipient(to: Recipient) -> dict[str, str]:
    return {"platform": to.platform, "user_id": to.user_id, "chat_id": to.chat_id}


def encode_outbound(reply: Outbound) -> tuple[str, dict[str, Any]]:
    """``(ordering key, payload)``: a claim's cards go out in order, texts per recipient."""
    if isinstance(reply, Text):
        return reply.to.key, {"kind": "text", "to": _recipient(reply.to), "text": reply.text}
    if isinstance(reply, Card):
        payload = {
            "kind": "card",
            "to": _recipient(reply.to),
            "name": reply.name,
            "data": reply.data,
            "claim_id": reply.claim_id,
            "lang": reply.lang,
        }
        return reply.claim_id or reply.to.key, payload
    return reply.claim_id, {
        "kind": "card_update",
        "claim_id": reply.claim_id,
        "match": reply.match,
        "name": reply.name,
        "data": reply.data,
        "lang": reply.lang,
        "translations": reply.translations,
    }


def decode_outbound(payload: dict[str, Any]) -> Outbound:
    try:
        kind = payload["kind"]
        if kind == "text":
            return Text(to=Recipient(**payload["to"]), text=payload["text"])
        if kind == "card":
            return Card(
                to=Recipient(**payload["to"]),
                name=payload["name"],
                data=payload["data"],
                claim_id=payload.get("claim_id", ""),
                lang=payload.get("lang", "zh-CN"),
            )
        if kind == "card_update":
            return CardUpdate(
                claim_id=payload["claim_id"],
                match=payload["match"],
                name=payload["name"],
                data=payload["data"],
                lang=payload.get("lang", "zh-CN"),
                translations=dict(payload.get("translations", {})),
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise OutboundDecodeError(f"malformed outbound payload: {exc}") from exc
    raise OutboundDecodeError(f"unknown outbound kind {payload.get('kind')!r}")
