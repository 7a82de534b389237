"""The employee's chat: one-line claims, the guided questions, receipts, edits and commands."""

from __future__ import annotations

from bot.dispatcher import HandlerContext, Router
from bot.events import CardActionEvent, MessageEvent
from bot.replies import Card, Text
from handlers import claims, drafts
from handlers.common import reply_to, toast, today
from handlers.conversation import Conversation, load, store
from handlers.help import help_data
from handlers.invoices import InvoiceUnreadable, Prefill, read_prefill
from handlers.items import category_of, check_field, from_parsed, read_answer, take_invoice
from handlers.languages import remember_choice
from handlers.parsing import Command, CommandKind, parse_claim_text
from handlers.receipts import receipt_type
from handlers.texts import say
from storage.base import AttachmentTooLarge

router = Router()

LANGUAGE_WORDS = {"english": "en-US", "中文": "zh-CN", "chinese": "zh-CN"}


@router.message(lambda event: True)
async def on_message(ctx: HandlerContext) -> None:
    event = ctx.event
    assert isinstance(event, MessageEvent)
    conversation = await load(ctx)
    text = event.text.strip()
    if event.files:
        await receive_files(ctx, conversation)
    elif text.lower() in LANGUAGE_WORDS:
        conversation.lang = ctx.lang = LANGUAGE_WORDS[text.lower()]
        store(ctx, conversation)
        remember_choice(ctx, ctx.lang)
        ctx.send(Text(reply_to(ctx), say("language_set", ctx.lang)))
    elif (command := drafts.command_of(text)) is not None:
        await run_command(ctx, conversation, command)
    elif conversation.asking.startswith("reason:"):
        await claims.reason_given(ctx, conversation, text)
    elif conversation.asking and conversation.asking != "new_item":
        await answer(ctx, conversation, text)
    elif text:
        await take_text(ctx, conversation, text)


async def run_command(ctx: HandlerContext, conversation: Conversation, command: Command) -> None:
    kind = command.kind
    if kind is CommandKind.HELP:
        ctx.send(Card(reply_to(ctx), "help", help_data(ctx.lang), lang=ctx.lang))
    elif kind is CommandKind.MINE:
        await claims.show_mine(ctx)
    elif kind is CommandKind.TODO:
        await claims.show_todo(ctx)
    elif kind is CommandKind.CANCEL and conversation.editing:
        drafts.stop_editing_item(ctx, conversation)
    elif kind is CommandKind.CANCEL:
        await drafts.cancel(ctx, conversation)
    elif kind is CommandKind.WITHDRAW:
        await claims.withdraw_by_text(ctx, command.claim_id or "")
    elif kind is CommandKind.SHOW:
        await claims.show_claim(ctx, command.claim_id or "")
    elif kind is CommandKind.EDIT:
        await drafts.edit(ctx, conversation, command)
    else:
        drafts.ask_new_item(ctx, conversation)


@router.card_action("answer")
async def answered_on_card(ctx: HandlerContext) -> None:
    """The text input of a prompt card (Feishu forms): the same as replying with a message."""
    event = ctx.event
    assert isinstance(event, CardActionEvent)
    conversation = await load(ctx)
    field = event.action.partition(":")[2]
    text = event.form.get("answer", "").strip()
    if not text or field != (conversation.asking or "new_item"):
        ctx.inline = toast(say("card_outdated" if text else "please_answer", ctx.lang), "warning")
        return
    ctx.inline = toast(say("noted", ctx.lang), "success")
    if field == "new_item":
        await take_text(ctx, conversation, text)
    else:
        await answer(ctx, conversation, text)


async def take_text(ctx: HandlerContext, conversation: Conversation, text: str) -> None:
    """A free-text message: read items from it and file them, asking what is missing."""
    text, invoice = take_invoice(text)
    result = parse_claim_text(text, ctx.config.categories, today(ctx), ctx.lang)
    if not result.items:
        if invoice and conversation.item:
            conversation.item["invoice"] = invoice
            await drafts.continue_item(ctx, conversation)
        elif result.triggered or conversation.asking == "new_item":
            drafts.ask_new_item(ctx, conversation)
        else:
            ctx.send(Text(reply_to(ctx), say("not_understood", ctx.lang)))
        return
    values = [from_parsed(item, invoice if len(result.items) == 1 else "")
              for item in result.items]
    attachments = conversation.attachments
    conversation.reset_item()
    conversation.item, conversation.attachments = values[0], attachments
    conversation.queue = values[1:]
    await drafts.continue_item(ctx, conversation)


async def answer(ctx: HandlerContext, conversation: Conversation, text: str) -> None:
    """The user's reply to the question we asked about the item being filled."""
    asking = conversation.asking
    reply = read_answer(asking, text, ctx.config.categories, today(ctx), ctx.lang)
    if reply.retry or not reply.value:
        ctx.send(Text(reply_to(ctx), reply.retry or say("please_answer", ctx.lang)))
        return
    if asking.startswith("field:"):
        key = asking.removeprefix("field:")
        category = category_of(conversation.item.get("category", ""), ctx.config.categories)
        declared = next((f for f in category.fields if f.key == key), None) if category else None
        if declared is not None:
            try:
                conversation.extra[key] = check_field(declared, reply.value, today(ctx))
            except ValueError:
                ctx.send(Text(reply_to(ctx), say("field_invalid", ctx.lang, label=declared.label)))
                return
    else:
        conversation.item[asking] = reply.value
    await drafts.continue_item(ctx, conversation)


async def receive_files(ctx: HandlerContext, conversation: Conversation) -> None:
    """Receipts: stored by content hash and attached to the item being filled or the last one."""
    event = ctx.event
    assert isinstance(event, MessageEvent)
    download = ctx.downloads.get(event.platform)
    if download is None:
        ctx.send(Text(reply_to(ctx), say("files_unsupported", ctx.lang)))
        return
    plain: list[str] = []
    invoices: list[tuple[str, Prefill]] = []
    for file in event.files:
        data, _claimed = await download(file)
        content_type = receipt_type(data)
        if content_type is None:
            # An image message carries no file name.
            unsupported = (say("file_unsupported", ctx.lang, name=file.name) if file.name
                           else say("file_unsupported_unnamed", ctx.lang))
            ctx.send(Text(reply_to(ctx), unsupported))
            return
        try:
            found = await read_prefill(data, content_type, ctx.config, today(ctx))
        except InvoiceUnreadable as error:
            if not content_type.startswith("image/"):
                ctx.send(Text(reply_to(ctx), error.text(ctx.lang)))
                return
            found = None  # a photo without a readable invoice QR is still a receipt
        try:
            attachment = await ctx.storage.put_attachment(data, content_type, file.name)
        except AttachmentTooLarge as error:
            ctx.send(Text(reply_to(ctx), say("file_too_large", ctx.lang,
                                             limit=error.limit // (1024 * 1024))))
            return
        if found is None:
            plain.append(attachment.id)
        else:
            invoices.append((attachment.id, found))
    if invoices:
        conversation.attachments.extend(plain)
        await drafts.take_invoices(ctx, conversation, invoices)
    else:
        await drafts.attach(ctx, conversation, plain)

