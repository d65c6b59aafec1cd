"""Telegram handlers: parse the update, call the service, render, reply. Nothing more."""

from __future__ import annotations

import logging
import re

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import messages as m
from bot import telegram_render as tr
from bot.render import source_line
from bot.service import BotService, Page
from bot.telegram import keyboards
from retrieval import RELATED

log = logging.getLogger(__name__)

SERVICE = "service"
INLINE_RESULTS = 10
# In a group an answer is compact (the best passage and its buttons) so it never floods.
GROUP_PASSAGES = 1


def service(context: ContextTypes.DEFAULT_TYPE) -> BotService:
    return context.bot_data[SERVICE]


def _in_group(message: Message) -> bool:
    return message.chat.type != ChatType.PRIVATE


async def send_page(message: Message, page: Page, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The answer as replies; the buttons go under the last message. The messages are
    remembered, so that a reply to one is read as a follow-up of this question."""
    quote = _in_group(message)
    sent = []
    for i, text in enumerate(page.messages):
        last = i == len(page.messages) - 1
        markup = keyboards.answer_keyboard(page) if last else None
        sent.append(await message.reply_html(text, reply_markup=markup, do_quote=quote))
    service(context).remember_sent(message.chat.id, [s.message_id for s in sent], page)


async def send_texts(message: Message, texts: list[str]) -> None:
    for text in texts:
        await message.reply_html(text, do_quote=_in_group(message))


def _replied_to_bot(message: Message, context: ContextTypes.DEFAULT_TYPE) -> int | None:
    """The id of the bot's message this one replies to, if it replies to the bot."""
    replied = message.reply_to_message
    if replied and replied.from_user and replied.from_user.id == context.bot.id:
        return replied.message_id
    return None


async def answer_question(message: Message, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    k = GROUP_PASSAGES if _in_group(message) else 0
    user = message.from_user.id if message.from_user else None
    replied = _replied_to_bot(message, context)
    page = service(context).ask(text, message.chat.type, user, k, message.chat.id, replied)
    await send_page(message, page, context)


async def on_private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message and message.text:
        await answer_question(message, context, message.text)


async def on_group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A mention of the bot, or a reply to one of its answers (a follow-up question)."""
    message = update.effective_message
    if not message or not message.text:
        return
    mention = f"@{context.bot.username}"
    to_bot = _replied_to_bot(message, context) is not None
    if mention.lower() not in message.text.lower() and not to_bot:
        return
    question = re.sub(re.escape(mention), " ", message.text, flags=re.IGNORECASE).strip()
    if question:
        await answer_question(message, context, question)
    else:
        await message.reply_html(tr.esc(m.ASK_USAGE), do_quote=True)


async def on_ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if not message:
        return
    question = " ".join(context.args or []).strip()
    if not question:
        await message.reply_html(tr.esc(m.ASK_USAGE), do_quote=_in_group(message))
        return
    await answer_question(message, context, question)


async def on_find(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if not message:
        return
    phrase = " ".join(context.args or []).strip()
    if not phrase:
        await message.reply_html(tr.esc(m.FIND_USAGE), do_quote=_in_group(message))
        return
    user = message.from_user.id if message.from_user else None
    k = GROUP_PASSAGES if _in_group(message) else 0
    await send_page(message, service(context).find(phrase, message.chat.type, user, k), context)


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message:
        text = tr.esc(m.HELP.format(username=context.bot.username))
        await update.effective_message.reply_html(text)


async def on_speeches(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message:
        await send_texts(update.effective_message, service(context).speeches())


async def on_speech(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if not message:
        return
    svc = service(context)
    speech_id = " ".join(context.args or []).strip()
    outline = svc.outline(speech_id) if speech_id else None
    if outline is not None:
        await send_texts(message, outline)
        return
    if speech_id:
        text = m.UNKNOWN_SPEECH.format(id=speech_id[:40])
    else:
        first = svc.library.speeches()
        text = m.SPEECH_USAGE.format(example=first[0].id if first else "1a2b3c4d")
    await message.reply_html(tr.esc(text), do_quote=_in_group(message))


async def on_other_private(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice…: say politely what the bot understands."""
    if update.effective_message:
        await update.effective_message.reply_html(tr.esc(m.TEXT_ONLY))


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if not query:
        return
    parsed = keyboards.parse(query.data or "")
    message = query.message if isinstance(query.message, Message) else None
    if parsed is None or message is None:
        await query.answer(m.EXPIRED)
        return
    kind, key, number = parsed
    svc = service(context)
    if kind == keyboards.MORE:
        k = GROUP_PASSAGES if _in_group(message) else 0
        page = svc.page(int(key), number, k) if key.isdigit() else None
        if page is None:
            await query.answer(m.EXPIRED)
        elif not page.answer.hits:
            await query.answer(m.NO_MORE)
        else:
            await query.answer()
            await query.edit_message_text(
                page.messages[0],
                parse_mode=ParseMode.HTML,
                reply_markup=keyboards.answer_keyboard(page),
            )
        return
    texts = svc.full_text(key, number)
    if texts is None:
        await query.answer(m.EXPIRED)
        return
    await query.answer()
    await send_texts(message, texts)


async def on_inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Up to ten passages as articles, each ready to drop into any chat as a quotation."""
    inline = update.inline_query
    if not inline:
        return
    text = inline.query.strip()
    if not text:
        await inline.answer([], cache_time=5, button=_inline_button(m.INLINE_HINT))
        return
    page = service(context).ask(text, "inline", inline.from_user.id, INLINE_RESULTS)
    related = m.RELATED_MARK if page.answer.confidence == RELATED else ""
    results = [
        InlineQueryResultArticle(
            id=f"{hit.speech_id}-{hit.paragraph}",
            title=source_line(hit)[:120],
            description=(related + hit.snippet)[:120],
            input_message_content=InputTextMessageContent(
                tr.hit_block(hit, numbered=False), parse_mode=ParseMode.HTML
            ),
        )
        for hit in page.answer.hits
    ]
    button = None if results else _inline_button(m.INLINE_NOTHING)
    await inline.answer(results, cache_time=30, button=button)


def _inline_button(text: str) -> InlineQueryResultsButton:
    return InlineQueryResultsButton(text=text, start_parameter="help")


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure with the update; tell the user briefly; never let it stop the bot."""
    log.error("handling update %r failed", update, exc_info=context.error)
    if isinstance(update, Update) and update.effective_message:
        try:
            await update.effective_message.reply_html(tr.esc(m.ERROR))
        except TelegramError:
            log.warning("could not tell the user about the failure")
