"""What the bot understands, in the user's language."""

from __future__ import annotations

from handlers.texts import say

HELP_LINES = ("help_claim", "help_guided", "help_receipt", "help_mine", "help_todo",
              "help_withdraw", "help_edit", "help_cancel", "help_lang")


def help_data(lang: str) -> dict[str, object]:
    return {"title": say("help_title", lang), "lines": [say(k, lang) for k in HELP_LINES]}
