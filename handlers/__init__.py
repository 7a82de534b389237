"""User journeys: the rules of filing, approving and paying claims, free of HTTP and platforms."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the server imports handlers lazily; keep this package import-light
    from bot.config_model import Config
    from bot.dispatcher import Router


def build_router(config: Config) -> Router:
    """Every handler router, most specific first; the fallback answers what none understood."""
    from bot.dispatcher import Router
    from handlers import approvals
    from handlers import help as help_handlers

    router = Router()
    router.include(approvals.router)
    router.include(help_handlers.router)
    router.include(help_handlers.fallback_router())
    return router
