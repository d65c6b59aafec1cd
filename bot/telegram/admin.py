"""Admin commands and uploads: access check, run the work off the event loop, report."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Message, Update
from telegram.constants import ChatType

from bot import messages as m
from bot.access import is_admin
from bot.admin import AdminError, AdminService
from bot.render import html as tr
from bot.render import text as render
from bot.telegram.context import Context

log = logging.getLogger(__name__)

Handler = Callable[[Update, Context, Message], Coroutine[Any, Any, None]]
Checked = Callable[[Update, Context], Coroutine[Any, Any, None]]


def admin_service(context: Context) -> AdminService:
    return context.bot_data.admin


def admins_only(action: str) -> Callable[[Handler], Checked]:
    """Refuse (and audit) anyone not in [telegram] admins; they change nothing. The one
    place access is checked; the handler gets the message it answers."""

    def wrap(handler: Handler) -> Checked:
        @functools.wraps(handler)
        async def checked(update: Update, context: Context) -> None:
            message = update.effective_message
            if message is None:
                return
            if message.chat.type != ChatType.PRIVATE:
                # Statistics hold everyone's questions: never in front of a group.
                await message.reply_html(tr.esc(m.ADMIN_PRIVATE_ONLY), do_quote=True)
                return
            user = update.effective_user.id if update.effective_user else None
            service = admin_service(context)
            if not is_admin(service.config.telegram, user):
                log.warning("refused %s for a non-admin user", action)
                service.audit(user, action, "", "refused: not an admin")
                await message.reply_html(tr.esc(m.NOT_ADMIN))
                return
            await handler(update, context, message)

        return checked

    return wrap


async def _say(message: Message, text: str) -> None:
    for part in tr.pack([tr.esc(text)]):
        await message.reply_html(part)


@admins_only("reload")
async def on_reload(update: Update, context: Context, message: Message) -> None:
    service = admin_service(context)
    user = update.effective_user.id if update.effective_user else None
    await _say(message, m.RELOAD_STARTED)
    try:
        report = await asyncio.to_thread(service.reload)
    except AdminError as exc:
        service.audit(user, "reload", "", f"failed: {exc}")
        await _say(message, str(exc))
        return
    except Exception as exc:
        log.exception("reload failed")
        service.audit(user, "reload", "", f"failed: {exc}")
        await _say(message, m.RELOAD_FAILED.format(reason=str(exc)[:300]))
        return
    service.audit(user, "reload", "", f"ok: {report.speeches} speeches")
    await _say(message, render.reload_text(report))


@admins_only("upload")
async def on_document(update: Update, context: Context, message: Message) -> None:
    document = message.document
    if not document:
        return
    service = admin_service(context)
    user = update.effective_user.id if update.effective_user else None
    name = document.file_name or "upload.txt"
    replace = (message.caption or "").strip().startswith("/replace")
    try:
        # Checked before downloading: an oversized file is never fetched.
        service.check_size(document.file_size or 0)
        data = bytes(await (await document.get_file()).download_as_bytearray())
        result = await asyncio.to_thread(service.upload, name, data, replace)
    except AdminError as exc:
        service.audit(user, "upload", name, f"rejected: {exc}")
        await _say(message, f"{exc}")
        return
    except Exception as exc:
        # The details (a server path, a library's message) go to the log, not to the chat.
        log.exception("upload failed")
        service.audit(user, "upload", name, f"failed: {type(exc).__name__}: {exc}")
        await _say(message, m.UPLOAD_FAILED)
        return
    service.audit(user, "upload", result.name, "ok")
    lines = [m.UPLOAD_DONE.format(name=result.name)]
    lines += [m.UPLOAD_SPEECH.format(id=i, title=t) for i, t in result.speeches]
    if result.name != name and not replace:
        lines.append(m.REPLACE_HINT)
    await _say(message, "\n".join([*lines, "", render.reload_text(result.report)]))


async def on_group_document(update: Update, context: Context) -> None:
    """An admin's upload in a group is pointed to the private chat; anyone else's files are
    none of the bot's business."""
    message = update.effective_message
    user = update.effective_user.id if update.effective_user else None
    if message is not None and is_admin(admin_service(context).config.telegram, user):
        await message.reply_html(tr.esc(m.ADMIN_PRIVATE_ONLY), do_quote=True)


@admins_only("remove")
async def on_remove(update: Update, context: Context, message: Message) -> None:
    service = admin_service(context)
    user = update.effective_user.id if update.effective_user else None
    speech_id = " ".join(context.args or []).strip()
    if not speech_id:
        await _say(message, m.REMOVE_USAGE)
        return
    try:
        source, report = await asyncio.to_thread(service.remove, speech_id)
    except AdminError as exc:
        service.audit(user, "remove", speech_id, f"rejected: {exc}")
        await _say(message, str(exc))
        return
    service.audit(user, "remove", source, "ok")
    await _say(
        message, "\n".join([m.REMOVE_DONE.format(source=source), render.reload_text(report)])
    )


@admins_only("stats")
async def on_stats(update: Update, context: Context, message: Message) -> None:
    service = admin_service(context)
    user = update.effective_user.id if update.effective_user else None
    service.audit(user, "stats", "", "ok")
    await _say(message, render.stats_text(service.stats()))
