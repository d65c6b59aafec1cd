"""Build and run the Telegram Application: all handlers are registered here, in one place."""

from __future__ import annotations

import logging
import re

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    Update,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot import messages as m
from bot.admin import AdminService
from bot.config import Config
from bot.service import BotService
from bot.telegram import admin
from bot.telegram import handlers as h

log = logging.getLogger(__name__)

TOKEN_FORMAT = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")


class TokenError(Exception):
    """No bot token, or one that cannot be a Telegram token."""


def check_token(token: str) -> str:
    if not token:
        raise TokenError("no Telegram token: set [telegram] token or $SPEECHBOT_TOKEN")
    if not TOKEN_FORMAT.match(token):
        raise TokenError(
            "the Telegram token is malformed (expected digits:letters, from BotFather)"
        )
    return token


class RedactToken(logging.Filter):
    """PTB and httpx log request URLs, which contain the token: it never reaches the logs."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<token>"), None
        return True


def install_redaction(token: str) -> None:
    redact = RedactToken(token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def build_application(config: Config, service: BotService) -> Application:
    settings = config.telegram
    builder = (
        ApplicationBuilder()
        .token(check_token(settings.token))
        .rate_limiter(AIORateLimiter(max_retries=3))
        # A reload or an upload takes seconds; questions must not queue behind it.
        .concurrent_updates(True)
        .post_init(_publish_commands)
    )
    if settings.base_url:
        builder = builder.base_url(settings.base_url)
    if settings.base_file_url:
        builder = builder.base_file_url(settings.base_file_url)
    application = builder.build()
    application.bot_data[h.SERVICE] = service
    application.bot_data[admin.ADMIN] = AdminService(service.library, config, service.journal)
    register(application)
    return application


def register(application: Application) -> None:
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    application.add_handler(CommandHandler(["start", "help"], h.on_help))
    application.add_handler(CommandHandler("ask", h.on_ask))
    application.add_handler(CommandHandler("find", h.on_find))
    application.add_handler(CommandHandler("speeches", h.on_speeches))
    application.add_handler(CommandHandler("speech", h.on_speech))
    application.add_handler(CommandHandler("reload", admin.on_reload))
    application.add_handler(CommandHandler("remove", admin.on_remove))
    application.add_handler(CommandHandler("stats", admin.on_stats))
    application.add_handler(MessageHandler(private & filters.Document.ALL, admin.on_document))
    application.add_handler(
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, h.on_private_text)
    )
    application.add_handler(
        MessageHandler(groups & filters.TEXT & ~filters.COMMAND, h.on_group_text)
    )
    application.add_handler(
        MessageHandler(
            private & ~filters.TEXT & ~filters.COMMAND & ~filters.StatusUpdate.ALL,
            h.on_other_private,
        )
    )
    application.add_handler(CallbackQueryHandler(h.on_button))
    application.add_handler(InlineQueryHandler(h.on_inline))
    application.add_error_handler(h.on_error)


async def _publish_commands(application: Application) -> None:
    bot = application.bot
    await bot.set_my_commands(
        [BotCommand(c, d) for c, d in m.COMMANDS_PRIVATE.items()],
        scope=BotCommandScopeAllPrivateChats(),
    )
    await bot.set_my_commands(
        [BotCommand(c, d) for c, d in m.COMMANDS_GROUP.items()],
        scope=BotCommandScopeAllGroupChats(),
    )


def run(config: Config, service: BotService) -> None:
    """Long polling by default; a webhook when [telegram] webhook_url is set."""
    settings = config.telegram
    install_redaction(settings.token)
    application = build_application(config, service)
    if settings.webhook_url:
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=settings.webhook_secret or "telegram",
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret or None,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
