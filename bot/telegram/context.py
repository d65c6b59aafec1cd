"""The bot's typed context (PTB's ContextTypes): what every handler reaches, by attribute."""

from __future__ import annotations

from typing import Any

from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.admin import AdminService
from bot.service import BotService


class BotData:
    """Set once when the application is built (app.build_application)."""

    service: BotService
    admin: AdminService


Context = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]
CONTEXT_TYPES = ContextTypes(bot_data=BotData)
