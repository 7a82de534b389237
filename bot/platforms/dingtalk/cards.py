"""Rendered catalogue cards → the ``cardParamMap`` of claimbot's one DingTalk card template.

Every catalogue card fills the same template (``cards/dingtalk/README.md``), so every map
carries every variable: an update with ``updateCardDataByKey`` must also clear the variables the
new card leaves empty, or a decided card would keep its old buttons.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from bot.platforms.base import CardRenderer
from bot.replies import InlineReply
from cards import CardError

log = logging.getLogger(__name__)

PLATFORM = "dingtalk"

# Every variable of the template, with the value that means "nothing to show".
VARIABLES: dict[str, str] = {
    "title": "",
    "tone": "blue",
    "lastMessage": "",
    "subtitle": "",
    "fields": "[]",
    "items": "[]",
    "notes": "[]",
    "trail": "[]",
    "buttons": "[]",
    "status": "",
}
# Private to the clicking user: shown under the card after a click (our toasts).
PRIVATE_NOTICE = "notice"


class CardShapeError(ValueError):
    """A rendered DingTalk card that is not a map of the template's variables."""


def _as_string(value: Any) -> str:
    # DingTalk card params are all strings; structured ones are JSON the template parses.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def card_params(rendered: Any) -> dict[str, str]:
    """Every template variable as a string, the rendered values over the empty defaults."""
    if not isinstance(rendered, Mapping):
        raise CardShapeError("a DingTalk card renders to a JSON object")
    unknown = set(rendered) - set(VARIABLES)
    if unknown:
        raise CardShapeError(f"not variables of the card template: {sorted(unknown)}")
    return {**VARIABLES, **{key: _as_string(value) for key, value in rendered.items()}}


def render_params(
    render: CardRenderer, name: str, data: Mapping[str, Any], lang: str
) -> dict[str, str]:
    return card_params(render(PLATFORM, name, data, lang))


def inline_response(render: CardRenderer, inline: InlineReply | None) -> dict[str, Any]:
    """The card-callback answer (Stream ACK ``response`` or HTTP body) that updates in place.

    The event is already recorded when this runs, so a card that fails to render must not fail
    the acknowledgement: the clicker then sees no change until the outbox updates the card.
    """
    if inline is None:
        return {}
    response: dict[str, Any] = {
        "cardUpdateOptions": {"updateCardDataByKey": True, "updatePrivateDataByKey": True},
    }
    if inline.card_name:
        try:
            params = render_params(render, inline.card_name, inline.card_data, inline.lang)
        except (CardError, CardShapeError):
            log.exception("dingtalk: inline card %s does not render", inline.card_name)
            return {}
        response["cardData"] = {"cardParamMap": params}
    notice = inline.toast.text if inline.toast else ""
    response["userPrivateData"] = {"cardParamMap": {PRIVATE_NOTICE: notice}}
    return response
