"""User journeys: the rules of filing, approving and paying claims, free of HTTP and platforms."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the server imports handlers lazily; keep this package import-light
    from bot.config_model import Config
    from bot.dispatcher import Router


def build_router(config: Config) -> Router:
    """Every journey's router; card actions by prefix, and the chat handler for messages."""
    from bot.dispatcher import Router
    from handlers import approvals, claims, drafts, filing, submission

    router = Router()
    for journey in (approvals, submission, drafts, claims, filing):
        router.include(journey.router)
    return router
