"""Drafts: items land on the draft claim, the draft card, editing, cancelling and choices."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from bot.dispatcher import HandlerContext, Router
from bot.events import CardActionEvent
from bot.replies import Card, InlineReply, Text, Toast
from handlers import workflow as wf
from handlers.cards import draft_data, status_data
from handlers.common import (
    actor_of,
    display_names,
    parse_action,
    person_of,
    reply_to,
    save,
    toast,
    today,
)
from handlers.conversation import Conversation, forget, load, store
from handlers.draft_checks import draft_flags
from handlers.invoices import Prefill
from handlers.items import Answer, category_of, make_item, missing_field, read_answer
from handlers.languages import update_cards
from handlers.parsing import Command, detect_command
from handlers.texts import say
from storage.models import Claim, ClaimItem, ClaimStatus

router = Router()

EDITABLE = (ClaimStatus.DRAFT, ClaimStatus.RETURNED)
# Every card lists every item: 50 lines keep each platform's card well inside its size limit
# (Feishu refuses a card over 30 KB), and a claim longer than that is hard to approve anyway.
MAX_ITEMS = 50


def command_of(text: str) -> Command | None:
    return detect_command(text) if text else None


async def open_draft(ctx: HandlerContext, conversation: Conversation) -> Claim | None:
    if not conversation.draft:
        return None
    claim = await ctx.storage.get_claim(conversation.draft)
    if claim is None or claim.status not in EDITABLE:
        conversation.draft = ""
        return None
    return claim


async def continue_item(ctx: HandlerContext, conversation: Conversation) -> None:
    """File the item being filled if it is complete, else ask for its next missing field."""
    draft = await open_draft(ctx, conversation)
    if not conversation.editing and draft is not None and len(draft.items) >= MAX_ITEMS:
        conversation.reset_item()
        conversation.queue.clear()  # the rest of the message would not fit either
        store(ctx, conversation)
        ctx.send(Text(reply_to(ctx), say("claim_full", ctx.lang, id=draft.id, limit=MAX_ITEMS)))
        return
    field = missing_field(conversation.item, conversation.extra, ctx.config.categories)
    if field:
        conversation.asking = field
        store(ctx, conversation)
        ask(ctx, conversation, field)
        return
    item = make_item(conversation.item, conversation.extra, conversation.attachments,
                     conversation.checks)
    if draft is not None and 0 < conversation.editing <= len(draft.items):
        index = conversation.editing - 1
        items = (*draft.items[:index], item, *draft.items[index + 1:])
        after = wf.edit_draft(draft, ctx.now, items=items)
        save(ctx, draft, after, "item_edited", "category")
    elif draft is None:
        person = await person_of(ctx, actor_of(ctx))
        claim_id = await ctx.storage.allocate_claim_id(ctx.now.year)
        after = Claim(claim_id, person, (item,), ClaimStatus.DRAFT, ctx.now, ctx.now,
                      title=item.description)
        save(ctx, None, after, "created")
    else:
        after = wf.edit_draft(draft, ctx.now, items=(*draft.items, item))
        save(ctx, draft, after, "item_added", item.category)
    conversation.draft = after.id
    conversation.reset_item()
    if conversation.next_item():
        await continue_item(ctx, conversation)
        return
    store(ctx, conversation)
    await show_draft(ctx, after)


async def take_invoices(
    ctx: HandlerContext, conversation: Conversation, read: list[tuple[str, Prefill]]
) -> None:
    """Invoices become items: the first fills the item in progress (or starts one), the rest
    queue behind it; each is filed once complete, else its missing fields are asked."""
    for _, found in read:
        ctx.send(Text(reply_to(ctx), invoice_summary(ctx, found)))
    first_id, first = read[0]
    if conversation.item:
        for key, value in first.values.items():
            conversation.item[key] = conversation.item.get(key) or value
    else:
        conversation.item = dict(first.values)
    conversation.attachments.append(first_id)
    conversation.checks = [list(check) for check in first.checks]
    for attachment_id, found in read[1:]:
        conversation.queue_item(dict(found.values), [attachment_id],
                                [list(check) for check in found.checks])
    await continue_item(ctx, conversation)


def invoice_summary(ctx: HandlerContext, found: Prefill) -> str:
    facts = found.summary
    category = category_of(found.values["category"], ctx.config.categories)
    guess = ""
    if category is not None:
        guess = say("invoice_category", ctx.lang, name=category.name, reason=found.category_reason)
    invoice = " ".join(part for part in (facts["kind"], facts["seller"]) if part)  # a QR: no seller
    return say("invoice_read", ctx.lang, invoice=invoice, total=facts["total"] or "?",
               date=facts["date"] or "?", guess=guess)


def ask(ctx: HandlerContext, conversation: Conversation, field: str) -> None:
    if field == "category":
        choices = [{"label": c.name, "action": f"choose:category:{c.code}"}
                   for c in ctx.config.categories]
        text = say("ask_category", ctx.lang)
    elif field.startswith("field:"):
        category = category_of(conversation.item.get("category", ""), ctx.config.categories)
        key = field.removeprefix("field:")
        label = next((f.label for f in category.fields if f.key == key), key) if category else key
        choices, text = [], say("ask_field", ctx.lang, label=label)
    else:
        choices, text = [], say(f"ask_{field}", ctx.lang)
    ctx.send(Card(reply_to(ctx), "prompt", prompt_data(ctx, text, field, choices), lang=ctx.lang))


def prompt_data(
    ctx: HandlerContext, text: str, field: str, choices: list[dict[str, str]]
) -> dict[str, object]:
    """A question; where cards have text inputs (Feishu) the answer can be typed on the card."""
    placeholder = say("reply_placeholder", ctx.lang)
    return {"text": text, "choices": choices,
            "input": {"name": "answer", "placeholder": placeholder, "action": f"answer:{field}"}}


async def show_draft(ctx: HandlerContext, claim: Claim) -> None:
    names = await display_names(ctx, claim)
    data = draft_data(claim, names, ctx)
    data["claim"]["flags"] += await draft_flags(ctx, claim)
    ctx.send(Card(reply_to(ctx), "claim_draft", data, claim_id=claim.id, lang=ctx.lang))


async def attach(ctx: HandlerContext, conversation: Conversation, stored: list[str]) -> None:
    if conversation.item or conversation.asking == "new_item":
        conversation.attachments.extend(stored)
        conversation.asking = conversation.asking or "new_item"
        store(ctx, conversation)
        ctx.send(Text(reply_to(ctx), say("receipt_kept", ctx.lang, count=len(stored))))
        return
    draft = await open_draft(ctx, conversation)
    if draft is None or not draft.items:
        conversation.attachments = stored
        conversation.asking = "new_item"
        store(ctx, conversation)
        ctx.send(Text(reply_to(ctx), say("receipt_first", ctx.lang)))
        return
    last = draft.items[-1]
    items = (*draft.items[:-1], replace(last, attachments=(*last.attachments, *stored)))
    after = wf.edit_draft(draft, ctx.now, items=items)
    save(ctx, draft, after, "receipt_attached", str(len(stored)))
    await show_draft(ctx, after)


def stop_editing_item(ctx: HandlerContext, conversation: Conversation) -> None:
    """Cancel in chat while a filed item waits for fields: only that change is dropped."""
    conversation.reset_item()
    store(ctx, conversation)
    ctx.send(Text(reply_to(ctx), say("item_edit_cancelled", ctx.lang, id=conversation.draft)))


async def cancel(ctx: HandlerContext, conversation: Conversation) -> str:
    """Drop the draft (a returned claim only stops being edited: it stays returned, with its
    invoices, until withdrawn); returns the text sent."""
    draft = await open_draft(ctx, conversation)
    said = say("cancelled", ctx.lang)
    if draft is not None and draft.status is ClaimStatus.DRAFT:
        after = wf.cancel_draft(draft, ctx.now)
        save(ctx, draft, after, "cancelled")
        names = await display_names(ctx, after)
        update_cards(ctx, after.id, "claim_draft", "claim_status",
                     lambda: status_data(after, names, ctx))
    elif draft is not None:
        said = say("editing_stopped", ctx.lang, id=draft.id)
    forget(ctx, conversation)
    ctx.send(Text(reply_to(ctx), said))
    return said


async def edit(ctx: HandlerContext, conversation: Conversation, command: Command) -> None:
    """``金额改成 50``: change the item being filled, else the draft's last (or numbered) item."""
    field = command.field or ""
    reply = read_answer(field, command.value, ctx.config.categories, today(ctx), ctx.lang)
    if reply.retry:
        ctx.send(Text(reply_to(ctx), reply.retry))
        return
    if conversation.item:
        conversation.item[field] = reply.value
        await continue_item(ctx, conversation)
        return
    draft = await open_draft(ctx, conversation)
    if draft is None or not draft.items:
        ctx.send(Text(reply_to(ctx), say("nothing_to_edit", ctx.lang)))
        return
    await _edit_item(ctx, conversation, draft, command, reply)


async def _edit_item(
    ctx: HandlerContext, conversation: Conversation, draft: Claim, command: Command,
    reply: Answer,
) -> None:
    index = (command.item or len(draft.items)) - 1
    if not 0 <= index < len(draft.items):
        ctx.send(Text(reply_to(ctx), say("no_such_item", ctx.lang, count=len(draft.items))))
        return
    field = command.field or "description"
    item = _with(draft.items[index], field, reply.value)
    category = category_of(item.category, ctx.config.categories)
    if field == "category" and category is not None and missing_field(
        *_as_answers(item), ctx.config.categories
    ):
        # The new category asks for fields this item lacks: ask for them first; the draft
        # changes only once they are in (cancel leaves it as it was).
        conversation.reset_item()
        conversation.item, conversation.extra = _as_answers(item)
        conversation.attachments = list(item.attachments)
        conversation.checks = [list(check) for check in item.checks]
        conversation.editing = index + 1
        ctx.send(Text(reply_to(ctx), say("category_needs_fields", ctx.lang, name=category.name)))
        await continue_item(ctx, conversation)
        return
    items = (*draft.items[:index], item, *draft.items[index + 1:])
    after = wf.edit_draft(draft, ctx.now, items=items)
    save(ctx, draft, after, "item_edited", field)
    await show_draft(ctx, after)


def _as_answers(item: ClaimItem) -> tuple[dict[str, str], dict[str, str]]:
    """A filed item as the text answers :func:`make_item` builds it from, and its extra fields."""
    answers = {"category": item.category, "amount": str(item.amount),
               "spent_on": item.spent_on.isoformat(), "description": item.description}
    if item.invoice_key:
        answers["invoice"] = item.invoice_key
    if item.invoice_total is not None:
        answers["invoice_total"] = str(item.invoice_total)
    return answers, dict(item.extra)


def _with(item: ClaimItem, field: str, value: str) -> ClaimItem:
    """``item`` with one field changed to an answer read by ``read_answer`` (text)."""
    if field == "amount":
        return replace(item, amount=Decimal(value))
    if field == "spent_on":
        return replace(item, spent_on=date.fromisoformat(value))
    if field == "category":
        return replace(item, category=value)
    return replace(item, description=value)


@router.card_action("choose")
async def choose(ctx: HandlerContext) -> None:
    """A choice on a prompt card (``choose:category:taxi``) answers the open question."""
    assert isinstance(ctx.event, CardActionEvent)
    parts = ctx.event.action.split(":", 2)
    conversation = await load(ctx)
    if len(parts) != 3 or conversation.asking != parts[1]:
        ctx.inline = toast(say("unknown_action", ctx.lang), "warning")
        return
    conversation.item[parts[1]] = parts[2]
    ctx.inline = InlineReply(toast=Toast(say("noted", ctx.lang), "success"))
    await continue_item(ctx, conversation)


def ask_new_item(ctx: HandlerContext, conversation: Conversation) -> None:
    conversation.reset_item()
    conversation.asking = "new_item"
    store(ctx, conversation)
    text = say("describe_expense", ctx.lang)
    ctx.send(Card(reply_to(ctx), "prompt", prompt_data(ctx, text, "new_item", []), lang=ctx.lang))


@router.card_action("add_item")
async def add_item(ctx: HandlerContext) -> None:
    ask_new_item(ctx, await load(ctx))
    ctx.inline = toast(say("describe_expense", ctx.lang))


@router.card_action("cancel")
async def cancel_clicked(ctx: HandlerContext) -> None:
    """Cancel the draft whose card was clicked: an older card of another claim cancels nothing."""
    assert isinstance(ctx.event, CardActionEvent)
    conversation = await load(ctx)
    action = parse_action(ctx.event.action)
    if action is None or action.claim_id != conversation.draft:
        ctx.inline = toast(say("card_outdated", ctx.lang), "warning")
        return
    ctx.inline = toast(await cancel(ctx, conversation))
