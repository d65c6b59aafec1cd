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
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot import commands
from bot.admin import AdminService
from bot.config import Config
from bot.service import BotService
from bot.telegram import admin, keyboards
from bot.telegram import handlers as h
from bot.telegram.context import CONTEXT_TYPES
from bot.telegram.retry import RetryingLimiter

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
        .rate_limiter(RetryingLimiter(max_retries=3))
        # A reload or an upload takes seconds; questions must not queue behind it.
        .concurrent_updates(True)
        .post_init(_publish_commands)
    )
    if settings.base_url:
        builder = builder.base_url(settings.base_url)
    if settings.base_file_url:
        builder = builder.base_file_url(settings.base_file_url)
    if settings.proxy:
        builder = builder.proxy(settings.proxy).get_updates_proxy(settings.proxy)
    application = builder.context_types(CONTEXT_TYPES).build()
    application.bot_data.service = service
    application.bot_data.admin = AdminService(service.library, config, service.journal)
    register(application)
    return application


def register(application: Application) -> None:
    """Every handler, in the order PTB tries them: the command table's commands, the admin
    commands, documents (admin uploads), text, other messages, buttons by pattern, inline."""
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    application.add_handler(CommandHandler([c.name for c in commands.COMMANDS], h.on_command))
    application.add_handler(CommandHandler("reload", admin.on_reload))
    application.add_handler(CommandHandler("remove", admin.on_remove))
    application.add_handler(CommandHandler("stats", admin.on_stats))
    application.add_handler(MessageHandler(private & filters.Document.ALL, admin.on_document))
    application.add_handler(MessageHandler(groups & filters.Document.ALL, admin.on_group_document))
    application.add_handler(MessageHandler(private & filters.COMMAND, h.on_command))
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
    application.add_handler(CallbackQueryHandler(h.on_more, pattern=keyboards.MORE_PATTERN))
    application.add_handler(CallbackQueryHandler(h.on_full, pattern=keyboards.FULL_PATTERN))
    application.add_handler(CallbackQueryHandler(h.on_full, pattern=keyboards.WALK_PATTERN))
    application.add_handler(CallbackQueryHandler(h.on_cite, pattern=keyboards.CITE_PATTERN))
    application.add_handler(CallbackQueryHandler(h.on_vote, pattern=keyboards.VOTE_PATTERN))
    application.add_handler(CallbackQueryHandler(h.on_outline, pattern=keyboards.OUTLINE_PATTERN))
    application.add_handler(CallbackQueryHandler(h.on_stale_button))
    application.add_handler(InlineQueryHandler(h.on_inline))
    application.add_error_handler(h.on_error)


async def _publish_commands(application: Application) -> None:
    bot = application.bot
    await bot.set_my_commands(
        [BotCommand(c, d) for c, d in commands.menu(in_groups=False).items()],
        scope=BotCommandScopeAllPrivateChats(),
    )
    await bot.set_my_commands(
        [BotCommand(c, d) for c, d in commands.menu(in_groups=True).items()],
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
