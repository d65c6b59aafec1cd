"""Who may do what, and how users appear in the logs: the one place for both."""

from __future__ import annotations

import hashlib

from bot.config import TelegramSettings


def user_hash(settings: TelegramSettings, user_id: int | None) -> str:
    """A salted hash, so the logs can count askers without holding their Telegram ids."""
    if user_id is None:
        return ""
    return hashlib.sha256(f"{settings.salt}:{user_id}".encode()).hexdigest()[:16]


def is_admin(settings: TelegramSettings, user_id: int | None) -> bool:
    return user_id is not None and user_id in settings.admins
