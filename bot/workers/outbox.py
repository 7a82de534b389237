"""Delivers queued messages and card changes through each platform's messenger.

A card sent for a claim is remembered as a :class:`CardCopy`, so a later ``CardUpdate`` reaches
every copy (each approver of a step, finance, the applicant), not just the one clicked, each in
the language it was sent in.
Updating a copy twice with the same content is harmless, so a retried row is safe. Where an
update would send the card anew (WeCom, once a copy's response code is spent), a recipient with
several such copies gets one fresh card, not one per copy: the others are retired. Sends carry
the row's id as their idempotency key: where the platform recognises a repeat, a row retried
after its first attempt got through (its answer lost to a crash or timeout) is not shown twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from bot.outbound_codec import OutboundDecodeError, decode_outbound
from bot.platforms.base import AlreadyDelivered, Messenger, PlatformAPIError, TransientAPIError
from bot.replies import Card, CardUpdate, Text
from bot.workers.queue_loop import Permanent, QueuePolicy
from storage.base import Storage
from storage.models import CardCopy, Leased

RETIRED = "retired"  # the template of a copy no update reaches any more (no catalogue card)

# Delays capped at a minute, and the first delivery that gets through after failures sends the
# waiting rows at once (hasten_on_recovery): cards and notices go out within seconds of a
# platform coming back (a one-minute outage held them ~105 s with a five-minute cap and no
# hastening). 60 attempts survive an outage of about half an hour (the expected sum of the
# full-jitter delays) before a row is dead-lettered; a platform's Retry-After still wins over
# the computed delay.
PLATFORM_POLICY = QueuePolicy("platform", max_attempts=60, retry_cap=60.0,
                              hasten_on_recovery=True)


class OutboxHandler:
    def __init__(self, storage: Storage, messengers: Mapping[str, Messenger]) -> None:
        self._storage = storage
        self._messengers = messengers

    def _messenger(self, platform: str) -> Messenger:
        messenger = self._messengers.get(platform)
        if messenger is None:
            raise Permanent(f"platform {platform!r} is not configured")
        return messenger

    async def __call__(self, row: Leased) -> None:
        try:
            reply = decode_outbound(row.message.payload)
        except OutboundDecodeError as exc:
            raise Permanent(str(exc)) from exc
        try:
            if isinstance(reply, Text):
                messenger = self._messenger(reply.to.platform)
                await messenger.send_text(reply.to, reply.text, key=row.message.id)
            elif isinstance(reply, Card):
                await self._send_card(reply, row)
            else:
                await self._update_cards(reply)
        except TransientAPIError:
            raise
        except PlatformAPIError as exc:
            raise Permanent(str(exc)) from exc
        await self._storage.ack(row.receipt)

    async def _send_card(self, card: Card, row: Leased) -> None:
        messenger = self._messenger(card.to.platform)
        copy_id = row.message.id  # one row, one copy: a retry rewrites the same copy
        try:
            ref = await messenger.send_card(card.to, card.name, card.data, card.lang, key=copy_id)
        except AlreadyDelivered as exc:
            if row.message.attempts <= 1:  # no earlier attempt: the refusal is something else
                raise
            if not card.claim_id or any(
                c.copy_id == copy_id for c in await self._storage.card_copies(card.claim_id)
            ):
                return
            ref = exc.handles
        if card.claim_id:
            await self._storage.add_card_copy(
                CardCopy(
                    claim_id=card.claim_id,
                    platform=card.to.platform,
                    recipient=card.to.key,
                    template=card.name,
                    ref=tuple(sorted(ref.items())),
                    copy_id=copy_id,
                    lang=card.lang,
                )
            )

    async def _update_cards(self, update: CardUpdate) -> None:
        copies = [c for c in await self._storage.card_copies(update.claim_id)
                  if c.template == update.match]
        shown: set[tuple[str, str]] = set()  # recipients whose update is already on screen
        for copy in sorted(copies, key=lambda c: not self._in_place(c)):  # stable: in-place first
            messenger = self._messenger(copy.platform)
            if (copy.platform, copy.recipient) in shown and not self._in_place(copy):
                # Its update would be a fresh message (WeCom, code spent) repeating one the
                # recipient now has: retire the copy, its message stays as it was.
                await self._storage.add_card_copy(replace(copy, template=RETIRED))
                continue
            shown.add((copy.platform, copy.recipient))
            data, lang = update.for_language(copy.lang)
            ref = await messenger.update_card(dict(copy.ref), update.name, data, lang)
            renewed = tuple(sorted(ref.items())) if ref else copy.ref
            if renewed != copy.ref or update.name != copy.template:
                await self._storage.add_card_copy(
                    replace(copy, template=update.name, ref=renewed)
                )

    def _in_place(self, copy: CardCopy) -> bool:
        """Whether updating ``copy`` changes its message (a messenger without ``updatable``
        always does) rather than sending the card anew."""
        updatable = getattr(self._messenger(copy.platform), "updatable", None)
        return updatable is None or bool(updatable(dict(copy.ref)))
