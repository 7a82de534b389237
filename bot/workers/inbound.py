"""Runs queued inbound events through the dispatcher; the handler's commit acks the row."""

from __future__ import annotations

from bot.dispatcher import Dispatcher
from bot.events import EventDecodeError, event_from_dict
from bot.workers.queue_loop import Permanent
from storage.models import Leased


class InboundHandler:
    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher

    async def __call__(self, row: Leased) -> None:
        try:
            event = event_from_dict(row.message.payload)
        except EventDecodeError as exc:
            raise Permanent(str(exc)) from exc
        await self._dispatcher.dispatch(event, consume=row.receipt)
