"""Telegram handlers: parse the update, call the command table or the service, render,
reply. Nothing more."""

from __future__ import annotations

import logging
import re

from telegram import (
    CallbackQuery,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError

from bot import commands
from bot import messages as m
from bot.commands import Reply, Request
from bot.render import html
from bot.render.text import source_line
from bot.service import Asker
from bot.telegram import keyboards
from bot.telegram.context import Context
from retrieval import RELATED

log = logging.getLogger(__name__)

INLINE_RESULTS = 10
# In a group an answer is compact (the best passage and its buttons) so it never floods.
GROUP_PASSAGES = 1


def _in_group(message: Message) -> bool:
    return message.chat.type != ChatType.PRIVATE


def _replied_to_bot(message: Message, context: Context) -> int | None:
    """The id of the bot's message this one replies to, if it replies to the bot."""
    replied = message.reply_to_message
    if replied and replied.from_user and replied.from_user.id == context.bot.id:
        return replied.message_id
    return None


def _request(message: Message, context: Context, args: str) -> Request:
    asker = Asker(
        chat_type=message.chat.type,
        user_id=message.from_user.id if message.from_user else None,
        chat_id=message.chat.id,
        replied_to=_replied_to_bot(message, context),
        k=GROUP_PASSAGES if _in_group(message) else 0,
    )
    return Request(args, asker, context.bot.username)


async def send_reply(message: Message, reply: Reply, context: Context) -> None:
    """The reply's messages (quoting the asker in a group); an answer's buttons go under
    the last, and its messages are remembered, so that a reply to one follows it up."""
    quote = _in_group(message)
    sent = []
    for i, text in enumerate(reply.messages):
        last = i == len(reply.messages) - 1
        markup = None
        if last and reply.page:
            markup = keyboards.answer_keyboard(reply.page)
        elif last and reply.reading:
            markup = keyboards.reading_keyboard(reply.reading)
        elif last and reply.speeches:
            markup = keyboards.speeches_keyboard(reply.speeches)
        elif last and reply.outline:
            markup = keyboards.outline_keyboard(reply.outline)
        sent.append(await message.reply_html(text, reply_markup=markup, do_quote=quote))
    if reply.page is not None:
        ids = [s.message_id for s in sent]
        context.bot_data.service.remember_sent(message.chat.id, ids, reply.page)


async def on_command(update: Update, context: Context) -> None:
    """/name args, as the command table answers it (an unknown name gets a pointer to
    /help)."""
    message = update.effective_message
    if not message or not message.text:
        return
    head, _, args = message.text.partition(" ")
    name = head[1:].split("@")[0]
    request = _request(message, context, args.strip())
    await send_reply(message, commands.run(name, context.bot_data.service, request), context)


async def on_private_text(update: Update, context: Context) -> None:
    message = update.effective_message
    if message and message.text:
        request = _request(message, context, message.text)
        await send_reply(message, commands.ask(context.bot_data.service, request), context)


async def on_group_text(update: Update, context: Context) -> None:
    """A mention of the bot, or a reply to one of its answers (a follow-up question)."""
    message = update.effective_message
    if not message or not message.text:
        return
    mention = f"@{context.bot.username}"
    to_bot = _replied_to_bot(message, context) is not None
    if mention.lower() not in message.text.lower() and not to_bot:
        return
    question = re.sub(re.escape(mention), " ", message.text, flags=re.IGNORECASE).strip()
    request = _request(message, context, question)
    await send_reply(message, commands.ask(context.bot_data.service, request), context)


async def on_other_private(update: Update, context: Context) -> None:
    """Stickers, photos, voice…: say politely what the bot understands."""
    if update.effective_message:
        await update.effective_message.reply_html(html.esc(m.TEXT_ONLY))


def _pressed(
    update: Update, *patterns: re.Pattern[str]
) -> tuple[CallbackQuery, Message, re.Match[str]] | None:
    """The button press, the message it was under and its data as the first pattern that
    fits reads it; None for anything else (PTB routed it here by one of the patterns)."""
    query = update.callback_query
    message = query.message if query and isinstance(query.message, Message) else None
    if query is None or message is None:
        return None
    match = next((found for p in patterns if (found := p.match(query.data or ""))), None)
    return (query, message, match) if match else None


async def on_more(update: Update, context: Context) -> None:
    """更多结果: the next page of the logged question, in place of the shown one."""
    pressed = _pressed(update, keyboards.MORE_PATTERN)
    if pressed is None:
        return
    query, message, match = pressed
    k = GROUP_PASSAGES if _in_group(message) else 0
    service, log_id = context.bot_data.service, int(match[1])
    owned = service.owns(message.chat.id, message.message_id, log_id)
    page = service.page(log_id, int(match[2]), k) if owned else None
    if page is None:
        await query.answer(m.EXPIRED)
    elif not page.answer.hits:
        await query.answer(m.NO_MORE)
    else:
        await query.answer()
        await query.edit_message_text(
            html.page_messages(page)[0],
            parse_mode=ParseMode.HTML,
            reply_markup=keyboards.answer_keyboard(page),
        )


async def on_full(update: Update, context: Context) -> None:
    """查看全文: the paragraph in full, in a message of its own, with 上一段 / 下一段; and
    those buttons, which show the paragraph before or after in that same message."""
    pressed = _pressed(update, keyboards.FULL_PATTERN, keyboards.WALK_PATTERN)
    if pressed is None:
        return
    query, message, match = pressed
    data = match.string
    text = context.bot_data.service.full_text(match[1], int(match[2]))
    if text is None:
        await query.answer(m.EXPIRED)
        return
    if _in_group(message) and not data.startswith(keyboards.WALK):
        # Reading a speech would flood the group: it goes on in a private chat.
        link = commands.read_link(text.speech.id, text.focus)
        await query.answer(url=f"https://t.me/{context.bot.username}?start={link}")
        return
    await query.answer()
    shown = html.full_text_messages(text)[0]
    markup = keyboards.reading_keyboard(text)
    if data.startswith(keyboards.WALK):
        await query.edit_message_text(shown, parse_mode=ParseMode.HTML, reply_markup=markup)
    else:
        await message.reply_html(shown, reply_markup=markup, do_quote=_in_group(message))


async def on_outline(update: Update, context: Context) -> None:
    """A speech's button in /speeches: its outline."""
    pressed = _pressed(update, keyboards.OUTLINE_PATTERN)
    if pressed is None:
        return
    query, message, match = pressed
    outline = context.bot_data.service.outline(match[1])
    if outline is None:
        await query.answer(m.EXPIRED)
        return
    await query.answer()
    await send_reply(message, Reply(html.outline_messages(outline), outline=outline), context)


async def on_vote(update: Update, context: Context) -> None:
    """有用 / 没用: logged with the question for the admins' statistics."""
    pressed = _pressed(update, keyboards.VOTE_PATTERN)
    if pressed is None:
        return
    query, message, match = pressed
    service, log_id = context.bot_data.service, int(match[1])
    user = query.from_user.id if query.from_user else None
    owned = service.owns(message.chat.id, message.message_id, log_id)
    if owned and service.vote(log_id, user, match[2] == "1"):
        await query.answer(m.THANKS)
    else:
        await query.answer(m.EXPIRED)


async def on_cite(update: Update, context: Context) -> None:
    """引用格式: the paragraph's reference, ready to copy."""
    pressed = _pressed(update, keyboards.CITE_PATTERN)
    if pressed is None:
        return
    query, message, match = pressed
    cited = context.bot_data.service.citation(match[1], int(match[2]))
    if cited is None:
        await query.answer(m.EXPIRED)
        return
    await query.answer()
    text = f"{html.esc(m.CITATION)}\n<code>{html.esc(cited)}</code>"
    await message.reply_html(text, do_quote=_in_group(message))


async def on_stale_button(update: Update, context: Context) -> None:
    """A button of an older version, or data no handler's pattern accepts."""
    if update.callback_query:
        await update.callback_query.answer(m.EXPIRED)


async def on_inline(update: Update, context: Context) -> None:
    """Up to ten passages as articles, each ready to drop into any chat as a quotation."""
    inline = update.inline_query
    if not inline:
        return
    text = inline.query.strip()
    if not text:
        await inline.answer([], cache_time=5, button=_inline_button(m.INLINE_HINT))
        return
    asker = Asker(chat_type="inline", user_id=inline.from_user.id, k=INLINE_RESULTS)
    page = context.bot_data.service.ask(text, asker)
    related = m.RELATED_MARK if page.answer.confidence == RELATED else ""
    # Only the relevant passages (answer.total, when known), never padded to ten.
    hits = page.answer.hits[: page.answer.total or None]
    results = [
        InlineQueryResultArticle(
            id=f"{hit.speech_id}-{hit.paragraph}",
            title=source_line(hit)[:120],
            description=(related + hit.snippet)[:120],
            input_message_content=InputTextMessageContent(
                html.hit_block(hit, numbered=False), parse_mode=ParseMode.HTML
            ),
        )
        for hit in hits
    ]
    button = None if results else _inline_button(m.INLINE_NOTHING)
    await inline.answer(results, cache_time=30, button=button)


def _inline_button(text: str) -> InlineQueryResultsButton:
    return InlineQueryResultsButton(text=text, start_parameter="help")


async def on_error(update: object, context: Context) -> None:
    """Log the failure with the update; tell the user briefly; never let it stop the bot."""
    # The update itself holds a user's id, name and words: the log names only the update.
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("handling update %s failed", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_message:
        try:
            await update.effective_message.reply_html(html.esc(m.ERROR))
        except TelegramError:
            log.warning("could not tell the user about the failure")
